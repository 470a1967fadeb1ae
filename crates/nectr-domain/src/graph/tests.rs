//! Unit tests of the graph model's shared rules.

use super::*;

#[test]
fn languages_come_from_extensions_and_ignored_folders_are_skipped() {
    assert_eq!(Language::of_path("src/main.rs"), Language::Rust);
    assert_eq!(Language::of_path("web/App.TSX"), Language::TypeScript);
    assert_eq!(Language::of_path("Makefile"), Language::Other);
    assert_eq!(Language::parse("C++"), Language::Cpp);
    assert!(is_ignored_path("web/node_modules/react/index.js"));
    assert!(is_ignored_path("target/debug/build.rs"));
    assert!(is_ignored_path("static/app.min.js"));
    assert!(!is_ignored_path("src/build.rs"));
    assert!(!is_ignored_path("docs/vendor.md"));
}

#[test]
fn ownership_keeps_files_touched_twice_with_their_top_developer() {
    let rows = vec![
        ("a.rs".to_owned(), "bob".to_owned(), 2),
        ("a.rs".to_owned(), "amy".to_owned(), 2),
        ("a.rs".to_owned(), "cat".to_owned(), 1),
        ("b.rs".to_owned(), "cat".to_owned(), 1),
    ];
    let owned = ownership_from_counts(rows, 10);
    assert_eq!(
        owned,
        vec![Ownership {
            path: "a.rs".to_owned(),
            owner: "amy".to_owned(),
            owner_touches: 2,
            total_touches: 5
        }]
    );
}

#[test]
fn expertise_groups_touches_by_top_directory() {
    let rows = vec![
        ("amy".to_owned(), "src/a.rs".to_owned()),
        ("amy".to_owned(), "src/b.rs".to_owned()),
        ("amy".to_owned(), "README.md".to_owned()),
        ("bob".to_owned(), "docs/x.md".to_owned()),
    ];
    let experts = expertise_from_touches(rows, 8);
    assert_eq!(experts[0].login, "amy");
    assert_eq!(experts[0].top_dirs, vec![("src".to_owned(), 2), ("(root)".to_owned(), 1)]);
    assert_eq!(experts[0].total_touches, 3);
    assert_eq!(experts[1].login, "bob");
}

#[test]
fn a_co_change_replaces_an_import_between_the_same_files() {
    let links = merge_links(
        vec![("a".to_owned(), "b".to_owned()), ("a".to_owned(), "c".to_owned())],
        vec![("a".to_owned(), "b".to_owned(), 3)],
        10,
    );
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].kind, LinkKind::CoChange);
    assert_eq!(links[0].weight, 3);
    assert_eq!(links[1].kind, LinkKind::Import);
    assert_eq!(query_paths(&["x".to_owned(), "x".to_owned()]), vec!["x".to_owned()]);
}

#[test]
fn the_blast_radius_leaves_out_changed_files_and_caps_each_hop() {
    let rows = vec![
        ("a.rs".to_owned(), 2),
        ("b.rs".to_owned(), 1),
        ("c.rs".to_owned(), 1),
        ("d.rs".to_owned(), 2),
        ("e.rs".to_owned(), 2),
    ];
    let radius = BlastRadius::from_distances(rows, &["a.rs".to_owned()], 1);
    assert_eq!(radius.direct, vec!["b.rs".to_owned()]);
    assert_eq!(radius.transitive, vec!["d.rs".to_owned()]);
}
