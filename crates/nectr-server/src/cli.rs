//! The command line: `nectr [serve]`, `nectr migrate`, `nectr print-config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Nectr, a self-hosted AI pull-request reviewer.
///
/// With no configuration at all, Nectr runs on its embedded defaults: a SQLite database
/// `nectr.db` in the working directory, listening on 127.0.0.1:8000. Configuration comes from
/// config/default.toml, config/{APP_ENV}.toml, a .env file, the original service's variables
/// (DATABASE_URL, SECRET_KEY, PORT, …) and NECTR__SECTION__KEY variables, in that order.
#[derive(Debug, Parser)]
#[command(name = "nectr", version, about, long_about)]
pub struct Cli {
    /// The .env file to read, when it exists. Real environment variables win over it.
    #[arg(long, global = true, default_value = ".env", value_name = "FILE")]
    pub env_file: PathBuf,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Nectr's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default). Applies pending migrations first, then serves until
    /// SIGINT or SIGTERM, lets in-flight requests finish and closes the database.
    Serve,
    /// Apply pending database migrations and exit. Creates a new database, or adopts the original
    /// service's database in place, keeping every row.
    Migrate {
        /// Only list the migrations that are not applied yet.
        #[arg(long)]
        status: bool,
    },
    /// Print the effective configuration as TOML, with every secret redacted, and exit.
    PrintConfig,
}
