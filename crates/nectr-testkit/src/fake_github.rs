//! A fake GitHub on 127.0.0.1 that speaks the REST wire format Nectr uses: pull requests, files
//! with `Link` pagination, diffs, reviews (pending and submitted, with 422 for comments outside
//! the diff), review and issue comments, repositories, trees, contents, languages, contributor
//! statistics (202 while "computing"), issues, webhooks, App installation tokens (the App JWT is
//! verified), and OAuth. Tests seed its state, inject faults (rate limits, 5xx) and inspect what
//! was posted and how many requests arrived.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

/// One file of a fake pull request.
#[derive(Clone, Debug)]
pub struct FakeFile {
    /// Path.
    pub filename: String,
    /// `added`, `modified`, …
    pub status: String,
    /// The unified-diff hunks.
    pub patch: String,
}

impl FakeFile {
    /// A modified file whose patch adds `added` lines starting at new-file line 1.
    pub fn added_lines(filename: &str, added: u64) -> Self {
        let mut patch = format!("@@ -0,0 +1,{added} @@");
        for line in 1..=added {
            patch.push_str(&format!("\n+line {line}"));
        }
        Self { filename: filename.to_owned(), status: "modified".to_owned(), patch }
    }

    fn counts(&self) -> (u64, u64) {
        let added = self.patch.lines().filter(|line| line.starts_with('+')).count() as u64;
        let deleted = self.patch.lines().filter(|line| line.starts_with('-')).count() as u64;
        (added, deleted)
    }

