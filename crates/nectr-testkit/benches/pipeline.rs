//! The review pipeline's own overhead, without model latency: a 50-file, 2,000-line pull request
//! on the fake GitHub (over HTTP on 127.0.0.1), reviewed by the agent on the Anthropic provider
//! against the fake Anthropic server answering at once, and by the offline reviewer; the review
//! is posted and recorded each time. `cargo xtask bench pipeline` (criterion).

#![expect(clippy::unwrap_used, reason = "a benchmark's set-up either works or stops")]
#![expect(missing_docs, reason = "criterion's macros generate the entry points")]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use nectr_agents::{
    AgentConfig, AgentReviewer, AnthropicConfig, AnthropicModel, OfflineReviewer, RetryPolicy,
};
use nectr_domain::code_host::{CodeHost, Identity};
use nectr_domain::pipeline::{PipelineConfig, ReviewModel, ReviewPipeline};
use nectr_domain::queue::{JobStatus, ReviewJob, ReviewRunner, StopReason, StopSignal};
use nectr_domain::{
    AccessToken, EventId, EventRepository, EventStatus, JobId, NewEvent, NewReviewRun,
    RepoFullName, ReviewRunRepository,
};
use nectr_github::OctocrabHost;
use nectr_testkit::fake_github::{FakeFile, FakeGitHub, FakePull};
use nectr_testkit::fake_model::{FakeModel, FakeReply, review_json};
use nectr_testkit::fakes::InMemoryStore;
use secrecy::SecretString;

const TOKEN: &str = "ghp_benchtoken000000000000000000000000000000";
const REPO: &str = "octo-org/bench";
const FILES: usize = 50;
const LINES_PER_FILE: usize = 40;

struct Never;

impl StopSignal for Never {
    fn stop_requested(&self) -> Option<StopReason> {
        None
    }
}

struct Bench {
    _github: FakeGitHub,
    _model: FakeModel,
    host: Arc<dyn CodeHost>,
    store: Arc<InMemoryStore>,
    job: ReviewJob,
}

async fn set_up(model_url_holder: &mut Option<String>) -> Bench {
    let github = FakeGitHub::start(TOKEN).await;
    let files = (0..FILES)
        .map(|index| {
            FakeFile::added_lines(&format!("src/module_{index:02}.rs"), LINES_PER_FILE as u64)
        })
        .collect();
    let mut pull = FakePull::new(1, files);
    pull.head_sha = "d".repeat(40);
    github.state().repo(REPO).pulls.insert(1, pull);
    let model = FakeModel::anthropic(|_| {
        FakeReply::review(review_json("request_changes", "src/module_00.rs", 3))
    })
    .await;
    *model_url_holder = Some(model.base_url.clone());
    let mut config = nectr_github::GitHubConfig::default();
    config.api_url.clone_from(&github.url);
    config.web_url.clone_from(&github.url);
    config.writes_per_minute = 1_000_000;
    let host: Arc<dyn CodeHost> = Arc::new(OctocrabHost::new(config).unwrap());
    let store = Arc::new(InMemoryStore::default());
    let event = store
        .create(NewEvent {
            event_type: "opened_pull_request".to_owned(),
            source: "github".to_owned(),
            payload: "{}".to_owned(),
            status: EventStatus::Processing,
            delivery_id: None,
            github_event: Some("pull_request".to_owned()),
        })
        .await
        .unwrap();
    let run = store
        .start(NewReviewRun { event_id: event.id, workflow_type: "pr_review".to_owned() })
        .await
        .unwrap();
    let job = ReviewJob {
        id: JobId::new(1),
        event_id: EventId::new(event.id.get()),
        repo_id: 1,
        repo: RepoFullName::parse(REPO).unwrap(),
        pr_number: 1,
        head_sha: "d".repeat(40),
        installation_id: None,
        status: JobStatus::Running,
        attempts: 1,
        max_attempts: 3,
        review_run_id: Some(run.id),
        last_error: None,
        created_at: chrono::Utc::now(),
    };
    Bench { _github: github, _model: model, host, store, job }
}

fn pipeline(bench: &Bench, model: Arc<dyn ReviewModel>) -> ReviewPipeline {
    ReviewPipeline::new(
        bench.host.clone(),
        bench.store.clone(),
        bench.store.clone(),
        bench.store.clone(),
        model,
        PipelineConfig {
            fallback: Some(Identity::Token(AccessToken::new(TOKEN))),
            ..PipelineConfig::default()
        },
    )
}

fn benchmark(criterion: &mut Criterion) {
    nectr_github::install_crypto_provider();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut model_url = None;
    let bench = runtime.block_on(set_up(&mut model_url));
    let anthropic = AnthropicModel::new(AnthropicConfig {
        api_key: SecretString::from("sk-ant-bench"),
        model: "claude-sonnet-4-5".to_owned(),
        base_url: model_url.unwrap(),
        context_tokens: 200_000,
        timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
    })
    .unwrap();
    let agent =
        pipeline(&bench, Arc::new(AgentReviewer::new(Arc::new(anthropic), AgentConfig::default())));
    let offline = pipeline(&bench, Arc::new(OfflineReviewer::default()));
    let mut group = criterion.benchmark_group("pipeline 50 files, 2,000 lines");
    group.sample_size(30).measurement_time(Duration::from_secs(10));
    group.bench_function("agent on the Anthropic provider (fake, instant)", |bencher| {
        bencher.to_async(&runtime).iter(|| async { agent.run(&bench.job, &Never).await.unwrap() });
    });
    group.bench_function("offline reviewer", |bencher| {
        bencher
            .to_async(&runtime)
            .iter(|| async { offline.run(&bench.job, &Never).await.unwrap() });
    });
    group.finish();
}

criterion_group!(benches, benchmark);
criterion_main!(benches);
