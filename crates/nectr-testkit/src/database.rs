//! Fresh databases for tests: a temporary SQLite file always, and a new PostgreSQL database when
//! `TEST_DATABASE_URL` names a server and a role allowed to create databases. PostgreSQL
//! databases are dropped when the [`TestDatabase`] is.
//!
//! Without `TEST_DATABASE_URL` the PostgreSQL half of a test is skipped, unless
//! `NECTR_REQUIRE_POSTGRES` is set (CI sets it): then a test that needs PostgreSQL fails, so a run
//! that passes proves both engines ran. [`postgres_server_url`] is the one place that decides.

use nectr_persistence::{CipherConfig, DatabaseConfig, SeaOrmStore, TokenCipher};
use sea_orm::{ConnectionTrait, Database};

/// The secret key tests encrypt with; the one the original-schema fixture was made with.
pub const TEST_SECRET_KEY: &str = "adoption-test-secret";

/// The variable naming the PostgreSQL server tests create their databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The variable that turns a skipped PostgreSQL test into a failed one: set to anything but
/// empty, `0` or `false`.
pub const REQUIRE_POSTGRES: &str = "NECTR_REQUIRE_POSTGRES";

/// The PostgreSQL server of `TEST_DATABASE_URL`, or `None` when it is unset (or empty) and the
/// PostgreSQL half of a test is to be skipped.
///
/// # Panics
/// When `TEST_DATABASE_URL` is unset and `NECTR_REQUIRE_POSTGRES` is set: a test that needs
/// PostgreSQL must not pass without it.
pub fn postgres_server_url() -> Option<String> {
    let url = std::env::var(TEST_DATABASE_URL).ok();
    let required = std::env::var(REQUIRE_POSTGRES).ok();
    match choose_postgres_server(url, required.as_deref()) {
        Ok(url) => url,
        Err(message) => panic!("{message}"),
    }
}

/// What [`postgres_server_url`] decides from the two variables' values.
fn choose_postgres_server(
    url: Option<String>,
    required: Option<&str>,
) -> Result<Option<String>, String> {
    let required = required.is_some_and(|value| !matches!(value.trim(), "" | "0" | "false"));
    match url.filter(|url| !url.is_empty()) {
        Some(url) => Ok(Some(url)),
        None if required => Err(format!(
            "this test needs PostgreSQL: {REQUIRE_POSTGRES} is set but {TEST_DATABASE_URL} is \
             not (start one with `cargo xtask db` and export the URL it prints, or unset \
             {REQUIRE_POSTGRES} to skip the PostgreSQL half)"
        )),
        None => Ok(None),
    }
}

/// Which database engine a test database runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server of `TEST_DATABASE_URL`.
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Which engine.
    pub engine: Engine,
    /// The URL Nectr connects with.
    pub url: String,
    postgres: Option<PostgresCleanup>,
    _directory: Option<tempfile::TempDir>,
}

#[derive(Debug)]
struct PostgresCleanup {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A new empty SQLite file in a temporary folder.
    ///
    /// # Panics
    /// When no temporary folder can be made.
    pub fn sqlite() -> Self {
        let directory = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/nectr.db?mode=rwc", directory.path().display());
        Self { engine: Engine::Sqlite, url, postgres: None, _directory: Some(directory) }
    }