    /// The right-side (new file) lines inside the patch's hunks.
    fn commentable_lines(&self, right: bool) -> HashSet<u64> {
        let mut lines = HashSet::new();
        let (mut old, mut new) = (0_u64, 0_u64);
        for text in self.patch.lines() {
            if let Some(header) = text.strip_prefix("@@ ") {
                let mut parts = header.split(' ');
                let start = |part: Option<&str>| {
                    part.and_then(|range| range[1..].split(',').next()?.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                old = start(parts.next());
                new = start(parts.next());
                continue;
            }
            match text.chars().next() {
                Some('+') => {
                    if right {
                        lines.insert(new);
                    }
                    new += 1;
                }
                Some('-') => {
                    if !right {
                        lines.insert(old);
                    }
                    old += 1;
                }
                Some('\\') => {}
                _ => {
                    lines.insert(if right { new } else { old });
                    old += 1;
                    new += 1;
                }
            }
        }
        lines
    }
}

/// A fake pull request.
#[derive(Clone, Debug)]
pub struct FakePull {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Merged.
    pub merged: bool,
    /// Draft.
    pub draft: bool,
    /// Author login.
    pub author: String,
    /// Head commit.
    pub head_sha: String,
    /// Head branch.
    pub head_ref: String,
    /// Base commit.
    pub base_sha: String,
    /// Files.
    pub files: Vec<FakeFile>,
}

impl FakePull {
    /// An open pull request with these files.
    pub fn new(number: u64, files: Vec<FakeFile>) -> Self {
        Self {
            number,
            title: format!("Pull request {number}"),
            body: "Please review.".to_owned(),
            state: "open".to_owned(),
            merged: false,
            draft: false,
            author: "octocat".to_owned(),
            head_sha: format!("{:040x}", number * 7919),
            head_ref: format!("feature-{number}"),
            base_sha: format!("{:040x}", number * 104_729),
            files,
        }
    }

    /// The unified diff GitHub would serve.
    pub fn diff(&self) -> String {
        self.files
            .iter()
            .map(|file| {
                format!(
                    "diff --git a/{0} b/{0}\n--- a/{0}\n+++ b/{0}\n{1}\n",
                    file.filename, file.patch
                )
            })
            .collect()
    }
}

/// A review Nectr posted.
#[derive(Clone, Debug)]
pub struct PostedReview {
    /// Id.
    pub id: i64,
    /// `COMMENT`, `APPROVE`, `REQUEST_CHANGES`; `PENDING` while not submitted.
    pub event: String,
    /// Body.
    pub body: String,
    /// Commit.
    pub commit_id: String,
    /// Inline comments as posted.
    pub comments: Vec<Value>,
}

/// A fake issue (or the issue side of a pull request).
#[derive(Clone, Debug)]
pub struct FakeIssue {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Whether it is a pull request.
    pub is_pull_request: bool,
}

/// An issue comment.
#[derive(Clone, Debug)]
pub struct FakeComment {
    /// Id.
    pub id: i64,
    /// The issue or pull request number.
    pub issue: u64,
    /// Body.
    pub body: String,
}

/// A repository webhook.
#[derive(Clone, Debug)]
pub struct FakeHook {
    /// Id.
    pub id: i64,
    /// The full creation request.
    pub request: Value,
}

/// A fake repository.
#[derive(Clone, Debug, Default)]
pub struct FakeRepo {
    /// Numeric id.
    pub id: i64,
    /// Default branch.
    pub default_branch: String,
    /// Size in KiB.
    pub size: u64,
    /// Bytes per language.
    pub languages: BTreeMap<String, u64>,
    /// Tree entries: path, type, size.
    pub tree: Vec<(String, String, Option<u64>)>,
    /// Whether the tree listing is truncated.
    pub tree_truncated: bool,
    /// File contents by path (any ref).
    pub contents: BTreeMap<String, Vec<u8>>,
    /// How many more times statistics answer 202.
    pub stats_pending: u32,
    /// Contributors: login, commits, additions, deletions.
    pub contributors: Vec<(String, u64, u64, u64)>,
    /// Pull requests by number.
    pub pulls: BTreeMap<u64, FakePull>,
    /// Issues by number.
    pub issues: BTreeMap<u64, FakeIssue>,
    /// Submitted and pending reviews by pull-request number.
    pub reviews: BTreeMap<u64, Vec<PostedReview>>,
    /// Issue comments.
    pub issue_comments: Vec<FakeComment>,
    /// Webhooks.
    pub hooks: Vec<FakeHook>,
    /// Commits by path, newest first: sha, author login, message.
    pub history: BTreeMap<String, Vec<(String, String, String)>>,
    /// The logins that can see the repository (`/user/repos`, `GET /repos/…`, hooks); empty
    /// means every login.
    pub visible_to: Vec<String>,
    /// The logins with admin rights (webhooks); empty means every login that can see it.
    pub admins: Vec<String>,
    /// The default branch's commit; without it, a hash of `contents`, so changed contents are a
    /// new commit.
    pub head_commit: Option<String>,
}

impl FakeRepo {
    /// The default branch's commit sha.
    pub fn commit_sha(&self) -> String {
        use std::hash::{Hash, Hasher};
        if let Some(commit) = &self.head_commit {
            return commit.clone();
        }
        let hashes: Vec<u64> = (0..3u8)
            .map(|salt| {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                (salt, &self.contents).hash(&mut hasher);
                hasher.finish()
            })
            .collect();
        format!("{:016x}{:016x}{:08x}", hashes[0], hashes[1], hashes[2] as u32)
    }

    /// The gzip tarball GitHub serves for the default branch: every file of `contents` under one
    /// `owner-name-sha/` folder, with the folders as entries of their own.
    pub fn tarball(&self, full_name: &str) -> Vec<u8> {
        let sha = self.commit_sha();
        let root = format!("{}-{}", full_name.replace('/', "-"), &sha[..7]);
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        let mut folders: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        folders.insert(String::new());
        for path in self.contents.keys() {
            let mut folder = path.as_str();
            while let Some((parent, _)) = folder.rsplit_once('/') {
                folders.insert(parent.to_owned());
                folder = parent;
            }
        }
        for folder in &folders {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            let name = match folder.is_empty() {
                true => format!("{root}/"),
                false => format!("{root}/{folder}/"),
            };
            builder.append_data(&mut header, name, std::io::empty()).expect("a folder entry");
        }
        for (path, bytes) in &self.contents {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, format!("{root}/{path}"), bytes.as_slice())
                .expect("a file entry");
        }
        builder.into_inner().and_then(|encoder| encoder.finish()).expect("a tarball")
    }

    fn visible(&self, login: &str) -> bool {
        self.visible_to.is_empty() || self.visible_to.iter().any(|known| known == login)
    }

    fn admin(&self, login: &str) -> bool {
        self.visible(login)
            && (self.admins.is_empty() || self.admins.iter().any(|known| known == login))
    }
}

/// A fault served instead of the real answer.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Only for this method (`GET`, `POST`, …), when set.
    pub method: Option<String>,
    /// Only for paths starting with this.
    pub path_prefix: String,
    /// Status to answer.
    pub status: u16,
    /// Headers to add.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
    /// How many matching requests get the fault.
    pub times: u32,
}

