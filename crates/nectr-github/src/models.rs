//! The parts of GitHub's REST responses Nectr reads, and their translation into domain types.
//! Fields GitHub may omit are optional, so a response shape change degrades instead of failing.

use chrono::{DateTime, Utc};
use nectr_domain::code_host::{
    ContributorStat, GitHubUser, Issue, IssueComment, PostedReviewComment, PullRequest,
    PullRequestFile, Repository, Review, ReviewComment, Side, State, TreeEntry, WeeklyCommits,
};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub(crate) struct Account {
    #[serde(default)]
    pub(crate) login: String,
}

fn login(account: Option<Account>) -> String {
    account.map(|account| account.login).unwrap_or_else(|| "ghost".to_owned())
}

fn state(text: &str) -> State {
    if text.eq_ignore_ascii_case("open") { State::Open } else { State::Closed }
}

#[derive(Deserialize)]
pub(crate) struct GitRef {
    #[serde(default)]
    pub(crate) sha: String,
    #[serde(default, rename = "ref")]
    pub(crate) name: String,
}

#[derive(Deserialize)]
pub(crate) struct PullRequestBody {
    number: u64,
    #[serde(default)]
    title: String,
    body: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    merged: bool,
    merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    draft: bool,
    user: Option<Account>,
    head: GitRef,
    base: GitRef,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    additions: u64,
    #[serde(default)]
    deletions: u64,
    #[serde(default)]
    changed_files: u64,
    #[serde(default)]
    commits: u64,
    created_at: Option<DateTime<Utc>>,
}

