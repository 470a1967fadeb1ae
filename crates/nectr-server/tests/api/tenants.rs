//! Signed-in users with a connected repository, for the tests that act as several users over
//! HTTP (the dashboard, memory and MCP tests): each holds the GitHub token the fake GitHub
//! accepts and a session, and its repository is connected through a webhook of its own, whose
//! deliveries it signs.

use chrono::Utc;
use nectr_api::auth::session::{SameSite, SessionConfig, SessionKey};
use nectr_domain::queue::ReviewQueue;
use nectr_domain::{
    AccessToken, InstallationRepository, NewInstallation, RepoFullName, User, UserId,
    UserRepository, UserUpsert, WebhookSecret,
};
use nectr_server::Settings;
use nectr_testkit::{TestApp, fixtures};
use secrecy::SecretString;
use serde_json::Value;

/// The GitHub token every tenant holds, the one the fake GitHub is started with.
pub(crate) const TOKEN: &str = "ghp_tenanttesttoken0000000000000000000000";
const JWT_SECRET: &str = "tenant-test-jwt-secret";

/// `settings` for tenants: GitHub is the fake at `github_url`, acting with [`TOKEN`] and writing
/// without pacing; sessions are signed as [`Tenant::sign_in`] signs them; a review is tried
/// once.
pub(crate) fn configure(settings: &mut Settings, github_url: &str) {
    github_url.clone_into(&mut settings.github.api_url);
    github_url.clone_into(&mut settings.github.web_url);
    settings.github.pat = Some(SecretString::from(TOKEN));
    settings.github.writes_per_minute = 60_000;
    settings.github.retry_base_delay_ms = 10;
    settings.security.jwt_secret = Some(SecretString::from(JWT_SECRET));
    settings.workers.max_attempts = 1;
}

/// A signed-in user with one connected repository (or none: an empty `repo`).
pub(crate) struct Tenant {
    pub(crate) id: UserId,
    pub(crate) session: String,
    pub(crate) repo: String,
    pub(crate) repo_id: i64,
    hook_id: i64,
    secret: String,
}

impl Tenant {
    /// `login` (GitHub id `github_id`), signed in, with no repository connected.
    pub(crate) async fn sign_in(app: &TestApp, login: &str, github_id: i64) -> Self {
        let user = user(app, login, github_id).await;
        let sessions = SessionConfig {
            key: SessionKey::from_jwt_secret(JWT_SECRET),
            lifetime_minutes: 60,
            secure_cookies: false,
            same_site: SameSite::Lax,
        };
        let session = sessions.issue(&user, Utc::now()).unwrap();
        Self {
            id: user.id,
            session,
            repo: String::new(),
            repo_id: 0,
            hook_id: 0,
            secret: String::new(),
        }
    }

    /// `login`, signed in, with `repo` (GitHub id `repo_id`) connected through a webhook of its
    /// own.
    pub(crate) async fn connected(app: &TestApp, login: &str, repo: &str, repo_id: i64) -> Self {
        let mut tenant = Self::sign_in(app, login, repo_id * 10).await;
        tenant.secret = format!("{login}-webhook-secret");
        tenant.hook_id = repo_id + 7;
        app.store
            .create(NewInstallation {
                user_id: tenant.id,
                repo: RepoFullName::parse(repo).unwrap(),
                github_repo_id: Some(repo_id),
                webhook_id: Some(tenant.hook_id),
                webhook_secret: Some(WebhookSecret::new(&tenant.secret)),
                installation_id: None,
                access_token: None,
            })
            .await
            .unwrap();
        repo.clone_into(&mut tenant.repo);
        tenant.repo_id = repo_id;
        tenant
    }

    /// The published `opened` delivery of pull request `number` by `author` at `head`, reshaped
    /// for the tenant's repository.
    pub(crate) fn opened(&self, number: u64, author: &str, head: &str) -> Value {
        let fixture =
            std::fs::read(fixtures().join("github-webhooks/pull_request/00-opened.json")).unwrap();
        let mut payload: Value = serde_json::from_slice(&fixture).unwrap();
        payload["number"] = number.into();
        payload["repository"]["id"] = self.repo_id.into();
        payload["repository"]["full_name"] = self.repo.as_str().into();
        let pr = &mut payload["pull_request"];
        pr["number"] = number.into();
        pr["user"]["login"] = author.into();
        pr["head"]["sha"] = head.into();
        pr["draft"] = false.into();
        payload
    }

    /// Delivers the `pull_request` event `payload` as `delivery`, signed by the tenant's webhook;
    /// the delivery must be accepted. Answers the intake's JSON.
    pub(crate) async fn deliver(&self, app: &TestApp, delivery: &str, payload: &Value) -> Value {
        let body = serde_json::to_vec(payload).unwrap();
        let response = app
            .client
            .post(app.url("/api/v1/webhooks/github"))
            .header("X-GitHub-Event", "pull_request")
            .header("X-GitHub-Delivery", delivery)
            .header("X-GitHub-Hook-ID", self.hook_id.to_string())
            .header("X-Hub-Signature-256", nectr_github::sign(self.secret.as_bytes(), &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// `method` on `path` in the tenant's session, with `body` as JSON: the status and the JSON
    /// answered (`null` when none).
    pub(crate) async fn call(
        &self,
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = app.client.request(method, app.url(path)).bearer_auth(&self.session);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits until every job of the tenant's pull request `number` has ended.
    pub(crate) async fn settle(&self, app: &TestApp, number: u64) {
        for _ in 0..1_500 {
            let jobs = app.store.jobs_of_pull_request(self.repo_id, number).await.unwrap();
            if !jobs.is_empty() && jobs.iter().all(|job| job.status.is_final()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the reviews of pull request {number} did not end");
    }

    /// `GET path` in the tenant's session, which must answer 200: its JSON.
    pub(crate) async fn get(&self, app: &TestApp, path: &str) -> Value {
        let (status, body) = self.call(app, reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }
}

/// `login` (GitHub id `github_id`) as a user holding [`TOKEN`].
async fn user(app: &TestApp, login: &str, github_id: i64) -> User {
    app.store
        .upsert_by_github_id(UserUpsert {
            github_id,
            github_username: login.to_owned(),
            github_access_token: AccessToken::new(TOKEN),
            email: None,
            avatar_url: None,
            name: Some(login.to_owned()),
        })
        .await
        .unwrap()
}
