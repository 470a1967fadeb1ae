//! Adoption of the original service's database, built from the testkit's
//! `fixtures/original-schema/`: every row is kept, the seeded token decrypts, plaintext secrets
//! end up encrypted.

use chrono::{TimeZone, Utc};
use nectr_domain::{
    AccessToken, EventFilter, EventId, EventRepository, EventStatus, InstallationId,
    InstallationRepository, NewEvent, ReviewRunId, ReviewRunRepository, ReviewRunStatus,
    UserRepository, UserUpsert,
};
use nectr_testkit::{Engine, TestDatabase, fixtures};
use sea_orm::{ConnectionTrait, Database, Statement};

const SEEDED_TOKEN: &str = "gho_adoptiontesttoken0000000000000000000";
const SEEDED_SECRET: &str = "6f1c0b2d9a7e4c3b8d5f0a1e2c7b9d4f6a3e8c1b0d2f5a7c9e4b6d8f0a2c4e6b";

/// A database as the original service leaves it.
pub(crate) async fn original_database(engine: Engine) -> Option<TestDatabase> {
    let database = match engine {
        Engine::Sqlite => TestDatabase::sqlite(),
        Engine::Postgres => TestDatabase::postgres().await?,
    };
    let fixtures = fixtures().join("original-schema");
    let read = |name: &str| std::fs::read_to_string(fixtures.join(name)).unwrap();
    match engine {
        Engine::Sqlite => database.execute_script(&read("sqlite.sql")).await,
        Engine::Postgres => database.execute_script(&read("postgres.sql")).await,
    }
    database.execute_script(&read("seed.sql")).await;
    if engine == Engine::Postgres {
        database.execute_script(&read("postgres-after-seed.sql")).await;
    }
    Some(database)
}