impl From<PullRequestBody> for PullRequest {
    fn from(body: PullRequestBody) -> Self {
        Self {
            number: body.number,
            title: body.title,
            body: body.body,
            state: state(&body.state),
            // Listings omit `merged`; `merged_at` says the same.
            merged: body.merged || body.merged_at.is_some(),
            draft: body.draft,
            author: login(body.user),
            head_sha: body.head.sha,
            head_ref: body.head.name,
            base_sha: body.base.sha,
            base_ref: body.base.name,
            html_url: body.html_url,
            additions: body.additions,
            deletions: body.deletions,
            changed_files: body.changed_files,
            commits: body.commits,
            created_at: body.created_at,
            merged_at: body.merged_at,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct FileBody {
    filename: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    additions: u64,
    #[serde(default)]
    deletions: u64,
    patch: Option<String>,
    previous_filename: Option<String>,
}

impl From<FileBody> for PullRequestFile {
    fn from(body: FileBody) -> Self {
        Self {
            path: body.filename,
            status: body.status,
            additions: body.additions,
            deletions: body.deletions,
            patch: body.patch,
            previous_path: body.previous_filename,
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Permissions {
    #[serde(default)]
    admin: bool,
}

#[derive(Deserialize)]
pub(crate) struct RepositoryBody {
    id: i64,
    full_name: String,
    #[serde(default)]
    default_branch: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    html_url: String,
    description: Option<String>,
    permissions: Option<Permissions>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl From<RepositoryBody> for Repository {
    fn from(body: RepositoryBody) -> Self {
        Self {
            id: body.id,
            full_name: body.full_name,
            default_branch: body.default_branch,
            size_kib: body.size,
            private: body.private,
            html_url: body.html_url,
            description: body.description,
            can_admin: body.permissions.is_some_and(|permissions| permissions.admin),
            updated_at: body.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TreeBody {
    #[serde(default)]
    pub(crate) tree: Vec<TreeEntryBody>,
    #[serde(default)]
    pub(crate) truncated: bool,
}

#[derive(Deserialize)]
pub(crate) struct TreeEntryBody {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    size: Option<u64>,
}

impl From<TreeEntryBody> for TreeEntry {
    fn from(body: TreeEntryBody) -> Self {
        Self { path: body.path, kind: body.kind, size: body.size }
    }
}

#[derive(Deserialize)]
pub(crate) struct ContentBody {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) size: u64,
    #[serde(default)]
    pub(crate) encoding: String,
    #[serde(default)]
    pub(crate) content: String,
}

#[derive(Deserialize)]
pub(crate) struct ContributorBody {
    author: Option<Account>,
    #[serde(default)]
    total: u64,
    #[serde(default)]
    weeks: Vec<WeekBody>,
}

#[derive(Deserialize)]
struct WeekBody {
    #[serde(default)]
    w: i64,
    #[serde(default)]
    a: u64,
    #[serde(default)]
    d: u64,
    #[serde(default)]
    c: u64,
}

impl From<ContributorBody> for ContributorStat {
    fn from(body: ContributorBody) -> Self {
        Self {
            login: login(body.author),
            commits: body.total,
            additions: body.weeks.iter().map(|week| week.a).sum(),
            deletions: body.weeks.iter().map(|week| week.d).sum(),
            weeks: body
                .weeks
                .iter()
                .map(|week| WeeklyCommits { week: week.w, commits: week.c })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Label {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
pub(crate) struct IssueBody {
    number: u64,
    #[serde(default)]
    title: String,
    body: Option<String>,
    #[serde(default)]
    state: String,
    user: Option<Account>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    html_url: String,
    /// Present when the issue is a pull request.
    pub(crate) pull_request: Option<serde_json::Value>,
}

impl From<IssueBody> for Issue {
    fn from(body: IssueBody) -> Self {
        Self {
            number: body.number,
            title: body.title,
            body: body.body,
            state: state(&body.state),
            author: login(body.user),
            labels: body.labels.into_iter().map(|label| label.name).collect(),
            html_url: body.html_url,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ReviewBody {
    id: i64,
    user: Option<Account>,
    #[serde(default)]
    state: String,
    body: Option<String>,
    commit_id: Option<String>,
}

impl From<ReviewBody> for Review {
    fn from(body: ReviewBody) -> Self {
        Self {
            id: body.id,
            author: login(body.user),
            state: body.state,
            body: body.body.unwrap_or_default(),
            commit_id: body.commit_id,
        }
    }
}

fn side(text: Option<&str>) -> Side {
    if text == Some("LEFT") { Side::Left } else { Side::Right }
}

#[derive(Deserialize)]
pub(crate) struct ReviewCommentBody {
    id: i64,
    pull_request_review_id: Option<i64>,
    user: Option<Account>,
    #[serde(default)]
    path: String,
    line: Option<u64>,
    original_line: Option<u64>,
    side: Option<String>,
    start_line: Option<u64>,
    start_side: Option<String>,
    #[serde(default)]
    body: String,
}

impl From<ReviewCommentBody> for PostedReviewComment {
    fn from(body: ReviewCommentBody) -> Self {
        Self {
            id: body.id,
            review_id: body.pull_request_review_id,
            author: login(body.user),
            comment: ReviewComment {
                path: body.path,
                // An outdated comment has no current line; its original line still says where.
                line: body.line.or(body.original_line).unwrap_or(0),
                side: side(body.side.as_deref()),
                start_line: body.start_line,
                start_side: body.start_line.map(|_| side(body.start_side.as_deref())),
                body: body.body,
            },
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct IssueCommentBody {
    id: i64,
    user: Option<Account>,
    #[serde(default)]
    body: String,
}

impl From<IssueCommentBody> for IssueComment {
    fn from(body: IssueCommentBody) -> Self {
        Self { id: body.id, author: login(body.user), body: body.body }
    }
}

#[derive(Deserialize)]
pub(crate) struct UserBody {
    id: i64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
    email: Option<String>,
}

impl From<UserBody> for GitHubUser {
    fn from(body: UserBody) -> Self {
        Self {
            id: body.id,
            login: body.login,
            name: body.name,
            avatar_url: body.avatar_url,
            email: body.email,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct EmailBody {
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) primary: bool,
    #[serde(default)]
    pub(crate) verified: bool,
}

#[derive(Deserialize)]
pub(crate) struct IdBody {
    pub(crate) id: i64,
}

/// GitHub's OAuth token endpoint answers 200 for failures too, with an `error` field.
#[derive(Deserialize)]
pub(crate) struct TokenBody {
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) scope: String,
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
}
