//! Migrations on a new database: idempotent, with the indexes the original lacked.

use nectr_testkit::{Engine, TestDatabase};
use sea_orm::{ConnectionTrait, Database, Statement};

/// The index names of a table.
pub(crate) async fn index_names(database: &TestDatabase, table: &str) -> Vec<String> {
    let connection = Database::connect(&database.url).await.unwrap();
    let sql = match database.engine {
        Engine::Sqlite => {
            format!("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}'")
        }
        Engine::Postgres => {
            format!("SELECT indexname AS name FROM pg_indexes WHERE tablename = '{table}'")
        }
    };
    let rows = connection
        .query_all_raw(Statement::from_string(connection.get_database_backend(), sql))
        .await
        .unwrap();
    let mut names: Vec<String> = rows.iter().map(|row| row.try_get("", "name").unwrap()).collect();
    names.sort();
    connection.close().await.unwrap();
    names
}

#[tokio::test]
async fn migrations_create_the_schema_once_and_then_do_nothing() {
    for database in TestDatabase::every_engine().await {
        let store = database.store().await;
        assert_eq!(
            store.pending_migrations().await.unwrap(),
            [
                "m0001_base_tables",
                "m0002_adopt_original",
                "m0003_indexes",
                "m0004_webhooks_and_queue",
                "m0005_payload_compression",
                "m0006_review_records",
                "m0007_inline_payloads",
                "m0008_review_posting",
                "m0009_session_versions",
                "m0010_pull_requests",
                "m0011_memories",
                "m0012_code_graph",
                "m0013_graph_covering_indexes",
                "m0014_api_keys",
                "m0015_related_pull_requests",
                "m0016_reviewed_pull_requests",
                "m0017_revoked_sessions",
                "m0018_unplaced_events",
                "m0019_memory_search_tags"
            ]
        );
        store.migrate().await.unwrap();
        assert!(store.pending_migrations().await.unwrap().is_empty());
        store.migrate().await.unwrap();
        let events = index_names(&database, "events").await;
        let event_indexes = [
            "ix_events_created_at",
            "ix_events_event_type",
            "ix_events_status",
            "ix_events_unplaced",
        ];
        for index in event_indexes {
            assert!(events.contains(&index.to_owned()), "{:?}: {events:?}", database.engine);
        }
        assert!(events.contains(&"ix_events_repo_created".to_owned()), "{events:?}");
        let jobs = index_names(&database, "review_jobs").await;
        for index in ["ix_review_jobs_event", "ix_review_jobs_run"] {
            assert!(jobs.contains(&index.to_owned()), "{:?}: {jobs:?}", database.engine);
        }
        let imports = index_names(&database, "graph_imports").await;
        assert!(imports.contains(&"ix_graph_imports_by_target".to_owned()), "{imports:?}");
        let touches = index_names(&database, "graph_touches").await;
        assert!(touches.contains(&"ix_graph_touches_by_path".to_owned()), "{touches:?}");
        let reviewed = index_names(&database, "reviewed_pull_requests").await;
        assert!(reviewed.contains(&"ix_reviewed_pull_requests_queued".to_owned()), "{reviewed:?}");
        let pulls = index_names(&database, "pull_requests").await;
        assert!(pulls.contains(&"ix_pull_requests_name".to_owned()), "{pulls:?}");
        let keys = index_names(&database, "api_keys").await;
        assert!(keys.contains(&"ix_api_keys_user_id".to_owned()), "{keys:?}");
        let revoked = index_names(&database, "revoked_sessions").await;
        assert!(revoked.contains(&"ix_revoked_sessions_expires_at".to_owned()), "{revoked:?}");
        let runs = index_names(&database, "workflow_runs").await;
        assert!(runs.contains(&"ix_workflow_runs_event_id".to_owned()), "{runs:?}");
        if database.engine == Engine::Postgres {
            let connection = Database::connect(&database.url).await.unwrap();
            let row = connection
                .query_one_raw(Statement::from_string(
                    connection.get_database_backend(),
                    "SELECT attcompression::text AS method FROM pg_attribute \
                     WHERE attrelid = 'events'::regclass AND attname = 'payload'",
                ))
                .await
                .unwrap()
                .unwrap();
            let method: String = row.try_get("", "method").unwrap();
            assert_eq!(method, "l", "payloads are compressed with LZ4");
            connection.close().await.unwrap();
        }
        store.close().await.unwrap();
    }
}
