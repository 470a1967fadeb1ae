//! Personal API keys over HTTP and from the command line, on SQLite and PostgreSQL: a key made
//! with a session is shown once, works as `Authorization: Bearer` on other routes (without the
//! Origin check cookies need), lists with its last use and never its secret, and is refused once
//! revoked; another user can neither see nor revoke it; bad bodies are 400 with a code; and
//! `nectr api-keys` creates (the key alone on the last line), lists and revokes keys that the
//! running server accepts.

use std::process::{Command, Output, Stdio};

use chrono::Utc;
use nectr_api::auth::session::{SameSite, SessionConfig, SessionKey};
use nectr_domain::api_keys::ApiKeyStore;
use nectr_domain::{AccessToken, UserId, UserRepository, UserUpsert};
use nectr_testkit::database::TEST_SECRET_KEY;
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

const JWT_SECRET: &str = "api-keys-test-jwt-secret";
/// An origin the test application allows (one of the default CORS origins).
const FRONTEND: &str = "http://localhost:3000";

struct Person {
    id: UserId,
    session: String,
}

async fn person(app: &TestApp, github_id: i64, login: &str) -> Person {
    let user = app
        .store
        .upsert_by_github_id(UserUpsert {
            github_id,
            github_username: login.to_owned(),
            github_access_token: AccessToken::new(format!("gho_{login}")),
            email: None,
            avatar_url: None,
            name: Some(login.to_owned()),
        })
        .await
        .unwrap();
    let sessions = SessionConfig {
        key: SessionKey::from_jwt_secret(JWT_SECRET),
        lifetime_minutes: 60,
        secure_cookies: false,
        same_site: SameSite::Lax,
    };
    Person { id: user.id, session: sessions.issue(&user, Utc::now()).unwrap() }
}

async fn start(database: TestDatabase) -> TestApp {
    spawn_app_on(database, |settings| {
        settings.security.jwt_secret = Some(SecretString::from(JWT_SECRET));
    })
    .await
}