    /// A new empty PostgreSQL database, or `None` when `TEST_DATABASE_URL` is not set.
    ///
    /// # Panics
    /// When `TEST_DATABASE_URL` is set but the server refuses to create a database, and when it
    /// is not set but `NECTR_REQUIRE_POSTGRES` is (see [`postgres_server_url`]).
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_server_url()?;
        let name = format!("nectr_test_{}", uuid::Uuid::new_v4().simple());
        let admin =
            Database::connect(&admin_url).await.expect("TEST_DATABASE_URL accepts connections");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("the TEST_DATABASE_URL role may create databases");
        drop(admin.close().await);
        let url = replace_database_name(&admin_url, &name);
        Some(Self {
            engine: Engine::Postgres,
            url,
            postgres: Some(PostgresCleanup { admin_url, name }),
            _directory: None,
        })
    }

    /// PostgreSQL when `TEST_DATABASE_URL` is set, else SQLite.
    ///
    /// # Panics
    /// As [`TestDatabase::postgres`] does.
    pub async fn fresh() -> Self {
        match Self::postgres().await {
            Some(database) => database,
            None => Self::sqlite(),
        }
    }

    /// SQLite, and PostgreSQL too when `TEST_DATABASE_URL` is set: a suite runs on each.
    ///
    /// # Panics
    /// As [`TestDatabase::postgres`] does.
    pub async fn every_engine() -> Vec<Self> {
        let mut databases = vec![Self::sqlite()];
        databases.extend(Self::postgres().await);
        databases
    }

    /// Runs a SQL script (several statements) directly, outside Nectr.
    ///
    /// # Panics
    /// When the script fails.
    pub async fn execute_script(&self, script: &str) {
        let connection = Database::connect(&self.url).await.expect("the test database answers");
        connection.execute_unprepared(script).await.expect("the script runs");
        drop(connection.close().await);
    }

    /// A store on this database with the test keys, migrated.
    ///
    /// # Panics
    /// When the database cannot be opened or migrated.
    pub async fn migrated_store(&self) -> SeaOrmStore {
        let store = self.store().await;
        store.migrate().await.expect("migrations apply");
        store
    }

    /// A store on this database with the test keys, not migrated.
    ///
    /// # Panics
    /// When the database cannot be opened.
    pub async fn store(&self) -> SeaOrmStore {
        let cipher = TokenCipher::new(&CipherConfig {
            encryption_keys: Vec::new(),
            secret_key: Some(TEST_SECRET_KEY.to_owned()),
        })
        .expect("the test key is valid");
        SeaOrmStore::connect(&DatabaseConfig::new(self.url.clone()), cipher)
            .await
            .expect("the test database answers")
    }

    /// The PostgreSQL database's name, when this is one.
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|cleanup| cleanup.name.as_str())
    }

    /// The URL of the PostgreSQL server's administrative database, when this is one.
    pub fn postgres_admin_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|cleanup| cleanup.admin_url.as_str())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(cleanup) = self.postgres.take() else { return };
        // Dropping needs async I/O; a short-lived runtime on its own thread does it, whatever
        // runtime (if any) the test runs on.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&cleanup.admin_url).await {
                    let statement =
                        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", cleanup.name);
                    drop(admin.execute_unprepared(&statement).await);
                    drop(admin.close().await);
                }
            });
        });
        drop(dropper.join());
    }
}

/// `postgres://user:pw@host:5432/admin?x=y` with `admin` replaced by `name`.
fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) =
        url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |index| scheme_end + index);
    let mut replaced = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        replaced.push('?');
        replaced.push_str(query);
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::{choose_postgres_server, replace_database_name};

    #[test]
    fn postgres_is_skipped_without_a_url_unless_it_is_required() {
        let url = || Some("postgres://h/admin".to_owned());
        assert_eq!(choose_postgres_server(url(), None), Ok(url()));
        assert_eq!(choose_postgres_server(url(), Some("1")), Ok(url()));
        assert_eq!(choose_postgres_server(None, None), Ok(None));
        assert_eq!(choose_postgres_server(Some(String::new()), None), Ok(None));
        for off in ["", "0", "false"] {
            assert_eq!(choose_postgres_server(None, Some(off)), Ok(None), "{off:?}");
        }
        for on in ["1", "true", "yes"] {
            let refusal = choose_postgres_server(None, Some(on)).unwrap_err();
            assert!(refusal.contains("NECTR_REQUIRE_POSTGRES"), "{refusal}");
            assert!(refusal.contains("TEST_DATABASE_URL"), "{refusal}");
        }
        assert!(choose_postgres_server(Some(String::new()), Some("1")).is_err());
    }

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            replace_database_name("postgres://u:p@h:5432/admin?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(replace_database_name("postgres://h", "t2"), "postgres://h/t2");
    }
}
