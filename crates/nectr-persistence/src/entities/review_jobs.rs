//! The `review_jobs` table: the durable review queue.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_jobs")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    pub(crate) event_id: i32,
    pub(crate) repo_id: i64,
    pub(crate) repo_full_name: String,
    pub(crate) pr_number: i64,
    pub(crate) head_sha: String,
    pub(crate) installation_id: Option<i64>,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
    pub(crate) available_at: DateTimeUtc,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_expires_at: Option<DateTimeUtc>,
    pub(crate) stop_requested: Option<String>,
    pub(crate) review_run_id: Option<i32>,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
