//! Signing in with GitHub over HTTP, against the fake GitHub, on SQLite and on PostgreSQL: the
//! whole flow (start, callback with the bound state, session cookie, `/auth/me`, logout, the old
//! session refused), logout of one session beside another and logout everywhere, tokens issued
//! before sessions had ids, replayed and foreign states, the Origin check on
//! cookie-authenticated state-changing requests, CORS, and a sign-in with `SameSite=Strict`
//! configured (the state cookie stays `Lax`).

use nectr_domain::UserRepository;
use nectr_testkit::fake_github::FakeGitHub;
use nectr_testkit::{TestApp, TestDatabase, spawn_app_on, spawn_app_reviewing_on};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use secrecy::SecretString;
use serde_json::Value;

pub(crate) const FRONTEND: &str = "http://localhost:3000";
const CLIENT_ID: &str = "Iv1.nectr-test-client";
const CLIENT_SECRET: &str = "nectr-test-client-secret";

/// The fake GitHub with the OAuth App, and Nectr pointed at it.
pub(crate) struct SignInWorld {
    pub(crate) github: FakeGitHub,
    pub(crate) app: TestApp,
}

/// Starts the fake GitHub (knowing the OAuth App) and Nectr on `database`, configured for it.
pub(crate) async fn world(database: TestDatabase) -> SignInWorld {
    world_with(database, |_| {}).await
}

/// As [`world`], after `configure` adjusted the settings.
pub(crate) async fn world_with(
    database: TestDatabase,
    configure: impl FnOnce(&mut nectr_server::Settings) + Send + 'static,
) -> SignInWorld {
    start_world(database, Workers::None, configure).await
}

/// As [`world_with`], with workers running the real review pipeline (the offline reviewer).
pub(crate) async fn reviewing_world_with(
    database: TestDatabase,
    configure: impl FnOnce(&mut nectr_server::Settings) + Send + 'static,
) -> SignInWorld {
    start_world(database, Workers::Reviewing, configure).await
}

/// What Nectr's workers do with the reviews deliveries queue.
enum Workers {
    /// Nothing: the reviews stay queued.
    None,
    /// Run them through the real pipeline.
    Reviewing,
}

async fn start_world(
    database: TestDatabase,
    workers: Workers,
    configure: impl FnOnce(&mut nectr_server::Settings) + Send + 'static,
) -> SignInWorld {
    let github = FakeGitHub::start("ghp_unused_by_sign_in_tests").await;
    github.state().oauth_client = Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()));
    let url = github.url.clone();
    let settings = move |settings: &mut nectr_server::Settings| {
        settings.github.api_url = url.clone();
        settings.github.web_url = url;
        settings.github.client_id = Some(CLIENT_ID.to_owned());
        settings.github.client_secret = Some(SecretString::from(CLIENT_SECRET.to_owned()));
        settings.application.frontend_url = FRONTEND.to_owned();
        settings.application.backend_url = "http://nectr.test:8000".to_owned();
        configure(settings);
    };
    let app = match workers {
        Workers::None => spawn_app_on(database, settings).await,
        Workers::Reviewing => spawn_app_reviewing_on(database, settings).await,
    };
    SignInWorld { github, app }
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, with its attributes.
pub(crate) fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The bare value of a `Set-Cookie` header (`name=value; …` → `value`).
pub(crate) fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

/// `GET /auth/github`: answers the state from GitHub's authorize URL and the bound cookie.
pub(crate) async fn start_sign_in(app: &TestApp) -> (String, String) {
    let response = app.get("/auth/github").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let state = location.split("state=").nth(1).unwrap().to_owned();
    let cookie = set_cookie(response.headers(), "oauth_state").unwrap();
    assert_eq!(cookie_value(&cookie), state, "the cookie binds this very state");
    (state, cookie_value(&cookie))
}

/// GitHub's redirect back to Nectr, from a browser holding `bound` in its state cookie.
pub(crate) async fn callback(app: &TestApp, query: &str, bound: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/auth/github/callback?{query}")));
    if let Some(bound) = bound {
        request = request.header("Cookie", format!("oauth_state={bound}"));
    }
    request.send().await.unwrap()
}