impl Fault {
    /// A secondary rate limit (403 with `retry-after`) for the next `times` requests.
    pub fn secondary_rate_limit(path_prefix: &str, retry_after_seconds: u64, times: u32) -> Self {
        Self {
            method: None,
            path_prefix: path_prefix.to_owned(),
            status: 403,
            headers: vec![("retry-after".to_owned(), retry_after_seconds.to_string())],
            body: json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}).to_string(),
            times,
        }
    }

    /// A server error for the next `times` requests.
    pub fn server_error(path_prefix: &str, status: u16, times: u32) -> Self {
        Self {
            method: None,
            path_prefix: path_prefix.to_owned(),
            status,
            headers: Vec::new(),
            body: json!({"message": "Server Error"}).to_string(),
            times,
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

/// The fake's state; tests read and change it through [`FakeGitHub::state`].
#[derive(Debug, Default)]
pub struct FakeState {
    /// Repositories by `owner/name`.
    pub repos: BTreeMap<String, FakeRepo>,
    /// Tokens accepted on the REST API (PATs, OAuth tokens); installation tokens are added when
    /// issued.
    pub tokens: HashSet<String>,
    /// The login each token belongs to.
    pub token_logins: HashMap<String, String>,
    /// OAuth codes and the token each exchanges for.
    pub oauth_codes: HashMap<String, String>,
    /// OAuth client id and secret accepted.
    pub oauth_client: Option<(String, String)>,
    /// Revoked grants (tokens).
    pub revoked: Vec<String>,
    /// The App's public key (PEM) and id, to verify App JWTs.
    pub app: Option<(String, u64)>,
    /// Installation tokens issued.
    pub installation_tokens_issued: u32,
    /// Tarballs served (codeload downloads).
    pub tarballs_served: u32,
    /// Repositories visible to installations.
    pub installation_repos: Vec<String>,
    /// Faults to serve.
    pub faults: Vec<Fault>,
    /// Every request, in order.
    pub requests: Vec<Recorded>,
    /// The fake's own URL, for links it hands out.
    pub base_url: String,
    /// Reviews and comments are answered this long after they are stored.
    pub write_delay: Option<std::time::Duration>,
    /// Writes stored whose answer is being held back by `write_delay` right now.
    pub writes_unanswered: usize,
    next_id: i64,
}

impl FakeState {
    fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        1000 + self.next_id
    }

    /// The repository, created empty when missing.
    pub fn repo(&mut self, full_name: &str) -> &mut FakeRepo {
        let id = self.repos.len() as i64 + 1_296_269;
        self.repos.entry(full_name.to_owned()).or_insert_with(|| FakeRepo {
            id,
            default_branch: "main".to_owned(),
            size: 108,
            ..FakeRepo::default()
        })
    }
}

/// A running fake GitHub.
pub struct FakeGitHub {
    /// `http://127.0.0.1:PORT`: both the API and the web (OAuth) base URL.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    handle: ServerHandle,
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl FakeGitHub {
    /// Starts the fake on a free port, accepting `token` on the REST API.
    pub async fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        state.lock().unwrap().tokens.insert(token.to_owned());
        let (url, handle) = crate::serve_fake(state.clone(), handle);
        // Nobody knows the address before this returns, so no request misses it.
        state.lock().unwrap().base_url = url.clone();
        Self { url, state, handle }
    }

    /// The state, to seed or inspect.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Requests whose path starts with `prefix`, optionally of one method.
    pub fn count(&self, method: Option<&str>, prefix: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|request| method.is_none_or(|method| request.method == method))
            .filter(|request| request.path.starts_with(prefix))
            .count()
    }
}

fn user_json(base: &str, login: &str) -> Value {
    let id = login.bytes().map(u64::from).sum::<u64>() + 1;
    let user_url = format!("{base}/users/{login}");
    json!({
        "login": login, "id": id, "node_id": format!("MDQ6VXNlcj{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"), "gravatar_id": "",
        "url": user_url, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{user_url}/followers"), "following_url": format!("{user_url}/following{{/other_user}}"),
        "gists_url": format!("{user_url}/gists{{/gist_id}}"), "starred_url": format!("{user_url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{user_url}/subscriptions"), "organizations_url": format!("{user_url}/orgs"),
        "repos_url": format!("{user_url}/repos"), "events_url": format!("{user_url}/events{{/privacy}}"),
        "received_events_url": format!("{user_url}/received_events"), "type": "User", "site_admin": false,
    })
}

fn message(status: StatusCode, text: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "message": text,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    }))
}

fn repo_json(base: &str, full_name: &str, repo: &FakeRepo) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    json!({
        "id": repo.id, "node_id": "R_kgDO", "name": name, "full_name": full_name, "private": false,
        "owner": user_json(base, owner), "html_url": format!("https://github.com/{full_name}"),
        "description": "A fake repository", "fork": false, "url": format!("{base}/repos/{full_name}"),
        "default_branch": repo.default_branch, "size": repo.size,
        "created_at": "2026-01-01T09:00:00Z", "updated_at": "2026-11-01T09:30:00Z", "pushed_at": "2026-11-01T09:30:00Z",
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
    })
}

fn pull_json(base: &str, full_name: &str, pull: &FakePull, repo: &FakeRepo) -> Value {
    let (added, deleted) = pull.files.iter().fold((0, 0), |(a, d), file| {
        let (file_added, file_deleted) = file.counts();
        (a + file_added, d + file_deleted)
    });
    let url = format!("{base}/repos/{full_name}/pulls/{}", pull.number);
    json!({
        "url": url, "id": 1_000_000 + pull.number, "node_id": "PR_kwDO", "number": pull.number,
        "html_url": format!("https://github.com/{full_name}/pull/{}", pull.number),
        "diff_url": format!("https://github.com/{full_name}/pull/{}.diff", pull.number),
        "state": pull.state, "locked": false, "title": pull.title, "body": pull.body,
        "user": user_json(base, &pull.author), "draft": pull.draft, "merged": pull.merged,
        "merged_at": if pull.merged { json!("2026-11-01T10:00:00Z") } else { Value::Null },
        "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:30:00Z",
        "head": {"label": format!("octocat:{}", pull.head_ref), "ref": pull.head_ref, "sha": pull.head_sha, "user": user_json(base, &pull.author), "repo": repo_json(base, full_name, repo)},
        "base": {"label": format!("octocat:{}", repo.default_branch), "ref": repo.default_branch, "sha": pull.base_sha, "user": user_json(base, "octocat"), "repo": repo_json(base, full_name, repo)},
        "additions": added, "deletions": deleted, "changed_files": pull.files.len(), "commits": 1,
        "comments": 0, "review_comments": 0, "maintainer_can_modify": false, "mergeable": true,
        "author_association": "OWNER",
    })
}

