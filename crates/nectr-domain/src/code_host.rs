//! The code host (GitHub): what Nectr reads about repositories and pull requests, what it
//! writes back, and the port through which it does so.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AccessToken, RepoFullName, WebhookSecret};

/// Who a request to the code host runs as.
#[derive(Clone, Debug, PartialEq)]
pub enum Identity {
    /// A user's OAuth token or a personal access token (`GITHUB_PAT`).
    Token(AccessToken),
    /// A GitHub App installation; the adapter exchanges the App's JWT for a cached token.
    Installation(i64),
}

/// Open or closed, as GitHub reports a pull request or issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Open.
    Open,
    /// Closed (a pull request may also be merged).
    Closed,
}

/// A pull request's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number in the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Description, untrusted text.
    pub body: Option<String>,
    /// Open or closed.
    pub state: State,
    /// Merged.
    pub merged: bool,
    /// A draft.
    pub draft: bool,
    /// The author's login.
    pub author: String,
    /// The head commit.
    pub head_sha: String,
    /// The head branch.
    pub head_ref: String,
    /// The base commit.
    pub base_sha: String,
    /// The base branch.
    pub base_ref: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Files changed.
    pub changed_files: u64,
    /// Commits.
    pub commits: u64,
    /// Opened at.
    pub created_at: Option<DateTime<Utc>>,
    /// Merged at.
    pub merged_at: Option<DateTime<Utc>>,
}

/// A file of a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestFile {
    /// Path in the head commit.
    pub path: String,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// The unified-diff hunk text; GitHub omits it for binary and very large files.
    pub patch: Option<String>,
    /// The old path of a renamed file.
    pub previous_path: Option<String>,
}

/// All files of a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileList {
    /// The files, in GitHub's order.
    pub files: Vec<PullRequestFile>,
    /// GitHub lists at most 3,000 files; true when the pull request has more.
    pub capped: bool,
}

/// GitHub's cap on listed pull-request files.
pub const MAX_LISTED_FILES: usize = 3000;

/// A repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// GitHub's numeric id.
    pub id: i64,
    /// `owner/name`.
    pub full_name: String,
    /// The default branch.
    pub default_branch: String,
    /// Size in KiB, as GitHub reports it.
    pub size_kib: u64,
    /// Private.
    pub private: bool,
    /// Its page.
    pub html_url: String,
    /// Description.
    pub description: Option<String>,
    /// Whether the identity may administer it (create webhooks).
    pub can_admin: bool,
    /// When it last changed, as GitHub reports it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// One entry of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path from the root.
    pub path: String,
    /// `blob`, `tree` or `commit` (a submodule).
    pub kind: String,
    /// Size of a blob in bytes.
    pub size: Option<u64>,
}

/// A recursive tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    /// Entries.
    pub entries: Vec<TreeEntry>,
    /// GitHub truncated the listing (very large repositories).
    pub truncated: bool,
}

/// A file's contents at a ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContent {
    /// UTF-8 text.
    Text(String),
    /// Not text: binary, or not valid UTF-8.
    Binary {
        /// Size in bytes.
        size: u64,
    },
    /// Larger than the configured limit; not downloaded.
    TooLarge {
        /// Size in bytes.
        size: u64,
    },
}

/// Which archive files' text to read, by path.
pub type PathFilter = fn(&str) -> bool;

/// One file of a repository archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Path from the repository root (the archive's top folder removed).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Its text, when asked for, UTF-8 and within the size limit.
    pub text: Option<String>,
}

/// The files of an archive, as they are decompressed (bounded memory: one file at a time).
pub type ArchiveStream =
    futures_util::stream::BoxStream<'static, Result<ArchiveFile, CodeHostError>>;

/// One contributor's totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributorStat {
    /// Login.
    pub login: String,
    /// Commits.
    pub commits: u64,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Commits per week, oldest first, as GitHub counts them.
    pub weeks: Vec<WeeklyCommits>,
}

/// One week of a contributor's commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklyCommits {
    /// The week's start, in seconds since the Unix epoch (GitHub's `w`).
    pub week: i64,
    /// Commits that week (GitHub's `c`).
    pub commits: u64,
}

/// Contributor statistics, which GitHub computes on demand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContributorStats {
    /// Computed.
    Ready(Vec<ContributorStat>),
    /// GitHub was still computing them after the adapter's retries.
    NotReady,
}

/// A commit, as a file's history shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    /// The commit sha.
    pub sha: String,
    /// Its author's login, or name when GitHub knows no account.
    pub author: String,
    /// The first line of its message.
    pub title: String,
    /// When it was authored.
    pub date: Option<DateTime<Utc>>,
}

/// An issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body, untrusted text.
    pub body: Option<String>,
    /// Open or closed.
    pub state: State,
    /// Author's login.
    pub author: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Its page.
    pub html_url: String,
}