/// Where a redirect goes.
pub(crate) fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// Teaches the fake GitHub a user: their token, login and a one-time code for it.
pub(crate) fn github_user(github: &FakeGitHub, login: &str, code: &str) -> String {
    let token = format!("gho_{login}_oauth_token");
    let mut state = github.state();
    state.tokens.insert(token.clone());
    state.token_logins.insert(token.clone(), login.to_owned());
    state.oauth_codes.insert(code.to_owned(), token.clone());
    token
}

/// Signs `login` in through the whole flow; answers their session token (the cookie's value).
pub(crate) async fn sign_in(world: &SignInWorld, login: &str) -> String {
    let code = format!("code-for-{login}");
    github_user(&world.github, login, &code);
    let (state, bound) = start_sign_in(&world.app).await;
    let response = callback(&world.app, &format!("code={code}&state={state}"), Some(&bound)).await;
    assert_eq!(location(&response), format!("{FRONTEND}/dashboard"));
    cookie_value(&set_cookie(response.headers(), "access_token").unwrap())
}

/// `GET` with the session cookie.
pub(crate) async fn get_as(app: &TestApp, session: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("Cookie", format!("access_token={session}"))
        .send()
        .await
        .unwrap()
}

/// A state-changing request with the session cookie, from the dashboard's origin.
pub(crate) async fn send_as(
    app: &TestApp,
    method: reqwest::Method,
    session: &str,
    path: &str,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("Cookie", format!("access_token={session}"));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request.send().await.unwrap()
}

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_whole_sign_in_sets_a_session_that_logout_ends_on_the_server() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let world = world(database).await;
        let app = &world.app;
        let token = github_user(&world.github, "mona", "the-code");

        // Start: a redirect to GitHub with the configured client, scopes and callback, and the
        // state bound to this browser by a short-lived HttpOnly cookie.
        let response = app.get("/auth/github").await;
        assert_eq!(response.status(), StatusCode::FOUND, "{engine}");
        let authorize = location(&response);
        let state = authorize.split("state=").nth(1).unwrap().to_owned();
        assert_eq!(
            authorize,
            format!(
                "{}/login/oauth/authorize?client_id=Iv1.nectr-test-client&redirect_uri=http%3A%2F%2Fnectr.test%3A8000%2Fauth%2Fgithub%2Fcallback&scope=repo%2Cread%3Auser%2Cuser%3Aemail%2Cread%3Aorg&state={state}",
                world.github.url
            )
        );
        assert_eq!(state.len(), 64);
        assert_eq!(
            set_cookie(response.headers(), "oauth_state").unwrap(),
            format!("oauth_state={state}; Path=/auth/github; Max-Age=600; HttpOnly; SameSite=Lax")
        );

        // Callback: the code is exchanged, the user stored with the token, the session set.
        let response = callback(app, &format!("code=the-code&state={state}"), Some(&state)).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(location(&response), format!("{FRONTEND}/dashboard"));
        let session_cookie = set_cookie(response.headers(), "access_token").unwrap();
        assert!(
            session_cookie.ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"),
            "{session_cookie}"
        );
        assert!(set_cookie(response.headers(), "oauth_state").unwrap().contains("Max-Age=0"));
        let session = cookie_value(&session_cookie);
        let stored = app.store.find_by_github_id(user_id_of("mona")).await.unwrap().unwrap();
        assert_eq!(stored.github_access_token.expose(), token);
        let at_rest = stored_text(app, "SELECT github_access_token AS value FROM users").await;
        assert!(!at_rest.contains(&token), "the token is encrypted at rest: {at_rest}");

        // /auth/me by cookie, and by bearer with the same token.
        let (status, mut me) = json(get_as(app, &session, "/auth/me").await).await;
        assert_eq!(status, StatusCode::OK, "{engine}");
        assert_eq!(me["id"], stored.id.get());
        assert!(me["created_at"].as_str().is_some_and(|at| at.ends_with('Z')));
        me["id"] = "[id]".into();
        me["created_at"] = "[time]".into();
        insta::assert_json_snapshot!("auth_me", me);
        let by_bearer =
            app.client.get(app.url("/auth/me")).bearer_auth(&session).send().await.unwrap();
        assert_eq!(by_bearer.status(), StatusCode::OK);

        // Logout ends the session on the server: the old cookie and bearer are refused.
        let response =
            send_as(app, reqwest::Method::POST, &session, "/auth/logout", Some(FRONTEND)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            set_cookie(response.headers(), "access_token").unwrap(),
            "access_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            serde_json::json!({"message": "Logged out"})
        );
        let (status, body) = json(get_as(app, &session, "/auth/me").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let by_bearer =
            app.client.get(app.url("/auth/me")).bearer_auth(&session).send().await.unwrap();
        assert_eq!(by_bearer.status(), StatusCode::UNAUTHORIZED);

        // No credentials, or garbage, are 401 too.
        let (status, body) = json(app.get("/auth/me").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
        );
        let (status, _) = json(get_as(app, "not.a.jwt", "/auth/me").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Signing in again works, and the new session is accepted.
        let again = sign_in(&world, "mona").await;
        assert_eq!(get_as(app, &again, "/auth/me").await.status(), StatusCode::OK);
        app.stop().await;
    }
}

