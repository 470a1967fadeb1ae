//! Bad input to the webhook intake, the same on every engine: arbitrary header values (what an
//! HTTP client can send: visible ASCII, tabs and obs-text bytes) and arbitrary bodies (bytes, and
//! pull request payloads with arbitrary fields), correctly signed, sent to the running
//! application on SQLite and on PostgreSQL. Never a 5xx; a 4xx is JSON with one of the intake's
//! stable codes; a stored delivery is stored in full; both engines answer alike.

use nectr_domain::{EventId, EventRepository};
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "bad-input-webhook-secret";

/// Cases per run; each is sent to every engine.
const CASES: u32 = 96;

/// The codes the intake answers a 4xx with.
const INTAKE_CODES: [&str; 6] = [
    "invalid_header",
    "invalid_body",
    "invalid_json",
    "missing_signature",
    "invalid_signature",
    "unknown_webhook",
];

/// One delivery: its headers' raw values (absent when `None`) and its body.
#[derive(Clone, Debug)]
struct Input {
    event: Option<Vec<u8>>,
    delivery_id: Option<Vec<u8>>,
    hook_id: Option<Vec<u8>>,
    body: Vec<u8>,
}

/// A header value an HTTP client can send: visible ASCII, spaces, tabs and obs-text bytes.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![8 => 0x20_u8..0x7f, 1 => Just(b'\t'), 2 => 0x80_u8..=0xff];
    proptest::collection::vec(byte, 0..200)
}

fn event_header() -> impl Strategy<Value = Option<Vec<u8>>> {
    let known = prop_oneof![Just("pull_request"), Just("ping"), Just("push"), Just("issues")];
    proptest::option::weighted(
        0.9,
        prop_oneof![2 => known.prop_map(|name| name.as_bytes().to_vec()), 1 => header_bytes()],
    )
}

fn delivery_header() -> impl Strategy<Value = Option<Vec<u8>>> {
    let guid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
    proptest::option::weighted(
        0.9,
        prop_oneof![2 => guid.prop_map(String::into_bytes), 1 => header_bytes()],
    )
}

fn hook_header() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::weighted(
        0.3,
        prop_oneof![any::<i64>().prop_map(|id| id.to_string().into_bytes()), header_bytes()],
    )
}

/// Text for a payload's fields: GitHub's words, long words, anything (NUL included).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("opened".to_owned()),
        Just("closed".to_owned()),
        Just("synchronize".to_owned()),
        "[a-z_]{0,60}",
        "[0-9a-f]{0,80}",
        any::<String>(),
        any::<String>().prop_map(|text| format!("{text}\u{0}")),
    ]
}

