//! [`OctocrabHost`]: the `CodeHost` port on GitHub's REST API.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use http::{Method, StatusCode};
use nectr_domain::code_host::{
    ArchiveStream, CodeHost, CodeHostError, CommitSummary, ContributorStat, ContributorStats,
    FileContent, FileList, GitHubUser, Identity, Issue, IssueComment, MAX_LISTED_FILES, NewReview,
    OAuthGrant, PathFilter, PostedReview, PostedReviewComment, PullRequest, PullRequestFile,
    Repository, Review, Tree,
};
use nectr_domain::{AccessToken, RepoFullName, WebhookSecret};
use secrecy::ExposeSecret;

use crate::app::AppAuth;
use crate::models::{
    ContentBody, ContributorBody, EmailBody, FileBody, IdBody, IssueBody, IssueCommentBody,
    PullRequestBody, RepositoryBody, ReviewBody, ReviewCommentBody, TokenBody, TreeBody, UserBody,
};
use crate::transport::{Call, DIFF, JSON, Reply, Transport};
use crate::{GitHubConfig, archive, review};

/// A commit's sha as plain text.
const SHA: &str = "application/vnd.github.sha";

/// The events Nectr's repository webhooks subscribe to.
pub const WEBHOOK_EVENTS: [&str; 3] = ["pull_request", "issue_comment", "pull_request_review"];

/// GitHub behind the `CodeHost` port. Build it once and share it: it holds the connection pool,
/// the rate-limit state and the installation-token cache.
pub struct OctocrabHost {
    pub(crate) transport: Transport,
    app: Option<AppAuth>,
}

impl std::fmt::Debug for OctocrabHost {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OctocrabHost")
            .field("config", &self.transport.config)
            .finish_non_exhaustive()
    }
}

impl OctocrabHost {
    /// Builds the client. It must be built inside a Tokio runtime (its connection pool runs
    /// there).
    ///
    /// # Errors
    /// [`CodeHostError::NotConfigured`] for an invalid URL or App key, or outside a runtime.
    pub fn new(config: GitHubConfig) -> Result<Self, CodeHostError> {
        config.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CodeHostError::NotConfigured(
                "the GitHub client must be built inside a Tokio runtime".to_owned(),
            ));
        }
        install_crypto_provider();
        let app = config.app.as_ref().map(AppAuth::new).transpose()?;
        Ok(Self { transport: Transport::new(config)?, app })
    }

    /// The identity that the configuration gives when no user is involved: the App when an
    /// installation is known, else `GITHUB_PAT`.
    pub fn default_identity(&self, installation_id: Option<i64>) -> Option<Identity> {
        match (installation_id, &self.app, &self.transport.config.pat) {
            (Some(id), Some(_), _) => Some(Identity::Installation(id)),
            (_, _, Some(pat)) => Some(Identity::Token(AccessToken::new(pat.expose_secret()))),
            _ => None,
        }
    }

    pub(crate) async fn authorization(&self, who: &Identity) -> Result<String, CodeHostError> {
        match who {
            Identity::Token(token) => Ok(format!("Bearer {}", token.expose())),
            Identity::Installation(id) => {
                let app = self.app.as_ref().ok_or_else(|| {
                    CodeHostError::NotConfigured(
                        "App installation requested but no GitHub App is configured".to_owned(),
                    )
                })?;
                let token = app.installation_token(&self.transport, *id).await?;
                Ok(format!("Bearer {}", token.expose_secret()))
            }
        }
    }

    pub(crate) async fn call(
        &self,
        who: &Identity,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, CodeHostError> {
        let authorization = self.authorization(who).await?;
        self.transport
            .send_ok(&Call {
                method,
                url: self.transport.api(path),
                authorization: Some(&authorization),
                accept: JSON,
                body,
            })
            .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        who: &Identity,
        path: &str,
    ) -> Result<T, CodeHostError> {
        self.call(who, Method::GET, path, None).await?.json()
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        who: &Identity,
        path: &str,
    ) -> Result<Vec<T>, CodeHostError> {
        let authorization = self.authorization(who).await?;
        self.transport.get_all(self.transport.api(path), Some(&authorization)).await
    }

    /// Every page of a listing, each item read as `B` and turned into the domain's `T`.
    pub(crate) async fn list_into<B, T>(
        &self,
        who: &Identity,
        path: &str,
    ) -> Result<Vec<T>, CodeHostError>
    where
        B: serde::de::DeserializeOwned,
        T: From<B>,
    {
        Ok(self.list::<B>(who, path).await?.into_iter().map(T::from).collect())
    }

    fn oauth_client(&self) -> Result<(&str, &str), CodeHostError> {
        let config = &self.transport.config;
        match (&config.client_id, &config.client_secret) {
            (Some(id), Some(secret)) => Ok((id.as_str(), secret.expose_secret())),
            _ => Err(CodeHostError::NotConfigured(
                "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set".to_owned(),
            )),
        }
    }
}

