//! The GitHub adapter over HTTP against the fake GitHub: the `CodeHost` contract, rate limits,
//! retries, App installation tokens, OAuth and review posting that never loses a review.

#![expect(clippy::unwrap_used, reason = "test helpers: a failed unwrap is a failed test")]

mod archive;
mod behaviour;

use std::sync::Arc;

use nectr_domain::AccessToken;
use nectr_domain::code_host::{CodeHost, Identity};
use nectr_github::{GitHubConfig, OctocrabHost};
use nectr_testkit::fake_github::FakeGitHub;

/// The token the fake accepts.
const TOKEN: &str = "ghp_testtoken0000000000000000000000000000";

/// Settings that keep the tests fast: no write pacing to speak of, short waits.
fn config(fake: &FakeGitHub) -> GitHubConfig {
    GitHubConfig {
        api_url: fake.url.clone(),
        web_url: fake.url.clone(),
        writes_per_minute: 60_000,
        retry_base_delay_ms: 10,
        secondary_limit_wait_seconds: 1,
        stats_attempts: 3,
        stats_delay_ms: 10,
        ..GitHubConfig::default()
    }
}

async fn setup() -> (FakeGitHub, Arc<dyn CodeHost>, Identity) {
    let fake = FakeGitHub::start(TOKEN).await;
    let host: Arc<dyn CodeHost> = Arc::new(OctocrabHost::new(config(&fake)).unwrap());
    (fake, host, Identity::Token(AccessToken::new(TOKEN)))
}

#[tokio::test]
async fn octocrab_host_honours_the_code_host_contract() {
    let (fake, host, who) = setup().await;
    nectr_testkit::code_host_contract::code_host(host.as_ref(), &fake, &who).await;
    assert!(
        fake.state()
            .requests
            .iter()
            .all(|request| request.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "every request authenticated as the identity"
    );
}
