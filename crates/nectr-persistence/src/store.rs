//! The store: one connection pool, the cipher for secrets at rest, migrations, adoption of the
//! original service's plaintext secrets, and the health probe.

use std::time::Duration;

use async_trait::async_trait;
use nectr_domain::{HealthProbe, ProbeError};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Set,
};

use crate::crypto::Stored;
use crate::entities::installations;
use crate::intake::IntakeWriter;
use crate::{DatabaseConfig, DatabaseUrlError, TokenCipher};

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one Nectr can use.
    #[error(transparent)]
    Url(#[from] DatabaseUrlError),
    /// The database did not accept a connection.
    #[error("cannot connect to the database at {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the driver said.
        #[source]
        source: anyhow::Error,
    },
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What adopting the original service's data changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AdoptionReport {
    /// Plaintext webhook secrets that are now encrypted.
    pub webhook_secrets_encrypted: u64,
}

/// Nectr's relational store on PostgreSQL or SQLite. It implements the domain's storage ports
/// (`UserRepository`, `InstallationRepository`, `EventRepository`, `ReviewRunRepository`,
/// `OAuthStateRepository`, `RevokedSessions`) and `HealthProbe`.
#[derive(Debug, Clone)]
pub struct SeaOrmStore {
    pub(crate) connection: DatabaseConnection,
    pub(crate) cipher: TokenCipher,
    probe_timeout: Duration,
    /// SQLite has one writer: write transactions of this process take turns here, in order,
    /// instead of colliding and sleeping in SQLite's busy handler (which made the tail latency).
    writer: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// Deliveries arriving together are stored together (see `intake`).
    pub(crate) intake: std::sync::Arc<IntakeWriter>,
}

impl SeaOrmStore {
    /// Opens the connection pool. A SQLite file is created when missing, in WAL mode.
    ///
    /// # Errors
    /// [`StoreError::Url`] for an unusable URL, [`StoreError::Connect`] when the database does
    /// not answer.
    pub async fn connect(config: &DatabaseConfig, cipher: TokenCipher) -> Result<Self, StoreError> {
        let url = config.driver_url()?;
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout())
            .connect_timeout(config.acquire_timeout())
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|options: SqliteConnectOptions| {
                options
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        let connection = Database::connect(options).await.map_err(|error| StoreError::Connect {
            url: config.redacted_url(),
            source: anyhow::Error::new(error),
        })?;
        let writer = (connection.get_database_backend() == DbBackend::Sqlite)
            .then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        let intake = std::sync::Arc::new(
            IntakeWriter::start(&connection, writer.clone())
                .ok_or_else(|| anyhow::anyhow!("the store needs a Tokio runtime"))?,
        );
        Ok(Self { connection, cipher, probe_timeout: config.acquire_timeout(), writer, intake })
    }

    /// The turn to write, on SQLite; hold it until the transaction ends.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        }
    }

    /// `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.connection.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }

    /// Applies every pending migration; creates or adopts the schema.
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when a migration fails; nothing of that migration is kept on
    /// PostgreSQL.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        nectr_migrations::run(&self.connection)
            .await
            .map_err(|error| StoreError::Migrate(anyhow::Error::new(error)))
    }

    /// The names of migrations not applied yet.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the database cannot be read.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        nectr_migrations::pending(&self.connection)
            .await
            .map_err(|error| StoreError::Unexpected(anyhow::Error::new(error)))
    }

    /// Encrypts webhook secrets that the original service stored as plaintext. Safe to run at
    /// every start: encrypted secrets are left alone.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the database fails.
    pub async fn adopt_plaintext_secrets(&self) -> Result<AdoptionReport, StoreError> {
        let rows = installations::Entity::find()
            .filter(installations::Column::WebhookSecret.is_not_null())
            .all(&self.connection)
            .await
            .map_err(db_error("reading webhook secrets"))?;
        let mut report = AdoptionReport::default();
        for row in rows {
            let Some(stored) = &row.webhook_secret else { continue };
            let Ok(Stored::LegacyPlaintext(plaintext)) = self.cipher.read_secret(stored) else {
                continue;
            };
            let encrypted = self.cipher.encrypt(&plaintext);
            let mut active: installations::ActiveModel = row.into();
            active.webhook_secret = Set(Some(encrypted));
            active
                .update(&self.connection)
                .await
                .map_err(db_error("encrypting a webhook secret"))?;
            report.webhook_secrets_encrypted += 1;
        }
        Ok(report)
    }

    /// PostgreSQL's plan for the statement that stores deliveries, as `EXPLAIN` prints it (the
    /// generic plan its writers keep); `None` on SQLite. For diagnosing a slow intake.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when the database fails.
    pub async fn intake_plan(&self) -> Result<Option<String>, StoreError> {
        let Some(plan) = self.intake.plan().await.transpose() else { return Ok(None) };
        let plan = plan.map_err(|error| {
            StoreError::Unexpected(anyhow::Error::new(error).context("explaining the intake"))
        })?;
        Ok(Some(plan))
    }

    /// Closes the pool; later calls fail.
    ///
    /// # Errors
    /// [`StoreError::Unexpected`] when closing fails.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.intake.close().await;
        self.connection
            .close_by_ref()
            .await
            .map_err(|error| StoreError::Unexpected(anyhow::Error::new(error)))
    }
}

#[async_trait]
impl HealthProbe for SeaOrmStore {
    async fn probe(&self) -> Result<(), ProbeError> {
        match tokio::time::timeout(self.probe_timeout, self.connection.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ProbeError(anyhow::Error::new(error).context("database ping"))),
            Err(_) => Err(ProbeError(anyhow::anyhow!("database ping timed out"))),
        }
    }
}

/// Wraps a driver error with what was being done, for the port's `Unexpected` variant.
pub(crate) fn db_error(doing: &'static str) -> impl Fn(DbErr) -> anyhow::Error {
    move |error| anyhow::Error::new(error).context(doing)
}