/// How a request authenticates.
enum As<'a> {
    /// The session cookie, from the allowed origin.
    Cookie(&'a str),
    /// The session cookie, with no Origin.
    CookieWithoutOrigin(&'a str),
    /// `Authorization: Bearer` with this token (a session JWT or an API key).
    Bearer(&'a str),
    /// Nothing.
    Nobody,
}

async fn call(
    app: &TestApp,
    who: As<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path));
    request = match who {
        As::Cookie(session) => {
            request.header("Cookie", format!("access_token={session}")).header("Origin", FRONTEND)
        }
        As::CookieWithoutOrigin(session) => {
            request.header("Cookie", format!("access_token={session}"))
        }
        As::Bearer(token) => request.bearer_auth(token),
        As::Nobody => request,
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> Option<&str> {
    body["code"].as_str()
}

/// A key's body with the values that differ from run to run replaced.
fn redacted(mut body: Value) -> Value {
    for (field, placeholder) in
        [("id", "[id]"), ("hint", "[hint]"), ("created_at", "[time]"), ("key", "[secret]")]
    {
        if body.get(field).is_some() {
            body[field] = placeholder.into();
        }
    }
    if body["last_used_at"].is_string() {
        body["last_used_at"] = "[time]".into();
    }
    body
}

#[tokio::test]
async fn a_key_made_with_a_session_authenticates_as_its_user_until_it_is_revoked() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let app = start(database).await;
        let alice = person(&app, 5_001, "alice").await;
        let bob = person(&app, 5_002, "bob").await;

        // No session, no keys.
        let (status, body) = call(&app, As::Nobody, Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let name = Some(json!({"name": "ci bot"}));
        let (status, body) =
            call(&app, As::Nobody, Method::POST, "/api/v1/api-keys", name.clone()).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        // A cookie from no allowed origin is refused, as for every state-changing request.
        let (status, body) = call(
            &app,
            As::CookieWithoutOrigin(&alice.session),
            Method::POST,
            "/api/v1/api-keys",
            name.clone(),
        )
        .await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("cross_origin_request")));

        // Created with the dashboard's session: 201, the secret once, not cached.
        let response = app
            .client
            .post(app.url("/api/v1/api-keys"))
            .header("Cookie", format!("access_token={}", alice.session))
            .header("Origin", FRONTEND)
            .json(&json!({"name": "  ci bot  "}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{engine}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let created: Value = response.json().await.unwrap();
        let secret = created["key"].as_str().unwrap().to_owned();
        let hint = created["hint"].as_str().unwrap().to_owned();
        let id = created["id"].as_i64().unwrap();
        assert!(secret.starts_with("nectr_") && secret.len() >= 6 + 43, "{secret}");
        assert!(secret.starts_with(&hint) && hint.len() > 6 && hint.len() < 20, "{hint}");
        assert!(created["created_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{created}");
        insta::assert_json_snapshot!("api_key_created", redacted(created));

        // The key is a bearer credential on other routes, as alice.
        let (status, me) = call(&app, As::Bearer(&secret), Method::GET, "/auth/me", None).await;
        assert_eq!(status, StatusCode::OK, "{engine}: {me}");
        assert_eq!(
            (me["id"].as_i64(), me["github_username"].as_str()),
            (Some(alice.id.get()), Some("alice"))
        );
        let (status, events) =
            call(&app, As::Bearer(&secret), Method::GET, "/api/v1/events", None).await;
        assert_eq!((status, events), (StatusCode::OK, json!([])));
        // Not a cookie, so a state-changing request needs no Origin: it reaches the route,
        // which answers for alice (who has connected nothing).
        let memory = json!({"repo": "alice/none", "content": "Keep it short."});
        let (status, body) =
            call(&app, As::Bearer(&secret), Method::POST, "/api/v1/memory", Some(memory)).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("repo_not_connected")));

        // Listed with its last use, never with its secret.
        let response = app
            .client
            .get(app.url("/api/v1/api-keys"))
            .header("Cookie", format!("access_token={}", alice.session))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(!text.contains(&secret[hint.len()..]), "the secret is listed: {text}");
        let listed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(
            (listed[0]["id"].as_i64(), listed[0]["hint"].as_str()),
            (Some(id), Some(hint.as_str()))
        );
        assert!(listed[0]["last_used_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{listed}");
        let shape = Value::Array(vec![redacted(listed[0].clone())]);
        insta::assert_json_snapshot!("api_keys_listed", shape);

        // A key cannot manage keys: that needs a session.
        for (method, path, body) in [
            (Method::GET, "/api/v1/api-keys".to_owned(), None),
            (Method::POST, "/api/v1/api-keys".to_owned(), name.clone()),
            (Method::DELETE, format!("/api/v1/api-keys/{id}"), None),
        ] {
            let (status, body) = call(&app, As::Bearer(&secret), method, &path, body).await;
            assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("session_required")));
        }

        // Bob sees none of alice's keys and cannot revoke hers.
        let (status, listed) =
            call(&app, As::Bearer(&bob.session), Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!((status, listed), (StatusCode::OK, json!([])));
        let path = format!("/api/v1/api-keys/{id}");
        let (status, body) =
            call(&app, As::Cookie(&bob.session), Method::DELETE, &path, None).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, _) = call(&app, As::Bearer(&secret), Method::GET, "/auth/me", None).await;
        assert_eq!(status, StatusCode::OK, "still alice's key");

        // Alice revokes it: 204, then 404; the key is refused at once.
        let (status, body) =
            call(&app, As::Cookie(&alice.session), Method::DELETE, &path, None).await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
        let (status, body) =
            call(&app, As::Cookie(&alice.session), Method::DELETE, &path, None).await;
        assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, body) = call(&app, As::Bearer(&secret), Method::GET, "/auth/me", None).await;
        assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (status, listed) =
            call(&app, As::Bearer(&alice.session), Method::GET, "/api/v1/api-keys", None).await;
        assert_eq!((status, listed), (StatusCode::OK, json!([])));

        // Keys that never were, and ids that are not numbers.
        let unknown = format!("nectr_{}", "0".repeat(64));
        for token in [unknown.as_str(), "nectr_", "nectr_not-a-key", &secret.to_uppercase()] {
            let (status, body) = call(&app, As::Bearer(token), Method::GET, "/auth/me", None).await;
            assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        }
        let (status, body) =
            call(&app, As::Bearer(&alice.session), Method::DELETE, "/api/v1/api-keys/abc", None)
                .await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_path")));
        let (status, body) =
            call(&app, As::Bearer(&alice.session), Method::PUT, "/api/v1/api-keys", None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_with_a_code_and_create_nothing() {
    for database in TestDatabase::every_engine().await {
        let app = start(database).await;
        let carol = person(&app, 5_003, "carol").await;
        let url = app.url("/api/v1/api-keys");
        let too_long = format!(r#"{{"name": "{}"}}"#, "k".repeat(101));
        let cases: [(&str, &str, &str); 8] = [
            ("application/json", "{}", "invalid_json"),
            ("application/json", r#"{"name": ""}"#, "invalid_name"),
            ("application/json", r#"{"name": "   "}"#, "invalid_name"),
            ("application/json", &too_long, "invalid_name"),
            ("application/json", r#"{"name": 5}"#, "invalid_json"),
            ("application/json", r#"{"name": "x", "scopes": []}"#, "invalid_json"),
            ("application/json", r#"{"name": "#, "invalid_json"),
            ("text/plain", "name=x", "unsupported_media_type"),
        ];
        for (content_type, body, expected) in cases {
            let response = app
                .client
                .post(&url)
                .bearer_auth(&carol.session)
                .header("content-type", content_type)
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(
                (status, code(&answer)),
                (StatusCode::BAD_REQUEST, Some(expected)),
                "{body}"
            );
            assert!(answer["detail"].as_str().is_some_and(|detail| !detail.is_empty()));
        }
        let longest = json!({"name": "k".repeat(100)});
        let (status, _) =
            call(&app, As::Bearer(&carol.session), Method::POST, "/api/v1/api-keys", Some(longest))
                .await;
        assert_eq!(status, StatusCode::CREATED, "100 characters is allowed");
        let kept = ApiKeyStore::list(app.store.as_ref(), carol.id).await.unwrap();
        assert_eq!(kept.len(), 1, "only the valid one");
        app.stop().await;
    }
}

const NECTR: &str = env!("CARGO_BIN_EXE_nectr");

fn nectr_cli(database_url: &str, arguments: &[&str]) -> Output {
    let directory = tempfile::tempdir().unwrap();
    Command::new(NECTR)
        .current_dir(directory.path())
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", TEST_SECRET_KEY)
        .env("LOG_LEVEL", "warn")
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_command_line_creates_lists_and_revokes_keys_the_server_accepts() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let store = database.migrated_store().await;
        let mona = store
            .upsert_by_github_id(UserUpsert {
                github_id: 6_001,
                github_username: "Mona".to_owned(),
                github_access_token: AccessToken::new("gho_mona"),
                email: None,
                avatar_url: None,
                name: None,
            })
            .await
            .unwrap();
        let url = database.url.clone();

        let created =
            nectr_cli(&url, &["api-keys", "create", "--user", "mona", "--name", "deploy bot"]);
        assert!(created.status.success(), "{engine}: {created:?}");
        let printed = stdout(&created);
        let secret = printed.lines().last().unwrap().to_owned();
        assert!(secret.starts_with("nectr_") && !secret.contains(' '), "{printed}");
        assert!(printed.lines().count() > 1 && printed.contains("deploy bot"), "{printed}");
        assert!(!stderr(&created).contains(&secret), "the secret is not logged");
        let key = store.authenticate(&secret, Utc::now()).await.unwrap().expect("the key works");
        assert_eq!((key.user_id, key.name.as_str()), (mona.id, "deploy bot"));

        // The running server accepts it as mona.
        let app = start(database).await;
        let (status, me) = call(&app, As::Bearer(&secret), Method::GET, "/auth/me", None).await;
        assert_eq!((status, me["github_username"].as_str()), (StatusCode::OK, Some("Mona")));

        let listed = nectr_cli(&url, &["api-keys", "list", "--user", "MONA"]);
        assert!(listed.status.success(), "{listed:?}");
        let table = stdout(&listed);
        let row = table.lines().find(|line| line.contains("deploy bot")).expect("listed");
        assert!(row.starts_with(&key.id.to_string()) && row.contains(&key.hint), "{table}");
        assert!(!row.contains("never"), "its use is shown: {table}");
        assert!(!table.contains(&secret[key.hint.len()..]), "no secret in the list: {table}");

        let revoked =
            nectr_cli(&url, &["api-keys", "revoke", "--user", "mona", &key.id.to_string()]);
        assert!(revoked.status.success(), "{revoked:?}");
        let (status, _) = call(&app, As::Bearer(&secret), Method::GET, "/auth/me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{engine}: revoked");
        let again = nectr_cli(&url, &["api-keys", "revoke", "--user", "mona", &key.id.to_string()]);
        assert_eq!(again.status.code(), Some(1), "{again:?}");
        assert!(stderr(&again).contains(&format!("has no API key {}", key.id)), "{again:?}");

        let unknown = nectr_cli(&url, &["api-keys", "create", "--user", "nobody", "--name", "x"]);
        assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
        assert!(
            stderr(&unknown).contains(r#"no user with the GitHub login "nobody""#),
            "{unknown:?}"
        );
        assert!(stdout(&unknown).is_empty(), "nothing that looks like a key: {unknown:?}");
        let unnamed = nectr_cli(&url, &["api-keys", "create", "--user", "mona", "--name", " "]);
        assert_eq!(unnamed.status.code(), Some(1), "{unnamed:?}");
        assert!(stderr(&unnamed).contains("name of 1 to 100 characters"), "{unnamed:?}");
        assert!(ApiKeyStore::list(&store, mona.id).await.unwrap().is_empty(), "{engine}");
        app.stop().await;
        store.close().await.unwrap();
    }
}
