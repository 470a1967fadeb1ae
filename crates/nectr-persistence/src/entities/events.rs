//! The `events` table: every webhook delivery.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub(crate) id: i32,
    pub(crate) event_type: String,
    pub(crate) source: String,
    pub(crate) payload: String,
    pub(crate) status: String,
    pub(crate) created_at: Option<DateTimeUtc>,
    pub(crate) processed_at: Option<DateTimeUtc>,
    pub(crate) delivery_id: Option<String>,
    pub(crate) github_event: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