fn file_json(base: &str, full_name: &str, pull: &FakePull, file: &FakeFile) -> Value {
    let (added, deleted) = file.counts();
    json!({
        "sha": format!("{:040x}", file.filename.len()), "filename": file.filename, "status": file.status,
        "additions": added, "deletions": deleted, "changes": added + deleted,
        "blob_url": format!("https://github.com/{full_name}/blob/{}/{}", pull.head_sha, file.filename),
        "raw_url": format!("https://github.com/{full_name}/raw/{}/{}", pull.head_sha, file.filename),
        "contents_url": format!("{base}/repos/{full_name}/contents/{}?ref={}", file.filename, pull.head_sha),
        "patch": file.patch,
    })
}

fn review_json(base: &str, full_name: &str, number: u64, review: &PostedReview) -> Value {
    let state = match review.event.as_str() {
        "APPROVE" => "APPROVED",
        "REQUEST_CHANGES" => "CHANGES_REQUESTED",
        "PENDING" => "PENDING",
        _ => "COMMENTED",
    };
    json!({
        "id": review.id, "node_id": "PRR_kwDO", "user": user_json(base, "nectr[bot]"), "body": review.body,
        "state": state, "commit_id": review.commit_id,
        "html_url": format!("https://github.com/{full_name}/pull/{number}#pullrequestreview-{}", review.id),
        "pull_request_url": format!("{base}/repos/{full_name}/pulls/{number}"),
        "submitted_at": "2026-11-01T10:00:00Z", "author_association": "NONE",
    })
}

fn comment_json(base: &str, full_name: &str, comment: &FakeComment) -> Value {
    json!({
        "id": comment.id, "node_id": "IC_kwDO", "url": format!("{base}/repos/{full_name}/issues/comments/{}", comment.id),
        "html_url": format!("https://github.com/{full_name}/issues/{}#issuecomment-{}", comment.issue, comment.id),
        "body": comment.body, "user": user_json(base, "nectr[bot]"),
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z",
        "issue_url": format!("{base}/repos/{full_name}/issues/{}", comment.issue), "author_association": "NONE",
    })
}

fn issue_json(base: &str, full_name: &str, issue: &FakeIssue) -> Value {
    let mut value = json!({
        "id": 2_000_000 + issue.number, "node_id": "I_kwDO", "number": issue.number, "title": issue.title,
        "body": issue.body, "state": issue.state, "user": user_json(base, "octocat"),
        "labels": issue.labels.iter().map(|name| json!({
            "id": 208_045_946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "name": name, "color": "ededed",
            "default": false, "description": null, "url": format!("{base}/repos/{full_name}/labels/{name}"),
        })).collect::<Vec<_>>(),
        "html_url": format!("https://github.com/{full_name}/issues/{}", issue.number),
        "url": format!("{base}/repos/{full_name}/issues/{}", issue.number),
        "repository_url": format!("{base}/repos/{full_name}"),
        "labels_url": format!("{base}/repos/{full_name}/issues/{}/labels{{/name}}", issue.number),
        "comments_url": format!("{base}/repos/{full_name}/issues/{}/comments", issue.number),
        "events_url": format!("{base}/repos/{full_name}/issues/{}/events", issue.number),
        "assignees": [], "locked": false, "comments": 0,
        "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:30:00Z",
        "author_association": "OWNER",
    });
    if issue.is_pull_request {
        value["pull_request"] =
            json!({"url": format!("{base}/repos/{full_name}/pulls/{}", issue.number)});
    }
    value
}

/// Serves one page of `items` with GitHub's `per_page`/`page` parameters and `Link` header.
fn paginate(request: &HttpRequest, base: &str, items: Vec<Value>) -> HttpResponse {
    let (slice, link) = page_of(request, base, items);
    let mut response = HttpResponse::Ok();
    if let Some(link) = link {
        response.insert_header(("link", link));
    }
    response.json(slice)
}