/// A submitted review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// GitHub's id.
    pub id: i64,
    /// Reviewer's login.
    pub author: String,
    /// `COMMENTED`, `APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    /// Body.
    pub body: String,
    /// The reviewed commit.
    pub commit_id: Option<String>,
}

/// Which side of a diff a comment sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The old file.
    Left,
    /// The new file.
    Right,
}

impl Side {
    /// GitHub's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Left => "LEFT",
            Self::Right => "RIGHT",
        }
    }
}

/// An inline review comment, posted or to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewComment {
    /// File path.
    pub path: String,
    /// Last line of the commented range.
    pub line: u64,
    /// Side of `line`.
    pub side: Side,
    /// First line of a multi-line range.
    pub start_line: Option<u64>,
    /// Side of `start_line`.
    pub start_side: Option<Side>,
    /// Markdown body.
    pub body: String,
}

/// A posted review comment as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedReviewComment {
    /// GitHub's id.
    pub id: i64,
    /// The review it belongs to.
    pub review_id: Option<i64>,
    /// Author's login.
    pub author: String,
    /// The comment.
    pub comment: ReviewComment,
}

/// The event of a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewEvent {
    /// A comment only; the default posting policy.
    Comment,
    /// Approve.
    Approve,
    /// Request changes.
    RequestChanges,
}

impl ReviewEvent {
    /// GitHub's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Comment => "COMMENT",
            Self::Approve => "APPROVE",
            Self::RequestChanges => "REQUEST_CHANGES",
        }
    }
}

/// A review to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReview {
    /// The commit reviewed.
    pub commit_id: String,
    /// The event.
    pub event: ReviewEvent,
    /// The markdown body.
    pub body: String,
    /// Inline comments.
    pub comments: Vec<ReviewComment>,
    /// A hidden line (an HTML comment) that names who posts the review: it ends the posted body,
    /// or the comment that carries the review, so that a retried job can find what an
    /// interrupted attempt posted.
    pub marker: Option<String>,
}

impl NewReview {
    /// The body as posted: with the marker, when there is one, on a line of its own.
    pub fn marked(&self, body: &str) -> String {
        match &self.marker {
            Some(marker) => format!("{body}\n\n{marker}"),
            None => body.to_owned(),
        }
    }
}

/// How a review was posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostedReview {
    /// As a review, with the comments GitHub accepted inline; the rejected ones were moved into
    /// the body.
    Review {
        /// GitHub's review id.
        id: i64,
        /// Comments posted inline.
        inline: Vec<ReviewComment>,
        /// Comments GitHub rejected, listed in the body with their file and line.
        moved_to_body: Vec<ReviewComment>,
    },
    /// GitHub refused the review itself; an issue comment carries the verdict and every finding.
    IssueComment {
        /// GitHub's comment id.
        id: i64,
    },
}

/// An issue comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueComment {
    /// GitHub's id.
    pub id: i64,
    /// Author's login.
    pub author: String,
    /// Body.
    pub body: String,
}

/// A GitHub user as OAuth reveals them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubUser {
    /// Numeric id.
    pub id: i64,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Public e-mail, when set.
    pub email: Option<String>,
}

/// The result of an OAuth code exchange.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuthGrant {
    /// The user's token.
    pub token: AccessToken,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

/// Why a code-host call failed.
#[derive(Debug, thiserror::Error)]
pub enum CodeHostError {
    /// The thing does not exist, or the identity may not see it.
    #[error("not found on GitHub")]
    NotFound,
    /// The credentials are missing, invalid or revoked.
    #[error("GitHub rejected the credentials")]
    Unauthorized,
    /// The identity lacks a permission.
    #[error("forbidden by GitHub{}", missing_scope.as_deref().map(|scope| format!(" (needs scope {scope})")).unwrap_or_default())]
    Forbidden {
        /// The scope GitHub named, when it did.
        missing_scope: Option<String>,
        /// GitHub's message.
        message: String,
    },
    /// GitHub refused the input (422).
    #[error("GitHub rejected the request: {0}")]
    ValidationFailed(String),
    /// A rate limit; retrying before `reset_at` is pointless.
    #[error("GitHub rate limit reached{}", reset_at.map(|at| format!(" until {at}")).unwrap_or_default())]
    RateLimited {
        /// When the limit resets, when known.
        reset_at: Option<DateTime<Utc>>,
    },
    /// GitHub or the network failed after retries.
    #[error("GitHub is unavailable: {0}")]
    Unavailable(String),
    /// The request cannot be made as configured (for example App mode without an App).
    #[error("GitHub is not configured for this: {0}")]
    NotConfigured(String),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Reads from and writes to the code host.
///
/// Contract for every implementation:
/// - Listings return every page; `pull_request_files` reports when GitHub's 3,000-file cap hides
///   files.
/// - Reads are retried on server and network failures; writes are never retried unless GitHub
///   said it did not perform them (rate limits).
/// - `post_review` never loses a review: comments GitHub rejects move into the body; if the review
///   itself is refused, an issue comment carries the body and every comment.
/// - Tokens never appear in errors or logs.
#[async_trait]
pub trait CodeHost: Send + Sync {
    /// A pull request.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn pull_request(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<PullRequest, CodeHostError>;