/// A pull request payload whose fields are arbitrary.
fn pull_request_body() -> impl Strategy<Value = Vec<u8>> {
    let repository = prop_oneof![Just("octo-org/bad-input".to_owned()), text()];
    (text(), text(), any::<u64>(), any::<i64>(), repository, any::<bool>()).prop_map(
        |(action, head_sha, number, repo_id, full_name, draft)| {
            let payload = json!({
                "action": action,
                "number": number,
                "pull_request": {"number": number, "draft": draft, "head": {"sha": head_sha}},
                "repository": {"id": repo_id, "full_name": full_name},
            });
            serde_json::to_vec(&payload).unwrap()
        },
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let with_nul =
        (pull_request_body(), any::<prop::sample::Index>()).prop_map(|(mut body, at)| {
            body.insert(at.index(body.len() + 1), 0);
            body
        });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<String>().prop_map(String::into_bytes),
        "[ -~]{0,100}".prop_map(String::into_bytes),
        pull_request_body(),
        pull_request_body(),
        with_nul,
        Just(br#"{"zen": "Design for failure."}"#.to_vec()),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    (event_header(), delivery_header(), hook_header(), body())
        .prop_map(|(event, delivery_id, hook_id, body)| Input { event, delivery_id, hook_id, body })
}

/// What an engine answered: the status, and the body's `code` (4xx) or `status` (2xx).
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    kind: String,
}

async fn send(app: &TestApp, input: &Input) -> Result<Answer, TestCaseError> {
    let header = |bytes: &[u8]| reqwest::header::HeaderValue::from_bytes(bytes).unwrap();
    let mut request = app
        .client
        .post(app.url("/api/v1/webhooks/github"))
        .header("X-Hub-Signature-256", nectr_github::sign(SECRET.as_bytes(), &input.body))
        .header("Content-Type", "application/json")
        .body(input.body.clone());
    let headers = [
        ("X-GitHub-Event", &input.event),
        ("X-GitHub-Delivery", &input.delivery_id),
        ("X-GitHub-Hook-ID", &input.hook_id),
    ];
    for (name, value) in headers {
        if let Some(value) = value {
            request = request.header(name, header(value));
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    prop_assert!(status < 500, "{status}: {}", String::from_utf8_lossy(&bytes));
    let answer: Value = serde_json::from_slice(&bytes)
        .map_err(|error| TestCaseError::fail(format!("{status}: not JSON: {error}")))?;
    let kind = match status {
        200 => {
            let kind = answer["status"].as_str().unwrap_or_default();
            prop_assert!(["received", "duplicate_skipped"].contains(&kind), "{answer}");
            kind
        }
        400..=499 => {
            let code = answer["code"].as_str().unwrap_or_default();
            prop_assert!(INTAKE_CODES.contains(&code), "{status}: {answer}");
            prop_assert!(answer["detail"].as_str().is_some_and(|detail| !detail.is_empty()));
            code
        }
        other => return Err(TestCaseError::fail(format!("unexpected status {other}: {answer}"))),
    };
    if kind == "received" || kind == "invalid_json" {
        stored_in_full(app, &answer, &input.body).await?;
    }
    Ok(Answer { status, kind: kind.to_owned() })
}

/// The stored event's payload is the body, byte for byte.
async fn stored_in_full(app: &TestApp, answer: &Value, body: &[u8]) -> Result<(), TestCaseError> {
    let id = answer["event_id"].as_i64().map(EventId::new);
    let id = id.ok_or_else(|| TestCaseError::fail(format!("no event id: {answer}")))?;
    let stored = EventRepository::find_by_id(app.store.as_ref(), id).await.unwrap();
    let stored = stored.ok_or_else(|| TestCaseError::fail(format!("event {id} is not stored")))?;
    prop_assert_eq!(stored.payload.as_bytes(), body);
    Ok(())
}

#[test]
fn arbitrary_signed_deliveries_get_the_same_4xx_or_are_stored_on_every_engine() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let apps: Vec<(nectr_testkit::Engine, TestApp)> = runtime.block_on(async {
        let mut apps = Vec::new();
        for database in TestDatabase::every_engine().await {
            let engine = database.engine;
            let app = spawn_app_on(database, |settings| {
                settings.github.webhook_secret = Some(SecretString::from(SECRET));
            })
            .await;
            apps.push((engine, app));
        }
        apps
    });
    let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let outcome = runner.run(&input(), |input| {
        runtime.block_on(async {
            let mut answers = Vec::new();
            for (engine, app) in &apps {
                answers.push((*engine, send(app, &input).await?));
            }
            let (first_engine, first) = &answers[0];
            for (engine, answer) in &answers[1..] {
                prop_assert_eq!(first, answer, "{:?} and {:?} differ", first_engine, engine);
            }
            *seen.borrow_mut().entry(first.kind.clone()).or_default() += 1;
            Ok(())
        })
    });
    runtime.block_on(async {
        for (_, app) in &apps {
            app.stop().await;
        }
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // The cases reached every kind of answer, not only the easy ones.
    let seen = seen.into_inner();
    for kind in ["received", "invalid_header", "invalid_body", "invalid_json"] {
        assert!(seen.contains_key(kind), "no case was answered {kind}: {seen:?}");
    }
}