/// The first row's `value` of a query on the app's database, as text.
pub(crate) async fn stored_text(app: &TestApp, sql: &str) -> String {
    use sea_orm::ConnectionTrait as _;
    let connection = sea_orm::Database::connect(&app.database.url).await.unwrap();
    let statement = sea_orm::Statement::from_string(connection.get_database_backend(), sql);
    let row = connection.query_one_raw(statement).await.unwrap().unwrap();
    let value: String = row.try_get("", "value").unwrap();
    connection.close().await.unwrap();
    value
}

/// The fake GitHub's numeric id of a login.
pub(crate) fn user_id_of(login: &str) -> i64 {
    i64::try_from(login.bytes().map(u64::from).sum::<u64>() + 1).unwrap()
}

#[tokio::test]
async fn replayed_foreign_denied_and_unbound_states_are_refused() {
    for database in TestDatabase::every_engine().await {
        let world = world(database).await;
        let app = &world.app;
        github_user(&world.github, "mona", "code-1");
        github_user(&world.github, "mona", "code-2");

        // A state used once is used up: the replay is refused even from the same browser.
        let (state, bound) = start_sign_in(app).await;
        let first = callback(app, &format!("code=code-1&state={state}"), Some(&bound)).await;
        assert_eq!(location(&first), format!("{FRONTEND}/dashboard"));
        let replay = callback(app, &format!("code=code-2&state={state}"), Some(&bound)).await;
        assert_eq!(location(&replay), format!("{FRONTEND}/?error=invalid_state"));
        assert!(set_cookie(replay.headers(), "access_token").is_none());

        // A state another browser started (login CSRF) is refused, and used up.
        let (victims, victims_cookie) = start_sign_in(app).await;
        let (attackers, attackers_cookie) = start_sign_in(app).await;
        let forged =
            callback(app, &format!("code=code-2&state={attackers}"), Some(&victims_cookie)).await;
        assert_eq!(location(&forged), format!("{FRONTEND}/?error=state_mismatch"));
        assert!(set_cookie(forged.headers(), "access_token").is_none());
        let late =
            callback(app, &format!("code=code-2&state={attackers}"), Some(&attackers_cookie)).await;
        assert_eq!(location(&late), format!("{FRONTEND}/?error=invalid_state"));
        let unbound = callback(app, &format!("code=code-2&state={victims}"), None).await;
        assert_eq!(location(&unbound), format!("{FRONTEND}/?error=state_mismatch"));

        // The user said no; and a state nobody issued.
        let (state, bound) = start_sign_in(app).await;
        let denied =
            callback(app, &format!("error=access_denied&state={state}"), Some(&bound)).await;
        assert_eq!(location(&denied), format!("{FRONTEND}/?error=access_denied"));
        let after_denial = callback(app, &format!("code=code-2&state={state}"), Some(&bound)).await;
        assert_eq!(location(&after_denial), format!("{FRONTEND}/?error=invalid_state"));
        let made_up = "f".repeat(64);
        let unknown = callback(app, &format!("code=code-2&state={made_up}"), Some(&made_up)).await;
        assert_eq!(location(&unknown), format!("{FRONTEND}/?error=invalid_state"));
        let missing = callback(app, "", None).await;
        assert_eq!(location(&missing), format!("{FRONTEND}/?error=invalid_request"));

        // A code GitHub refuses (used up or made up), with a valid state.
        let (state, bound) = start_sign_in(app).await;
        let refused = callback(app, &format!("code=code-1&state={state}"), Some(&bound)).await;
        assert_eq!(location(&refused), format!("{FRONTEND}/?error=code_refused"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_cross_origin_post_with_a_valid_cookie_is_refused_and_cors_echoes_only_allowed_origins() {
    let world = world(TestDatabase::fresh().await).await;
    let app = &world.app;
    let session = sign_in(&world, "mona").await;
    for origin in [Some("https://evil.example"), Some("null"), None] {
        for path in ["/auth/logout", "/api/v1/repos/mona/widgets/install"] {
            let (status, body) =
                json(send_as(app, reqwest::Method::POST, &session, path, origin).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {path}");
            assert_eq!(body["code"], "cross_origin_request");
        }
    }
    let (status, body) = json(
        app.client
            .delete(app.url("/api/v1/repos/mona/widgets/install"))
            .header("Cookie", format!("access_token={session}"))
            .header("Referer", "https://evil.example/page")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("cross_origin_request"))
    );
    // Nothing happened: the session still works.
    assert_eq!(get_as(app, &session, "/auth/me").await.status(), StatusCode::OK);
    // A bearer token is not sent by browsers on their own: no Origin needed.
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&session)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(get_as(app, &session, "/auth/me").await.status(), StatusCode::UNAUTHORIZED);

    // CORS: the dashboard's origin is echoed with credentials; another is not.
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/repos/mona/widgets/install"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };
    let allowed = preflight(FRONTEND).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], FRONTEND);
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[tokio::test]
async fn reconnect_revokes_the_grant_and_signs_in_again_and_sign_in_needs_a_client_id() {
    let world = world(TestDatabase::fresh().await).await;
    let app = &world.app;
    let session = sign_in(&world, "mona").await;
    let response = get_as(app, &session, "/auth/github/reconnect").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        location(&response).starts_with(&format!("{}/login/oauth/authorize?", world.github.url))
    );
    assert!(set_cookie(response.headers(), "oauth_state").is_some());
    assert!(set_cookie(response.headers(), "access_token").unwrap().contains("Max-Age=0"));
    assert_eq!(world.github.state().revoked, ["gho_mona_oauth_token"], "the grant is revoked");
    let (status, body) = json(app.get("/auth/github/reconnect").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    app.stop().await;

    let unconfigured = spawn_app_on(TestDatabase::fresh().await, |_| {}).await;
    let (status, body) = json(unconfigured.get("/auth/github").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("oauth_not_configured"))
    );
    unconfigured.stop().await;
}

/// `POST /auth/logout` (with `query`) as a browser: the session cookie, from the dashboard.
async fn logout_by_cookie(app: &TestApp, session: &str, query: &str) -> reqwest::Response {
    let path = format!("/auth/logout{query}");
    send_as(app, reqwest::Method::POST, session, &path, Some(FRONTEND)).await
}

/// The statuses of `path` by cookie and by bearer with the same session.
async fn statuses(app: &TestApp, session: &str, path: &str) -> (StatusCode, StatusCode) {
    let by_cookie = get_as(app, session, path).await.status();
    let by_bearer =
        app.client.get(app.url(path)).bearer_auth(session).send().await.unwrap().status();
    (by_cookie, by_bearer)
}

const OK: (StatusCode, StatusCode) = (StatusCode::OK, StatusCode::OK);
const REFUSED: (StatusCode, StatusCode) = (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED);

/// How many rows of `revoked_sessions` match `condition`.
async fn revoked_rows(app: &TestApp, condition: &str) -> String {
    let sql =
        format!("SELECT CAST(COUNT(*) AS TEXT) AS value FROM revoked_sessions WHERE {condition}");
    stored_text(app, &sql).await
}

#[tokio::test]
async fn logout_ends_only_its_own_session_and_logout_everywhere_ends_them_all() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let world = world(database).await;
        let app = &world.app;
        // A session revoked long ago, whose token has expired since: the next logout purges it.
        app.database
            .execute_script(
                "INSERT INTO revoked_sessions (sid, expires_at) \
                 VALUES ('long-expired', '2000-01-01 00:00:00+00:00')",
            )
            .await;

        // Two browsers of one user, each signed in on its own.
        let laptop = sign_in(&world, "mona").await;
        let phone = sign_in(&world, "mona").await;
        assert_ne!(laptop, phone);
        assert_eq!(statuses(app, &laptop, "/auth/me").await, OK, "{engine}");
        assert_eq!(statuses(app, &phone, "/auth/me").await, OK, "{engine}");

        // Logout in the laptop: its cookie is deleted and its token refused everywhere, by
        // cookie and by bearer; the phone goes on.
        let response = logout_by_cookie(app, &laptop, "").await;
        assert_eq!(response.status(), StatusCode::OK, "{engine}");
        assert!(set_cookie(response.headers(), "access_token").unwrap().contains("Max-Age=0"));
        for path in ["/auth/me", "/api/v1/reviews", "/api/v1/api-keys", "/api/v1/repos"] {
            assert_eq!(statuses(app, &laptop, path).await, REFUSED, "{engine} {path}");
        }
        let (status, body) = json(get_as(app, &laptop, "/auth/me").await).await;
        assert_eq!(body["code"], "unauthenticated", "{engine} {status}");
        assert_eq!(statuses(app, &phone, "/auth/me").await, OK, "{engine}");
        assert_eq!(statuses(app, &phone, "/api/v1/reviews").await, OK, "{engine}");

        // The revoked record is kept (until the token expires); the expired one is purged.
        assert_eq!(revoked_rows(app, "sid = 'long-expired'").await, "0", "{engine}");
        assert_eq!(revoked_rows(app, "1 = 1").await, "1", "{engine}");

        // A repeated logout with the ended session only deletes the cookie again.
        assert_eq!(logout_by_cookie(app, &laptop, "").await.status(), StatusCode::OK);
        assert_eq!(statuses(app, &phone, "/auth/me").await, OK, "{engine}");

        // Log out everywhere, from the phone by bearer: the phone and a third browser end.
        let tablet = sign_in(&world, "mona").await;
        assert_eq!(statuses(app, &tablet, "/auth/me").await, OK, "{engine}");
        let response = app
            .client
            .post(app.url("/auth/logout?everywhere=true"))
            .bearer_auth(&phone)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{engine}");
        for session in [&phone, &tablet, &laptop] {
            assert_eq!(statuses(app, session, "/auth/me").await, REFUSED, "{engine}");
        }
        // Signing in again starts a session that works.
        let again = sign_in(&world, "mona").await;
        assert_eq!(statuses(app, &again, "/auth/me").await, OK, "{engine}");

        // `everywhere` is a boolean.
        let (status, body) = json(logout_by_cookie(app, &again, "?everywhere=maybe").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query"))
        );
        assert_eq!(statuses(app, &again, "/auth/me").await, OK, "{engine}");
        app.stop().await;
    }
}

