//! The repository archive: the branch's commit as plain text, the tarball followed through
//! GitHub's redirect to codeload and decompressed file by file (the top folder removed, texts
//! only where asked for and within the limit), and a corrupt download reported as an error item
//! instead of a short list.

use futures_util::StreamExt;
use nectr_domain::RepoFullName;
use nectr_domain::code_host::{ArchiveFile, CodeHostError};
use nectr_testkit::fake_github::Fault;

use crate::setup;

fn wants_rust(path: &str) -> bool {
    path.ends_with(".rs")
}

#[tokio::test]
async fn the_archive_streams_every_file_of_the_commit_with_the_texts_asked_for() {
    let (fake, host, who) = setup().await;
    {
        let mut state = fake.state();
        let repo = state.repo("octo/arc");
        repo.contents.insert("src/lib.rs".to_owned(), b"mod a;\n".to_vec());
        repo.contents.insert("src/a.rs".to_owned(), vec![b'/'; 300]);
        repo.contents.insert("README.md".to_owned(), b"# Arc\n".to_vec());
        repo.contents.insert("bin/tool.rs".to_owned(), vec![0xff, 0xfe, 0x00]);
    }
    let repo = RepoFullName::parse("octo/arc").unwrap();
    let commit = host.branch_head(&who, &repo, "main").await.unwrap();
    assert_eq!(commit, fake.state().repos["octo/arc"].commit_sha());
    assert_eq!(commit.len(), 40);

    let stream = host.archive(&who, &repo, &commit, wants_rust, 100).await.unwrap();
    let mut files: Vec<ArchiveFile> =
        stream.collect::<Vec<_>>().await.into_iter().map(Result::unwrap).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let summary: Vec<(&str, u64, Option<&str>)> =
        files.iter().map(|f| (f.path.as_str(), f.size, f.text.as_deref())).collect();
    assert_eq!(
        summary,
        vec![
            ("README.md", 6, None),
            ("bin/tool.rs", 3, None),
            ("src/a.rs", 300, None),
            ("src/lib.rs", 7, Some("mod a;\n")),
        ],
        "not asked for, not UTF-8, over the limit, read"
    );
    assert_eq!(fake.count(Some("GET"), &format!("/repos/octo/arc/tarball/{commit}")), 1);
    assert_eq!(fake.state().tarballs_served, 1, "the redirect was followed");
}

#[tokio::test]
async fn a_corrupt_archive_ends_in_an_error_and_a_missing_repository_is_not_found() {
    let (fake, host, who) = setup().await;
    fake.state().repo("octo/arc").contents.insert("a.rs".to_owned(), b"mod b;\n".to_vec());
    fake.state().faults.push(Fault {
        method: None,
        path_prefix: "/_codeload/".to_owned(),
        status: 200,
        headers: vec![("content-type".to_owned(), "application/x-gzip".to_owned())],
        body: "this is not gzip".to_owned(),
        times: 1,
    });
    let repo = RepoFullName::parse("octo/arc").unwrap();
    let stream = host.archive(&who, &repo, "abc", wants_rust, 100).await.unwrap();
    let items: Vec<_> = stream.collect().await;
    assert!(matches!(items.last(), Some(Err(CodeHostError::Unavailable(_)))), "{items:?}");
    let missing = RepoFullName::parse("octo/none").unwrap();
    assert!(matches!(
        host.archive(&who, &missing, "abc", wants_rust, 100).await,
        Err(CodeHostError::NotFound)
    ));
}