    /// Every file of a pull request.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn pull_request_files(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<FileList, CodeHostError>;

    /// The unified diff of a pull request.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn pull_request_diff(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<String, CodeHostError>;

    /// Open pull requests.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn open_pull_requests(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Vec<PullRequest>, CodeHostError>;

    /// A pull request's reviews.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn reviews(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Vec<Review>, CodeHostError>;

    /// A pull request's inline review comments.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn review_comments(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Vec<PostedReviewComment>, CodeHostError>;

    /// A repository.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn repository(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Repository, CodeHostError>;

    /// The recursive tree of a ref.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn tree(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        reference: &str,
    ) -> Result<Tree, CodeHostError>;

    /// The commit a branch points to.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn branch_head(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        branch: &str,
    ) -> Result<String, CodeHostError>;

    /// The files of `commit`, streamed from one archive (`tarball`) and decompressed as they
    /// arrive; the text of files for which `wants_text` holds, up to `max_text_bytes`.
    ///
    /// # Errors
    /// [`CodeHostError`], also as items of the stream when the download fails midway.
    async fn archive(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        commit: &str,
        wants_text: PathFilter,
        max_text_bytes: u64,
    ) -> Result<ArchiveStream, CodeHostError>;

    /// A file's contents at a ref; `None` when the path does not exist there.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn file_content(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        path: &str,
        reference: &str,
    ) -> Result<Option<FileContent>, CodeHostError>;

    /// The latest commits that touched a file, newest first, from `reference` back.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn file_history(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        path: &str,
        reference: &str,
        limit: u8,
    ) -> Result<Vec<CommitSummary>, CodeHostError>;

    /// Bytes of code per language.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn languages(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<String, u64>, CodeHostError>;

    /// Contributor statistics.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn contributor_stats(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<ContributorStats, CodeHostError>;

    /// Every repository the identity can see.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn my_repositories(&self, who: &Identity) -> Result<Vec<Repository>, CodeHostError>;

    /// An issue; `None` when it does not exist.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn issue(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Option<Issue>, CodeHostError>;

    /// Open issues, without pull requests.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn open_issues(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Vec<Issue>, CodeHostError>;

    /// Posts a review; see the contract above. GitHub's refusal of the review (422, 403) makes
    /// an issue comment carry it, unless a comment with the review's marker is there already;
    /// a failure that leaves it unknown whether GitHub stored the review (a timeout, a 5xx) is
    /// an error, so that the caller can look for the marker before it posts again.
    ///
    /// # Errors
    /// [`CodeHostError`] only when neither the review nor the fallback comment could be posted.
    async fn post_review(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        review: &NewReview,
    ) -> Result<PostedReview, CodeHostError>;

    /// Posts an issue (or pull-request) comment.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn post_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> Result<IssueComment, CodeHostError>;

    /// Replaces an issue comment's body.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn update_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        comment_id: i64,
        body: &str,
    ) -> Result<IssueComment, CodeHostError>;

    /// The first comment on an issue or pull request whose body contains `marker`.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn find_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        marker: &str,
    ) -> Result<Option<IssueComment>, CodeHostError>;

    /// Creates the repository webhook Nectr needs (`pull_request`, `issue_comment`,
    /// `pull_request_review`; JSON; signed with `secret`) and answers its id.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn create_webhook(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        url: &str,
        secret: &WebhookSecret,
    ) -> Result<i64, CodeHostError>;

    /// Deletes a repository webhook; an already deleted one is not an error.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn delete_webhook(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        webhook_id: i64,
    ) -> Result<(), CodeHostError>;

    /// Exchanges an OAuth code for a token.
    ///
    /// # Errors
    /// [`CodeHostError::ValidationFailed`] for a bad or expired code.
    async fn exchange_oauth_code(&self, code: &str) -> Result<OAuthGrant, CodeHostError>;

    /// The user a token belongs to, with their primary e-mail when the token may read it.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn authenticated_user(&self, token: &AccessToken) -> Result<GitHubUser, CodeHostError>;

    /// Revokes the OAuth grant of a token.
    ///
    /// # Errors
    /// [`CodeHostError`].
    async fn revoke_grant(&self, token: &AccessToken) -> Result<(), CodeHostError>;
}