/// The session key (`JWT_SECRET`) of the Nectr that old tokens are signed for.
const JWT_SECRET: &str = "nectr-test-jwt-secret";

/// A session token as Nectr issued them before sessions had ids: `sub`, `iat`, `exp`, `ver`.
fn token_without_session_id(user_id: i64, version: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({"sub": user_id.to_string(), "iat": now, "exp": now + 3600, "ver": version});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_without_a_session_id_work_until_a_logout_which_ends_every_session() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let world = world_with(database, |settings| {
            settings.security.jwt_secret = Some(SecretString::from(JWT_SECRET.to_owned()));
        })
        .await;
        let app = &world.app;
        let current = sign_in(&world, "mona").await;
        let user = app.store.find_by_github_id(user_id_of("mona")).await.unwrap().unwrap();

        // An old token, and another, keep working beside a new session.
        let old = token_without_session_id(user.id.get(), user.session_version);
        let other_old = token_without_session_id(user.id.get(), user.session_version);
        assert_eq!(statuses(app, &old, "/auth/me").await, OK, "{engine}");

        // Logout with an old token cannot revoke it alone: every session of the user ends.
        assert_eq!(logout_by_cookie(app, &old, "").await.status(), StatusCode::OK);
        for session in [&old, &other_old, &current] {
            assert_eq!(statuses(app, session, "/auth/me").await, REFUSED, "{engine}");
        }
        assert_eq!(revoked_rows(app, "1 = 1").await, "0", "{engine}: nothing to revoke by id");

        // Log out everywhere ends an old token too.
        let user = app.store.find_by_id(user.id).await.unwrap().unwrap();
        let old = token_without_session_id(user.id.get(), user.session_version);
        assert_eq!(statuses(app, &old, "/auth/me").await, OK, "{engine}");
        let response = app
            .client
            .post(app.url("/auth/logout?everywhere=true"))
            .bearer_auth(&old)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(statuses(app, &old, "/auth/me").await, REFUSED, "{engine}");
        app.stop().await;
    }
}