/// rustls is built with two crypto providers in this dependency graph, so it cannot choose one
/// itself; Nectr uses aws-lc-rs. Installing twice is harmless: the first one stays.
pub fn install_crypto_provider() {
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
}

fn repo_path(repo: &RepoFullName) -> String {
    format!("/repos/{}/{}", repo.owner(), repo.name())
}

/// Percent-encodes a path for the contents API, keeping `/`.
fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Text when it is UTF-8 without NUL bytes (how git itself tells text from binary).
fn classify(bytes: Vec<u8>) -> FileContent {
    let size = bytes.len() as u64;
    if bytes.iter().take(8000).any(|byte| *byte == 0) {
        return FileContent::Binary { size };
    }
    match String::from_utf8(bytes) {
        Ok(text) => FileContent::Text(text),
        Err(_) => FileContent::Binary { size },
    }
}

#[async_trait]
impl CodeHost for OctocrabHost {
    async fn pull_request(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<PullRequest, CodeHostError> {
        let body: PullRequestBody =
            self.get_json(who, &format!("{}/pulls/{number}", repo_path(repo))).await?;
        Ok(body.into())
    }

    async fn pull_request_files(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<FileList, CodeHostError> {
        let files: Vec<PullRequestFile> = self
            .list_into::<FileBody, _>(who, &format!("{}/pulls/{number}/files", repo_path(repo)))
            .await?;
        let capped = files.len() >= MAX_LISTED_FILES;
        if capped {
            tracing::warn!(repo = %repo, number, "GitHub lists only the first {MAX_LISTED_FILES} files of this pull request");
        }
        Ok(FileList { files, capped })
    }

    async fn pull_request_diff(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<String, CodeHostError> {
        let authorization = self.authorization(who).await?;
        let reply = self
            .transport
            .send_ok(&Call {
                method: Method::GET,
                url: self.transport.api(&format!("{}/pulls/{number}", repo_path(repo))),
                authorization: Some(&authorization),
                accept: DIFF,
                body: None,
            })
            .await?;
        Ok(String::from_utf8_lossy(&reply.body).into_owned())
    }

    async fn open_pull_requests(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Vec<PullRequest>, CodeHostError> {
        self.list_into::<PullRequestBody, _>(who, &format!("{}/pulls?state=open", repo_path(repo)))
            .await
    }

    async fn reviews(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Vec<Review>, CodeHostError> {
        self.list_into::<ReviewBody, _>(who, &format!("{}/pulls/{number}/reviews", repo_path(repo)))
            .await
    }

    async fn review_comments(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Vec<PostedReviewComment>, CodeHostError> {
        self.list_into::<ReviewCommentBody, _>(
            who,
            &format!("{}/pulls/{number}/comments", repo_path(repo)),
        )
        .await
    }

    async fn repository(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Repository, CodeHostError> {
        let body: RepositoryBody = self.get_json(who, &repo_path(repo)).await?;
        Ok(body.into())
    }

    async fn tree(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        reference: &str,
    ) -> Result<Tree, CodeHostError> {
        let body: TreeBody = self
            .get_json(
                who,
                &format!("{}/git/trees/{}?recursive=1", repo_path(repo), encode_path(reference)),
            )
            .await?;
        if body.truncated {
            tracing::warn!(repo = %repo, reference, "GitHub truncated the tree listing");
        }
        Ok(Tree {
            entries: body.tree.into_iter().map(Into::into).collect(),
            truncated: body.truncated,
        })
    }

    async fn branch_head(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        branch: &str,
    ) -> Result<String, CodeHostError> {
        let authorization = self.authorization(who).await?;
        let url =
            self.transport.api(&format!("{}/commits/{}", repo_path(repo), encode_path(branch)));
        let reply = self
            .transport
            .send_ok(&Call {
                method: Method::GET,
                url,
                authorization: Some(&authorization),
                accept: SHA,
                body: None,
            })
            .await?;
        Ok(String::from_utf8_lossy(&reply.body).trim().to_owned())
    }

    async fn archive(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        commit: &str,
        wants_text: PathFilter,
        max_text_bytes: u64,
    ) -> Result<ArchiveStream, CodeHostError> {
        let authorization = self.authorization(who).await?;
        let url =
            self.transport.api(&format!("{}/tarball/{}", repo_path(repo), encode_path(commit)));
        let chunks = self
            .transport
            .open_stream(&Call {
                method: Method::GET,
                url,
                authorization: Some(&authorization),
                accept: JSON,
                body: None,
            })
            .await?;
        Ok(archive::files(chunks, wants_text, max_text_bytes))
    }

    async fn file_content(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        path: &str,
        reference: &str,
    ) -> Result<Option<FileContent>, CodeHostError> {
        let url = format!(
            "{}/contents/{}?ref={}",
            repo_path(repo),
            encode_path(path),
            encode_path(reference)
        );
        let body: ContentBody = match self.get_json(who, &url).await {
            Ok(body) => body,
            Err(CodeHostError::NotFound) => return Ok(None),
            Err(CodeHostError::Unexpected(_)) => {
                return Err(CodeHostError::ValidationFailed(format!("{path} is not a file")));
            }
            Err(other) => return Err(other),
        };
        if body.kind != "file" {
            return Err(CodeHostError::ValidationFailed(format!(
                "{path} is a {}, not a file",
                body.kind
            )));
        }
        if body.size > self.transport.config.max_file_bytes || body.encoding == "none" {
            return Ok(Some(FileContent::TooLarge { size: body.size }));
        }
        let compact: String =
            body.content.chars().filter(|character| !character.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|error| {
            CodeHostError::Unexpected(anyhow::anyhow!("GitHub sent malformed base64: {error}"))
        })?;
        Ok(Some(classify(bytes)))
    }

    async fn file_history(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        path: &str,
        reference: &str,
        limit: u8,
    ) -> Result<Vec<CommitSummary>, CodeHostError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            sha: String,
            commit: ListedCommit,
            author: Option<Account>,
        }
        #[derive(serde::Deserialize)]
        struct ListedCommit {
            message: String,
            author: Option<Signature>,
        }
        #[derive(serde::Deserialize)]
        struct Signature {
            name: Option<String>,
            date: Option<chrono::DateTime<chrono::Utc>>,
        }
        #[derive(serde::Deserialize)]
        struct Account {
            login: String,
        }
        let url = format!(
            "{}/commits?path={}&sha={}&per_page={}",
            repo_path(repo),
            encode_path(path),
            encode_path(reference),
            limit.clamp(1, 100)
        );
        let listed: Vec<Listed> = self.get_json(who, &url).await?;
        Ok(listed
            .into_iter()
            .map(|commit| CommitSummary {
                sha: commit.sha,
                author: commit
                    .author
                    .map(|account| account.login)
                    .or_else(|| commit.commit.author.as_ref().and_then(|sig| sig.name.clone()))
                    .unwrap_or_default(),
                title: commit.commit.message.lines().next().unwrap_or_default().to_owned(),
                date: commit.commit.author.and_then(|signature| signature.date),
            })
            .collect())
    }

    async fn languages(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<BTreeMap<String, u64>, CodeHostError> {
        self.get_json(who, &format!("{}/languages", repo_path(repo))).await
    }

    async fn contributor_stats(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<ContributorStats, CodeHostError> {
        let config = &self.transport.config;
        let mut delay = Duration::from_millis(config.stats_delay_ms);
        for attempt in 1..=config.stats_attempts.max(1) {
            let reply = self
                .call(who, Method::GET, &format!("{}/stats/contributors", repo_path(repo)), None)
                .await?;
            match reply.status {
                StatusCode::ACCEPTED => {
                    tracing::debug!(repo = %repo, attempt, "GitHub is still computing contributor statistics");
                    if attempt < config.stats_attempts {
                        tokio::time::sleep(delay).await;
                        delay = delay.saturating_mul(2);
                    }
                }
                StatusCode::NO_CONTENT => return Ok(ContributorStats::Ready(Vec::new())),
                _ => {
                    let bodies: Vec<ContributorBody> = reply.json()?;
                    return Ok(ContributorStats::Ready(
                        bodies.into_iter().map(ContributorStat::from).collect(),
                    ));
                }
            }
        }
        Ok(ContributorStats::NotReady)
    }

    async fn my_repositories(&self, who: &Identity) -> Result<Vec<Repository>, CodeHostError> {
        let bodies: Vec<RepositoryBody> = match who {
            Identity::Token(_) => {
                self.list(
                    who,
                    "/user/repos?affiliation=owner,collaborator,organization_member&sort=updated",
                )
                .await?
            }
            Identity::Installation(_) => {
                let authorization = self.authorization(who).await?;
                self.transport
                    .get_all_wrapped(
                        self.transport.api("/installation/repositories"),
                        Some(&authorization),
                        Some("repositories"),
                    )
                    .await?
            }
        };
        Ok(bodies.into_iter().map(Repository::from).collect())
    }

    async fn issue(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
    ) -> Result<Option<Issue>, CodeHostError> {
        match self.get_json::<IssueBody>(who, &format!("{}/issues/{number}", repo_path(repo))).await
        {
            Ok(body) => Ok(Some(body.into())),
            Err(CodeHostError::NotFound) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn open_issues(
        &self,
        who: &Identity,
        repo: &RepoFullName,
    ) -> Result<Vec<Issue>, CodeHostError> {
        let bodies: Vec<IssueBody> =
            self.list(who, &format!("{}/issues?state=open", repo_path(repo))).await?;
        Ok(bodies.into_iter().filter(|body| body.pull_request.is_none()).map(Issue::from).collect())
    }

    async fn post_review(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        new_review: &NewReview,
    ) -> Result<PostedReview, CodeHostError> {
        review::post(
            self,
            who,
            &format!("{}/pulls/{number}", repo_path(repo)),
            &format!("{}/issues/{number}", repo_path(repo)),
            new_review,
        )
        .await
    }

    async fn post_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        body: &str,
    ) -> Result<IssueComment, CodeHostError> {
        let payload = serde_json::json!({ "body": body });
        let reply = self
            .call(
                who,
                Method::POST,
                &format!("{}/issues/{number}/comments", repo_path(repo)),
                Some(&payload),
            )
            .await?;
        Ok(reply.json::<IssueCommentBody>()?.into())
    }

    async fn update_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        comment_id: i64,
        body: &str,
    ) -> Result<IssueComment, CodeHostError> {
        let payload = serde_json::json!({ "body": body });
        let reply = self
            .call(
                who,
                Method::PATCH,
                &format!("{}/issues/comments/{comment_id}", repo_path(repo)),
                Some(&payload),
            )
            .await?;
        Ok(reply.json::<IssueCommentBody>()?.into())
    }

    async fn find_issue_comment(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        number: u64,
        marker: &str,
    ) -> Result<Option<IssueComment>, CodeHostError> {
        let comments: Vec<IssueComment> = self
            .list_into::<IssueCommentBody, _>(
                who,
                &format!("{}/issues/{number}/comments", repo_path(repo)),
            )
            .await?;
        Ok(comments.into_iter().find(|comment| comment.body.contains(marker)))
    }

    async fn create_webhook(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        url: &str,
        secret: &WebhookSecret,
    ) -> Result<i64, CodeHostError> {
        let payload = serde_json::json!({
            "name": "web",
            "active": true,
            "events": WEBHOOK_EVENTS,
            "config": { "url": url, "content_type": "json", "secret": secret.expose(), "insecure_ssl": "0" },
        });
        let reply = self
            .call(who, Method::POST, &format!("{}/hooks", repo_path(repo)), Some(&payload))
            .await?;
        Ok(reply.json::<IdBody>()?.id)
    }

    async fn delete_webhook(
        &self,
        who: &Identity,
        repo: &RepoFullName,
        webhook_id: i64,
    ) -> Result<(), CodeHostError> {
        match self
            .call(who, Method::DELETE, &format!("{}/hooks/{webhook_id}", repo_path(repo)), None)
            .await
        {
            Ok(_) | Err(CodeHostError::NotFound) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn exchange_oauth_code(&self, code: &str) -> Result<OAuthGrant, CodeHostError> {
        let (client_id, client_secret) = self.oauth_client()?;
        let payload = serde_json::json!({ "client_id": client_id, "client_secret": client_secret, "code": code });
        let reply = self
            .transport
            .send_ok(&Call {
                method: Method::POST,
                url: self.transport.web("/login/oauth/access_token"),
                authorization: None,
                accept: "application/json",
                body: Some(&payload),
            })
            .await?;
        let body: TokenBody = reply.json()?;
        match (body.access_token, body.error) {
            (Some(token), None) => Ok(OAuthGrant {
                token: AccessToken::new(token),
                scopes: body
                    .scope
                    .split(',')
                    .map(str::trim)
                    .filter(|scope| !scope.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }),
            (_, error) => Err(CodeHostError::ValidationFailed(
                body.error_description
                    .or(error)
                    .unwrap_or_else(|| "GitHub refused the code".to_owned()),
            )),
        }
    }

    async fn authenticated_user(&self, token: &AccessToken) -> Result<GitHubUser, CodeHostError> {
        let who = Identity::Token(token.clone());
        let mut user: GitHubUser = self.get_json::<UserBody>(&who, "/user").await?.into();
        if user.email.is_none() {
            // Needs the `user:email` scope; without it the user simply has no e-mail here.
            match self.get_json::<Vec<EmailBody>>(&who, "/user/emails").await {
                Ok(emails) => {
                    user.email = emails
                        .into_iter()
                        .find(|email| email.primary && email.verified)
                        .map(|email| email.email);
                }
                Err(CodeHostError::NotFound | CodeHostError::Forbidden { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(user)
    }

    async fn revoke_grant(&self, token: &AccessToken) -> Result<(), CodeHostError> {
        let (client_id, client_secret) = self.oauth_client()?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        let authorization = format!("Basic {basic}");
        let payload = serde_json::json!({ "access_token": token.expose() });
        let outcome = self
            .transport
            .send_ok(&Call {
                method: Method::DELETE,
                url: self.transport.api(&format!("/applications/{client_id}/grant")),
                authorization: Some(&authorization),
                accept: JSON,
                body: Some(&payload),
            })
            .await;
        match outcome {
            Ok(_) | Err(CodeHostError::NotFound) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_content_paths_keeping_slashes() {
        assert_eq!(encode_path("src/a b/ü.rs"), "src/a%20b/%C3%BC.rs");
        assert_eq!(encode_path("main"), "main");
    }

    #[test]
    fn tells_text_from_binary_like_git() {
        assert_eq!(
            classify(b"fn main() {}\n".to_vec()),
            FileContent::Text("fn main() {}\n".to_owned())
        );
        assert_eq!(classify(vec![0x89, b'P', b'N', b'G', 0, 1]), FileContent::Binary { size: 6 });
        assert_eq!(classify(vec![0xff, 0xfe, b'a']), FileContent::Binary { size: 3 });
    }
}
