//! The `installations` table: one row per user and connected repository.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "installations")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub(crate) id: i32,
    pub(crate) user_id: i32,
    pub(crate) repo_full_name: String,
    pub(crate) github_repo_id: Option<i64>,
    pub(crate) webhook_id: Option<i64>,
    pub(crate) webhook_secret: Option<String>,
    pub(crate) installation_id: Option<i64>,
    pub(crate) is_active: bool,
    pub(crate) installed_at: Option<DateTimeUtc>,
    pub(crate) access_token: Option<String>,
    pub(crate) verified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