#[tokio::test]
async fn with_same_site_strict_sign_in_still_works_and_only_the_session_cookie_is_strict() {
    for database in TestDatabase::every_engine().await {
        let engine = format!("{:?}", database.engine);
        let world = world_with(database, |settings| {
            settings.security.cookie_same_site = nectr_server::settings::CookieSameSite::Strict;
        })
        .await;
        let app = &world.app;
        github_user(&world.github, "mona", "the-code");

        // The state cookie is Lax: browsers send it on GitHub's cross-site redirect back.
        let response = app.get("/auth/github").await;
        let state = location(&response).split("state=").nth(1).unwrap().to_owned();
        assert_eq!(
            set_cookie(response.headers(), "oauth_state").unwrap(),
            format!("oauth_state={state}; Path=/auth/github; Max-Age=600; HttpOnly; SameSite=Lax"),
            "{engine}"
        );

        // The callback with it signs in; the session cookie is Strict, as configured.
        let response = callback(app, &format!("code=the-code&state={state}"), Some(&state)).await;
        assert_eq!(location(&response), format!("{FRONTEND}/dashboard"), "{engine}");
        let session_cookie = set_cookie(response.headers(), "access_token").unwrap();
        assert!(
            session_cookie.ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict"),
            "{engine}: {session_cookie}"
        );
        assert_eq!(
            set_cookie(response.headers(), "oauth_state").unwrap(),
            "oauth_state=; Path=/auth/github; Max-Age=0; HttpOnly; SameSite=Lax",
            "{engine}"
        );
        let session = cookie_value(&session_cookie);
        assert_eq!(get_as(app, &session, "/auth/me").await.status(), StatusCode::OK, "{engine}");

        // A failed callback deletes the state cookie with the same flags it was set with.
        let (state, _) = start_sign_in(app).await;
        let unbound = callback(app, &format!("code=the-code&state={state}"), None).await;
        assert_eq!(location(&unbound), format!("{FRONTEND}/?error=state_mismatch"), "{engine}");
        assert_eq!(
            set_cookie(unbound.headers(), "oauth_state").unwrap(),
            "oauth_state=; Path=/auth/github; Max-Age=0; HttpOnly; SameSite=Lax",
            "{engine}"
        );

        // Logout deletes the session cookie with its own flags.
        let response =
            send_as(app, reqwest::Method::POST, &session, "/auth/logout", Some(FRONTEND)).await;
        assert_eq!(
            set_cookie(response.headers(), "access_token").unwrap(),
            "access_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
            "{engine}"
        );
        app.stop().await;
    }
}
