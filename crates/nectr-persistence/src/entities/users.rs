//! The `users` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub(crate) id: i32,
    pub(crate) github_id: i64,
    pub(crate) github_username: String,
    pub(crate) github_access_token: String,
    pub(crate) email: Option<String>,
    pub(crate) avatar_url: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) created_at: Option<DateTimeUtc>,
    pub(crate) updated_at: Option<DateTimeUtc>,
    pub(crate) session_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