async fn scalar(database: &TestDatabase, sql: &str) -> String {
    let connection = Database::connect(&database.url).await.unwrap();
    let row = connection
        .query_one_raw(Statement::from_string(connection.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    let value: String = row.try_get_by_index(0).unwrap();
    connection.close().await.unwrap();
    value
}

async fn row_counts(database: &TestDatabase) -> Vec<String> {
    let mut counts = Vec::new();
    for table in ["users", "installations", "events", "workflow_runs", "oauth_states"] {
        counts.push(scalar(database, &format!("SELECT CAST(count(*) AS TEXT) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn adopting_the_original_database_keeps_every_row_and_decrypts_its_tokens() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(database) = original_database(engine).await else { continue };
        let before = row_counts(&database).await;
        assert_eq!(before, ["2", "1", "1", "1", "0"]);

        let store = database.store().await;
        store.migrate().await.unwrap();
        let report = store.adopt_plaintext_secrets().await.unwrap();
        assert_eq!(report.webhook_secrets_encrypted, 1, "{engine:?}");
        assert_eq!(row_counts(&database).await, before, "{engine:?}: no row lost or added");

        // The seeded user's Fernet token decrypts with the key derived from SECRET_KEY.
        let octocat = store.find_by_github_id(583_231).await.unwrap().unwrap();
        assert_eq!(octocat.github_access_token.expose(), SEEDED_TOKEN);
        assert_eq!(octocat.github_username, "octocat");
        assert_eq!(octocat.name.as_deref(), Some("The Octocat"));
        // The second user's legacy plaintext token is read as it is...
        let hubot = store.find_by_github_id(9919).await.unwrap().unwrap();
        assert_eq!(hubot.github_access_token.expose(), "ghp_legacyplaintexttoken000000000000000");
        // ...and stored encrypted on its next write.
        store
            .upsert_by_github_id(UserUpsert {
                github_id: 9919,
                github_username: "hubot".to_owned(),
                github_access_token: AccessToken::new("ghp_legacyplaintexttoken000000000000000"),
                email: None,
                avatar_url: None,
                name: Some("Hubot".to_owned()),
            })
            .await
            .unwrap();
        let stored = scalar(&database, "SELECT github_access_token FROM users WHERE id = 2").await;
        assert!(stored.starts_with("gAAAAA"), "{engine:?}: {stored}");
        assert_eq!(
            store.find_by_github_id(9919).await.unwrap().unwrap().github_access_token.expose(),
            "ghp_legacyplaintexttoken000000000000000"
        );

        // The plaintext webhook secret is now encrypted at rest and still reads the same.
        let raw_secret =
            scalar(&database, "SELECT webhook_secret FROM installations WHERE id = 1").await;
        assert!(raw_secret.starts_with("gAAAAA"), "{engine:?}: {raw_secret}");
        let installation = InstallationRepository::find_by_id(&store, InstallationId::new(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(installation.webhook_secret.unwrap().expose(), SEEDED_SECRET);
        assert_eq!(installation.webhook_id, Some(12_345_678));
        assert_eq!(installation.repo.as_str(), "octocat/Hello-World");
        assert!(installation.is_active);

        // Events and review runs read with their UTC timestamps and the original's JSON.
        let event = EventRepository::find_by_id(&store, EventId::new(1)).await.unwrap().unwrap();
        assert_eq!(event.event_type, "opened_pull_request");
        assert_eq!(event.status, EventStatus::Completed);
        assert_eq!(event.processed_at, Some(Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 5).unwrap()));
        let run =
            ReviewRunRepository::find_by_id(&store, ReviewRunId::new(1)).await.unwrap().unwrap();
        assert_eq!(run.status, ReviewRunStatus::Completed);
        assert_eq!(run.result.as_ref().unwrap()["verdict"], "APPROVE");
        assert_eq!(run.started_at, Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap());

        // New rows continue after the adopted ones, and sort after them.
        let fresh = EventRepository::create(
            &store,
            NewEvent {
                event_type: "push".to_owned(),
                source: "github".to_owned(),
                payload: "{}".to_owned(),
                status: EventStatus::Ignored,
                delivery_id: None,
                github_event: Some("push".to_owned()),
            },
        )
        .await
        .unwrap();
        assert_eq!(fresh.id, EventId::new(2));
        let listed = store.list(&EventFilter::default()).await.unwrap();
        assert_eq!(listed.iter().map(|event| event.id.get()).collect::<Vec<_>>(), [2, 1]);

        if engine == Engine::Postgres {
            let column_type = scalar(
                &database,
                "SELECT data_type::text FROM information_schema.columns \
                 WHERE table_name = 'events' AND column_name = 'created_at'",
            )
            .await;
            assert_eq!(column_type, "timestamp with time zone");
        }
        // A second start changes nothing.
        store.migrate().await.unwrap();
        assert_eq!(store.adopt_plaintext_secrets().await.unwrap().webhook_secrets_encrypted, 0);
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_wrong_secret_key_is_reported_not_guessed() {
    let Some(database) = original_database(Engine::Sqlite).await else { return };
    let cipher = nectr_persistence::TokenCipher::new(&nectr_persistence::CipherConfig {
        encryption_keys: Vec::new(),
        secret_key: Some("not-the-original-secret".to_owned()),
    })
    .unwrap();
    let store = nectr_persistence::SeaOrmStore::connect(
        &nectr_persistence::DatabaseConfig::new(database.url.clone()),
        cipher,
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    match store.find_by_github_id(583_231).await {
        Err(nectr_domain::UserRepositoryError::Undecryptable(id)) => assert_eq!(id.get(), 1),
        other => panic!("expected Undecryptable, got {other:?}"),
    }
}

#[tokio::test]
async fn the_originals_reviews_show_in_the_review_history_once_adopted() {
    use nectr_domain::analytics::ReviewAnalytics;
    use nectr_domain::history::{ReviewHistory, ReviewQuery};
    use nectr_domain::pull_request::PullRequestState;

    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(database) = original_database(engine).await else { continue };
        let store = database.store().await;
        store.migrate().await.unwrap();
        // The original's newer connect flow recorded the repository's id; its seeded payload,
        // trimmed, names the repository only.
        database.execute_script("UPDATE installations SET github_repo_id = 1296269").await;
        database
            .execute_script(
                "UPDATE events SET created_at = '2026-03-01 10:00:00+00:00' WHERE id = 1",
            )
            .await;
        // A raw delivery the original never processed: located, but not a review.
        database
            .execute_script(
                "INSERT INTO events (id, event_type, source, payload, status) VALUES (2, \
                 'closed_pull_request', 'github', '{\"action\": \"closed\", \"number\": 1347, \
                 \"repository\": {\"id\": 1296269, \"full_name\": \"octocat/Hello-World\"}, \
                 \"pull_request\": {\"number\": 1347, \"head\": {\"sha\": \"6dcb09b5\"}, \
                 \"title\": \"Amazing new feature\", \
                 \"state\": \"closed\", \"merged\": true, \
                 \"updated_at\": \"2026-03-02T00:00:00Z\"}}', 'pending'), \
                 (3, 'unknown', 'github', 'not json', 'completed')",
            )
            .await;
        let octocat = store.find_by_github_id(583_231).await.unwrap().unwrap();
        assert!(store.reviews(octocat.id, &ReviewQuery::default()).await.unwrap().is_empty());

        let report = store.adopt_original_history().await.unwrap();
        assert_eq!(
            (report.events_located, report.reviews_adopted, report.events_unplaced),
            (2, 1, 1),
            "{engine:?}"
        );
        let reviews = store.reviews(octocat.id, &ReviewQuery::default()).await.unwrap();
        assert_eq!(reviews.len(), 1, "{engine:?}: {reviews:?}");
        let review = &reviews[0];
        assert_eq!(review.id, EventId::new(1));
        assert_eq!(review.status, EventStatus::Completed);
        assert_eq!(review.pull_request.number, 1347);
        assert_eq!(review.pull_request.title, "Amazing new feature");
        assert_eq!(review.pull_request.state, PullRequestState::Merged, "the newer delivery");
        assert!(review.ai_summary.as_deref().is_some_and(|text| text.contains("APPROVE")));
        let events = store.events(octocat.id, &Default::default()).await.unwrap();
        assert_eq!(events.len(), 2, "{engine:?}: both located events are the user's");
        let since = "2026-02-01T00:00:00Z".parse().unwrap();
        let insights = store.insights(octocat.id, since).await.unwrap();
        assert_eq!(insights.prs, 1, "{engine:?}: the adopted review counts in its period");
        let after = "2026-03-02T00:00:00Z".parse().unwrap();
        assert_eq!(store.insights(octocat.id, after).await.unwrap().prs, 0, "{engine:?}");

        let again = store.adopt_original_history().await.unwrap();
        assert_eq!((again.events_located, again.reviews_adopted), (0, 0), "adopted once");
    }
}
