//! The intake: the plan PostgreSQL's writers keep, and deliveries stored together of which one
//! fails.

use std::sync::Arc;

use nectr_domain::queue::{IntakeEffect, NewReviewJob, QueueError, ReviewQueue};
use nectr_domain::{EventFilter, EventRepository, EventStatus, NewEvent, RepoFullName};
use nectr_testkit::TestDatabase;

fn delivery(id: &str, event_type: &str) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        source: "github".to_owned(),
        payload: format!("{{\"delivery\":\"{id}\"}}"),
        status: EventStatus::Pending,
        delivery_id: Some(id.to_owned()),
        github_event: Some("pull_request".to_owned()),
    }
}

fn job(pr_number: u64) -> NewReviewJob {
    NewReviewJob {
        repo_id: 9,
        repo: RepoFullName::parse("octocat/Hello-World").unwrap(),
        pr_number,
        head_sha: format!("{pr_number:040x}"),
        installation_id: None,
        max_attempts: 3,
        pull_request: None,
    }
}

#[tokio::test]
async fn the_intake_reaches_every_table_by_key_even_on_an_empty_database() {
    let sqlite = TestDatabase::sqlite().migrated_store().await;
    assert_eq!(sqlite.intake_plan().await.unwrap(), None, "SQLite has no batched intake");
    let Some(database) = TestDatabase::postgres().await else { return };
    let store = database.migrated_store().await;
    // The generic plan is made once per connection, here while every table is empty, and kept
    // while the tables grow: a sequential or bitmap scan in it would cost more each delivery.
    let plan = store.intake_plan().await.unwrap().unwrap();
    assert!(plan.contains("Index Scan using events_pkey"), "{plan}");
    // The commit's job (is it there, and cancelled?) is found through its unique index.
    assert!(plan.contains("Index Scan using ux_review_jobs_commit on review_jobs k"), "{plan}");
    for scan in ["Seq Scan", "Bitmap"] {
        assert!(!plan.contains(scan), "{scan} in the intake's plan:\n{plan}");
    }
}

#[tokio::test]
async fn a_bad_delivery_fails_alone_among_deliveries_stored_together() {
    // `events.event_type` holds 50 characters: PostgreSQL refuses the whole statement. SQLite
    // does not check lengths; there a trigger refuses the delivery's job, after its event was
    // inserted in the batch's transaction: the event has to be undone with it.
    let too_long = "x".repeat(60);
    for database in TestDatabase::every_engine().await {
        let store = Arc::new(database.migrated_store().await);
        if database.postgres_name().is_none() {
            database
                .execute_script(
                    "CREATE TRIGGER refuse_a_job BEFORE INSERT ON review_jobs \
                     WHEN NEW.pr_number = 17 \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
                )
                .await;
        }
        let deliveries = (1..=40_u64).map(|number| {
            let store = store.clone();
            let event_type =
                if number == 17 { too_long.clone() } else { "opened_pull_request".into() };
            tokio::spawn(async move {
                let event = delivery(&format!("together-{number}"), &event_type);
                (number, store.accept(event, IntakeEffect::QueueReview(job(number))).await)
            })
        });
        for outcome in futures_util::future::join_all(deliveries).await {
            let (number, outcome) = outcome.unwrap();
            match (number, outcome) {
                (17, Err(QueueError::Unexpected(_))) => {}
                (17, other) => panic!("{}: the bad delivery: {other:?}", store.backend_name()),
                (_, outcome) => assert!(outcome.unwrap().job.is_some(), "delivery {number}"),
            }
        }
        let stored = store.list(&EventFilter::default()).await.unwrap();
        assert_eq!(stored.len(), 39, "{}", store.backend_name());
        assert!(stored.iter().all(|event| event.delivery_id.as_deref() != Some("together-17")));
        let jobs = (1..=40).map(|number| store.jobs_of_pull_request(9, number));
        let jobs: Vec<_> = futures_util::future::join_all(jobs).await;
        for (number, jobs) in (1..=40_u64).zip(jobs) {
            assert_eq!(jobs.unwrap().len(), usize::from(number != 17), "pull request {number}");
        }
    }
}

#[tokio::test]
async fn a_delivery_is_answered_only_once_a_flush_has_made_it_durable() {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

    let Some(database) = TestDatabase::postgres().await else { return };
    let store = Arc::new(database.migrated_store().await);
    store
        .accept(delivery("before", "opened_pull_request"), IntakeEffect::QueueReview(job(1)))
        .await
        .unwrap();
    // Holding the flusher's lock holds back every flush, and with it every answer.
    let holder = sea_orm::Database::connect(&database.url).await.unwrap();
    let held = holder.begin().await.unwrap();
    let lock = format!("SELECT pg_advisory_xact_lock({})", nectr_persistence::INTAKE_FLUSH_LOCK);
    held.execute_unprepared(&lock).await.unwrap();
    let accepting = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .accept(delivery("held", "opened_pull_request"), IntakeEffect::QueueReview(job(2)))
                .await
        }
    });
    // The writer has committed (another connection sees the event) but has not answered.
    let find = Statement::from_string(
        holder.get_database_backend(),
        "SELECT id FROM events WHERE delivery_id = 'held'",
    );
    let mut committed = None;
    for _ in 0..200 {
        committed = holder.query_one_raw(find.clone()).await.unwrap();
        if committed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let committed: i32 =
        committed.expect("the writer commits the event").try_get("", "id").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!accepting.is_finished(), "a delivery was answered before a flush");
    held.rollback().await.unwrap();
    let accepted = accepting.await.unwrap().unwrap();
    assert_eq!(accepted.event.id.get(), i64::from(committed));
    assert!(accepted.job.is_some());
}