/// One page of `items` and the `Link` header that goes with it.
fn page_of(request: &HttpRequest, base: &str, items: Vec<Value>) -> (Vec<Value>, Option<String>) {
    let query = web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let per_page = query
        .get("per_page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query.get("page").and_then(|value| value.parse::<usize>().ok()).unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let link_to = |target: usize| {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(key, _)| key.as_str() != "page")
            .map(|(key, value)| format!("{key}={}", value.replace(',', "%2C")))
            .collect();
        pairs.sort();
        pairs.push(format!("page={target}"));
        format!("{base}{}?{}", request.path(), pairs.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
        links.push(format!("<{}>; rel=\"first\"", link_to(1)));
    }
    (slice, (!links.is_empty()).then(|| links.join(", ")))
}

fn query_value(request: &HttpRequest, key: &str) -> Option<String> {
    web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .ok()
        .and_then(|query| query.get(key).cloned())
}

/// Verifies an App JWT against the configured public key.
fn valid_app_jwt(state: &FakeState, bearer: &str) -> bool {
    let Some((public_key, app_id)) = &state.app else { return false };
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(public_key.as_bytes()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    validation.set_issuer(&[app_id.to_string()]);
    jsonwebtoken::decode::<Value>(bearer, &key, &validation).is_ok()
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<FakeState>>,
) -> HttpResponse {
    let (response, delay) = {
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let response = answer(&request, &body, &mut state);
        let posts_a_write = request.method() == actix_web::http::Method::POST
            && (request.path().ends_with("/reviews") || request.path().ends_with("/comments"));
        (response, state.write_delay.filter(|_| posts_a_write))
    };
    if let Some(delay) = delay {
        // The review or comment is stored already; only the answer is late, as when GitHub is
        // slow or the connection drops after GitHub accepted a write.
        let _held = Unanswered::hold(state.clone().into_inner());
        tokio::time::sleep(delay).await;
    }
    response
}

/// Counts a stored write whose answer is held back, until it is answered or its client leaves.
struct Unanswered(Arc<Mutex<FakeState>>);

impl Unanswered {
    fn hold(state: Arc<Mutex<FakeState>>) -> Self {
        state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).writes_unanswered += 1;
        Self(state)
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.writes_unanswered = state.writes_unanswered.saturating_sub(1);
    }
}

fn answer(request: &HttpRequest, body: &web::Bytes, state: &mut FakeState) -> HttpResponse {
    let request = request.clone();
    let base = state.base_url.clone();
    let path = request.path().to_owned();
    let full_path = match request.query_string() {
        "" => path.clone(),
        query => format!("{path}?{query}"),
    };
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    state.requests.push(Recorded {
        method: request.method().to_string(),
        path: full_path,
        authorization: authorization.clone(),
    });

    if let Some(position) = state.faults.iter().position(|fault| {
        fault.times > 0
            && path.starts_with(&fault.path_prefix)
            && fault.method.as_deref().is_none_or(|method| method == request.method().as_str())
    }) {
        let fault = &mut state.faults[position];
        fault.times -= 1;
        let mut response = HttpResponse::build(
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        for (name, value) in &fault.headers {
            response.insert_header((name.as_str(), value.as_str()));
        }
        return response.content_type("application/json").body(fault.body.clone());
    }

    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let bearer = authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("token ")));

    // OAuth (web host) and App endpoints authenticate differently.
    match (request.method().as_str(), segments.as_slice()) {
        // codeload.github.com: where `tarball` redirects, authorised by the redirect itself.
        ("GET", ["_codeload", owner, name, "legacy.tar.gz", _reference]) => {
            let full_name = format!("{owner}/{name}");
            return match state.repos.get(&full_name) {
                Some(repo) => {
                    state.tarballs_served += 1;
                    HttpResponse::Ok()
                        .content_type("application/x-gzip")
                        .body(repo.tarball(&full_name))
                }
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            };
        }
        ("POST", ["login", "oauth", "access_token"]) => {
            let client_matches = state.oauth_client.as_ref().is_some_and(|(id, secret)| {
                body["client_id"] == id.as_str() && body["client_secret"] == secret.as_str()
            });
            let code = body["code"].as_str().unwrap_or_default();
            return match (client_matches, state.oauth_codes.remove(code)) {
                (true, Some(token)) => HttpResponse::Ok().json(json!({"access_token": token, "token_type": "bearer", "scope": "repo,read:user,user:email,read:org"})),
                (false, _) => HttpResponse::Ok().json(json!({"error": "incorrect_client_credentials", "error_description": "The client_id and/or client_secret passed are incorrect."})),
                (true, None) => HttpResponse::Ok().json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})),
            };
        }
        ("POST", ["app", "installations", installation, "access_tokens"]) => {
            if !bearer.is_some_and(|jwt| valid_app_jwt(state, jwt)) {
                return message(StatusCode::UNAUTHORIZED, "A JSON web token could not be decoded");
            }
            state.installation_tokens_issued += 1;
            let token =
                format!("ghs_installation_{installation}_{}", state.installation_tokens_issued);
            state.tokens.insert(token.clone());
            state.token_logins.insert(token.clone(), "nectr[bot]".to_owned());
            let expires_at = (Utc::now() + Duration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            return HttpResponse::Created().json(json!({"token": token, "expires_at": expires_at, "permissions": {"pull_requests": "write", "contents": "read"}, "repository_selection": "selected"}));
        }
        ("DELETE", ["applications", client_id, "grant"]) => {
            let expected = state.oauth_client.as_ref().map(|(id, secret)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
                )
            });
            if expected.is_none()
                || expected != authorization
                || state.oauth_client.as_ref().is_some_and(|(id, _)| id != client_id)
            {
                return message(StatusCode::UNAUTHORIZED, "Requires authentication");
            }
            let token = body["access_token"].as_str().unwrap_or_default().to_owned();
            state.tokens.remove(&token);
            state.revoked.push(token);
            return HttpResponse::NoContent().finish();
        }
        _ => {}
    }

    let Some(token) = bearer.filter(|token| state.tokens.contains(*token)).map(str::to_owned)
    else {
        return message(StatusCode::UNAUTHORIZED, "Bad credentials");
    };

    match (request.method().as_str(), segments.as_slice()) {
        ("GET", ["user"]) => {
            let login = state.token_logins.get(&token).cloned().unwrap_or_else(|| "octocat".to_owned());
            let mut user = user_json(&base, &login);
            user["name"] = json!("The Octocat");
            user["email"] = Value::Null;
            HttpResponse::Ok().json(user)
        }
        ("GET", ["user", "emails"]) => HttpResponse::Ok().json(json!([
            {"email": "octocat@users.noreply.github.com", "primary": false, "verified": true, "visibility": null},
            {"email": "octocat@github.com", "primary": true, "verified": true, "visibility": "public"},
        ])),
        ("GET", ["user", "repos"]) => {
            let login = state.token_logins.get(&token).cloned().unwrap_or_else(|| "octocat".to_owned());
            let items = state
                .repos
                .iter()
                .filter(|(_, repo)| repo.visible(&login))
                .map(|(name, repo)| {
                    let mut value = repo_json(&base, name, repo);
                    value["permissions"]["admin"] = json!(repo.admin(&login));
                    value
                })
                .collect();
            paginate(&request, &base, items)
        }
        ("GET", ["installation", "repositories"]) => {
            let names = state.installation_repos.clone();
            let items: Vec<Value> = names.iter().filter_map(|name| state.repos.get(name).map(|repo| repo_json(&base, name, repo))).collect();
            let total = items.len();
            let (page, link) = page_of(&request, &base, items);
            let mut response = HttpResponse::Ok();
            if let Some(link) = link {
                response.insert_header(("link", link));
            }
            response.json(json!({"total_count": total, "repositories": page}))
        }
        (method, ["repos", owner, name, rest @ ..]) => {
            let full_name = format!("{owner}/{name}");
            let login = state.token_logins.get(&token).cloned().unwrap_or_else(|| "octocat".to_owned());
            let (visible, admin) = state
                .repos
                .get(&full_name)
                .map_or((true, true), |repo| (repo.visible(&login), repo.admin(&login)));
            match (visible, admin, method, rest) {
                (false, _, _, _) => message(StatusCode::NOT_FOUND, "Not Found"),
                (true, false, _, ["hooks", ..]) => {
                    message(StatusCode::FORBIDDEN, "Must have admin rights to Repository.")
                }
                (true, _, "GET", []) => match state.repos.get(&full_name) {
                    Some(repo) => {
                        let mut value = repo_json(&base, &full_name, repo);
                        value["permissions"]["admin"] = json!(admin);
                        HttpResponse::Ok().json(value)
                    }
                    None => message(StatusCode::NOT_FOUND, "Not Found"),
                },
                _ => repo_route(state, &request, &base, &full_name, method, rest, &body),
            }
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn repo_route(
    state: &mut FakeState,
    request: &HttpRequest,
    base: &str,
    full_name: &str,
    method: &str,
    rest: &[&str],
    body: &Value,
) -> HttpResponse {
    let next_id = state.next_id();
    let Some(repo) = state.repos.get_mut(full_name) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let number = |text: &str| text.parse::<u64>().ok();
    match (method, rest) {
        ("GET", []) => HttpResponse::Ok().json(repo_json(base, full_name, repo)),
        ("GET", ["languages"]) => HttpResponse::Ok().json(&repo.languages),
        ("GET", ["stats", "contributors"]) => {
            if repo.stats_pending > 0 {
                repo.stats_pending -= 1;
                return HttpResponse::Accepted().json(json!({}));
            }
            let stats: Vec<Value> = repo
                .contributors
                .iter()
                .map(|(login, commits, additions, deletions)| {
                    json!({"author": user_json(base, login), "total": commits, "weeks": [{"w": 1_700_000_000, "a": additions, "d": deletions, "c": commits}]})
                })
                .collect();
            HttpResponse::Ok().json(stats)
        }
        ("GET", ["git", "trees", _reference]) => {
            let tree: Vec<Value> = repo
                .tree
                .iter()
                .map(|(path, kind, size)| json!({"path": path, "mode": "100644", "type": kind, "sha": "0000000000000000000000000000000000000000", "size": size}))
                .collect();
            HttpResponse::Ok().json(json!({"sha": "0000000000000000000000000000000000000000", "url": "", "tree": tree, "truncated": repo.tree_truncated}))
        }
        ("GET", ["commits", _branch]) => {
            let sha = repo.commit_sha();
            let wants_sha = request
                .headers()
                .get("accept")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|accept| accept.contains("vnd.github.sha"));
            match wants_sha {
                true => HttpResponse::Ok().content_type("text/plain").body(sha),
                false => HttpResponse::Ok().json(json!({"sha": sha})),
            }
        }
        ("GET", ["tarball", reference]) => HttpResponse::Found()
            .insert_header((
                "location",
                format!("{base}/_codeload/{full_name}/legacy.tar.gz/{reference}"),
            ))
            .finish(),
        ("GET", ["commits"]) => {
            let path = query_value(request, "path").unwrap_or_default();
            let limit: usize =
                query_value(request, "per_page").and_then(|value| value.parse().ok()).unwrap_or(30);
            let commits: Vec<Value> = repo
                .history
                .get(&path)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .take(limit)
                .map(|(sha, login, message)| {
                    json!({
                        "sha": sha,
                        "commit": {"message": message, "author": {"name": login, "email": format!("{login}@example.com"), "date": "2026-11-01T10:00:00Z"}},
                        "author": user_json(base, login),
                    })
                })
                .collect();
            HttpResponse::Ok().json(commits)
        }
        ("GET", ["contents", path @ ..]) => {
            let path = path.join("/");
            let path = percent_decode(&path);
            match repo.contents.get(&path) {
                Some(bytes) if bytes.len() > 1024 * 1024 => HttpResponse::Ok().json(json!({"type": "file", "encoding": "none", "size": bytes.len(), "name": path, "path": path, "content": ""})),
                Some(bytes) => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                    // GitHub wraps base64 at 60 characters.
                    let wrapped: Vec<String> = encoded.as_bytes().chunks(60).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
                    HttpResponse::Ok().json(json!({"type": "file", "encoding": "base64", "size": bytes.len(), "name": path, "path": path, "content": wrapped.join("\n"), "sha": "0000"}))
                }
                None if repo.contents.keys().any(|known| known.starts_with(&format!("{path}/"))) => {
                    HttpResponse::Ok().json(json!([{"type": "file", "name": "x", "path": format!("{path}/x")}]))
                }
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        ("GET", ["pulls"]) => {
            let wanted = query_value(request, "state").unwrap_or_else(|| "open".to_owned());
            let repo_snapshot = repo.clone();
            let items = repo
                .pulls
                .values()
                .filter(|pull| wanted == "all" || pull.state == wanted)
                .map(|pull| pull_json(base, full_name, pull, &repo_snapshot))
                .collect();
            paginate(request, base, items)
        }
        ("GET", ["pulls", n]) => match number(n).and_then(|n| repo.pulls.get(&n)) {
            Some(pull) => {
                let accept = request
                    .headers()
                    .get("accept")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                if accept.contains("diff") {
                    return HttpResponse::Ok()
                        .content_type("text/plain; charset=utf-8")
                        .body(pull.diff());
                }
                HttpResponse::Ok().json(pull_json(base, full_name, pull, repo))
            }
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["pulls", n, "files"]) => match number(n).and_then(|n| repo.pulls.get(&n)) {
            Some(pull) => {
                // GitHub lists at most 3,000 files.
                let items = pull
                    .files
                    .iter()
                    .take(3000)
                    .map(|file| file_json(base, full_name, pull, file))
                    .collect();
                paginate(request, base, items)
            }
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["pulls", n, "reviews"]) => {
            let number = number(n).unwrap_or_default();
            let items = repo
                .reviews
                .get(&number)
                .into_iter()
                .flatten()
                .filter(|review| review.event != "PENDING")
                .map(|review| review_json(base, full_name, number, review))
                .collect();
            paginate(request, base, items)
        }
        ("GET", ["pulls", n, "comments"]) => {
            let number = number(n).unwrap_or_default();
            let items: Vec<Value> = repo
                .reviews
                .get(&number)
                .into_iter()
                .flatten()
                .filter(|review| review.event != "PENDING")
                .flat_map(|review| {
                    review
                        .comments
                        .iter()
                        .enumerate()
                        .map(move |(index, comment)| (review.id, index, comment))
                })
                .map(|(review_id, index, comment)| {
                    let mut value = comment.clone();
                    value["id"] = json!(review_id * 100 + index as i64);
                    value["pull_request_review_id"] = json!(review_id);
                    value["user"] = user_json(base, "nectr[bot]");
                    value["original_line"] = value["line"].clone();
                    value
                })
                .collect();
            paginate(request, base, items)
        }
        ("POST", ["pulls", n, "reviews"]) => {
            let Some(pull) = number(n).and_then(|n| repo.pulls.get(&n)) else {
                return message(StatusCode::NOT_FOUND, "Not Found");
            };
            let comments = body["comments"].as_array().cloned().unwrap_or_default();
            for comment in &comments {
                let path = comment["path"].as_str().unwrap_or_default();
                let right = comment["side"].as_str() != Some("LEFT");
                let line = comment["line"].as_u64().unwrap_or(0);
                let valid =
                    pull.files.iter().find(|file| file.filename == path).is_some_and(|file| {
                        let lines = file.commentable_lines(right);
                        lines.contains(&line)
                            && comment["start_line"]
                                .as_u64()
                                .is_none_or(|start| start < line && lines.contains(&start))
                    });
                if !valid {
                    return HttpResponse::UnprocessableEntity().json(json!({
                        "message": "Unprocessable Entity",
                        "errors": ["Pull request review thread line must be part of the diff"],
                        "documentation_url": "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
                        "status": "422",
                    }));
                }
            }
            let event = body["event"].as_str().unwrap_or("PENDING").to_owned();
            let reviews = repo.reviews.entry(pull.number).or_default();
            if event == "PENDING" && reviews.iter().any(|review| review.event == "PENDING") {
                return HttpResponse::UnprocessableEntity().json(json!({"message": "Unprocessable Entity", "errors": ["User can only have one pending review per pull request"]}));
            }
            let review = PostedReview {
                id: next_id,
                event,
                body: body["body"].as_str().unwrap_or_default().to_owned(),
                commit_id: body["commit_id"].as_str().unwrap_or(&pull.head_sha).to_owned(),
                comments,
            };
            let number = pull.number;
            let response = review_json(base, full_name, number, &review);
            reviews.push(review);
            HttpResponse::Ok().json(response)
        }
        ("DELETE", ["pulls", n, "reviews", id]) => {
            let reviews = repo.reviews.entry(number(n).unwrap_or_default()).or_default();
            let id = id.parse::<i64>().unwrap_or_default();
            match reviews.iter().position(|review| review.id == id) {
                Some(position) if reviews[position].event == "PENDING" => {
                    let removed = reviews.remove(position);
                    HttpResponse::Ok().json(review_json(base, full_name, 0, &removed))
                }
                Some(_) => HttpResponse::UnprocessableEntity()
                    .json(json!({"message": "Can not delete a non-pending pull request review"})),
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        ("GET", ["issues"]) => {
            let items = repo
                .issues
                .values()
                .filter(|issue| issue.state == "open")
                .map(|issue| issue_json(base, full_name, issue))
                .collect();
            paginate(request, base, items)
        }
        ("GET", ["issues", n]) => match number(n).and_then(|n| repo.issues.get(&n)) {
            Some(issue) => HttpResponse::Ok().json(issue_json(base, full_name, issue)),
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["issues", n, "comments"]) => {
            let number = number(n).unwrap_or_default();
            let items = repo
                .issue_comments
                .iter()
                .filter(|comment| comment.issue == number)
                .map(|comment| comment_json(base, full_name, comment))
                .collect();
            paginate(request, base, items)
        }
        ("POST", ["issues", n, "comments"]) => {
            let Some(issue) = number(n) else { return message(StatusCode::NOT_FOUND, "Not Found") };
            if !repo.pulls.contains_key(&issue) && !repo.issues.contains_key(&issue) {
                return message(StatusCode::NOT_FOUND, "Not Found");
            }
            let comment = FakeComment {
                id: next_id,
                issue,
                body: body["body"].as_str().unwrap_or_default().to_owned(),
            };
            let response = comment_json(base, full_name, &comment);
            repo.issue_comments.push(comment);
            HttpResponse::Created().json(response)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id = id.parse::<i64>().unwrap_or_default();
            match repo.issue_comments.iter_mut().find(|comment| comment.id == id) {
                Some(comment) => {
                    comment.body = body["body"].as_str().unwrap_or_default().to_owned();
                    HttpResponse::Ok().json(comment_json(base, full_name, comment))
                }
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        ("POST", ["hooks"]) => {
            let secret = body["config"]["secret"].as_str().unwrap_or_default();
            if body["config"]["url"].as_str().is_none_or(str::is_empty) || secret.is_empty() {
                return HttpResponse::UnprocessableEntity().json(json!({"message": "Validation Failed", "errors": [{"resource": "Hook", "code": "custom", "message": "url and secret are required"}]}));
            }
            repo.hooks.push(FakeHook { id: next_id, request: body.clone() });
            HttpResponse::Created().json(json!({"id": next_id, "type": "Repository", "name": "web", "active": true, "events": body["events"], "config": {"url": body["config"]["url"], "content_type": "json", "insecure_ssl": "0", "secret": "********"}}))
        }
        ("DELETE", ["hooks", id]) => {
            let id = id.parse::<i64>().unwrap_or_default();
            match repo.hooks.iter().position(|hook| hook.id == id) {
                Some(position) => {
                    repo.hooks.remove(position);
                    HttpResponse::NoContent().finish()
                }
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let Ok(value) = u8::from_str_radix(&text[index + 1..index + 3], 16)
        {
            decoded.push(value);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
