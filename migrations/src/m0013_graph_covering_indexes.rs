//! Covering indexes for the code graph's lookups by target: who imports a file
//! (`ix_graph_imports_by_target`, `(repo, target, source)`) and who touched a file
//! (`ix_graph_touches_by_path`, `(repo, path, number)`), replacing m0012's narrower ones. Without them SQLite, having no statistics, preferred
//! the covering primary keys with only `repo` bound, and walked every edge of the repository for
//! each step of the blast radius (15 s on a 100,000-file graph instead of 2 ms).

use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const SCRIPT: &[&str] = &[
    "CREATE INDEX ix_graph_imports_by_target ON graph_imports (repo, target, source)",
    "DROP INDEX IF EXISTS ix_graph_imports_target",
    "CREATE INDEX ix_graph_touches_by_path ON graph_touches (repo, path, number)",
    "DROP INDEX IF EXISTS ix_graph_touches_path",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, SCRIPT).await
    }
}
