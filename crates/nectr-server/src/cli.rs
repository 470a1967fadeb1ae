//! The command line: `nectr [serve]`, `nectr migrate`, `nectr print-config`, `nectr review`,
//! `nectr repos …` and `nectr api-keys …`.

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
    /// Review a local unified diff (`git diff main | nectr review --diff -`), a live pull
    /// request (`--repo OWNER/NAME --pr N`), or each commit of this repository's history
    /// (`--git v1.0..main`, `--last 50`) with the configured reviewer, and print the review;
    /// `--post` posts it on the pull request. For CI steps, git hooks, and deciding whether to
    /// switch Nectr on: `--git` ends with findings per rule and per 100 commits.
    Review {
        /// The diff file, or `-` for standard input.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["repo", "pr", "git", "last"], required_unless_present_any = ["repo", "git", "last"])]
        diff: Option<PathBuf>,
        /// Review each commit of this revision range of the repository in the working
        /// directory (`git log` syntax: `v1.0..main`, `HEAD~50..`), merges left out.
        #[arg(long, value_name = "REV_RANGE", conflicts_with_all = ["repo", "pr", "last", "post"])]
        git: Option<String>,
        /// Review each of the last N commits reachable from HEAD, merges left out.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["repo", "pr", "post"])]
        last: Option<u32>,
        /// The repository of the pull request to review.
        #[arg(long, value_name = "OWNER/NAME", requires = "pr")]
        repo: Option<String>,
        /// The pull request's number.
        #[arg(long, value_name = "N", requires = "repo")]
        pr: Option<u64>,
        /// Post the review on the pull request (as the posting policy allows).
        #[arg(long, requires = "repo")]
        post: bool,
        /// `markdown` (the review body) or `json` (the structured review).
        #[arg(long, default_value = "markdown", value_parser = ["markdown", "json"])]
        format: String,
        /// Exit with status 1 when a finding reaches this severity.
        #[arg(long, value_name = "SEVERITY", value_parser = ["critical", "moderate", "minor"])]
        fail_on: Option<String>,
    },
    /// Register repositories whose webhook was created by hand or by infrastructure code, for
    /// teams that do not sign in through the dashboard.
    Repos {
        /// What to do.
        #[command(subcommand)]
        action: ReposCommand,
    },
    /// Manage personal API keys (`Authorization: Bearer nectr_…` on the API and the MCP
    /// server, with the rights of their user), for set-ups without the dashboard.
    ApiKeys {
        /// What to do.
        #[command(subcommand)]
        action: ApiKeysCommand,
    },
}

/// `nectr api-keys …`. Users are named by their GitHub login.
#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print it alone on the last line (`| tail -1`); it is shown only once.
    Create {
        /// The user the key acts for, by GitHub login.
        #[arg(long, value_name = "LOGIN")]
        user: String,
        /// What the key is for (1 to 100 characters).
        #[arg(long)]
        name: String,
    },
    /// List a user's keys: id, name, hint, creation and last use; never their secrets.
    List {
        /// The user, by GitHub login.
        #[arg(long, value_name = "LOGIN")]
        user: String,
    },
    /// Revoke one of a user's keys: requests that present it are refused from now on.
    Revoke {
        /// The user, by GitHub login.
        #[arg(long, value_name = "LOGIN")]
        user: String,
        /// The key's id, as `list` shows it.
        id: i64,
    },
}

/// `nectr repos …`.
#[derive(Debug, Subcommand)]
pub enum ReposCommand {
    /// Register a repository. Secrets are read from files (or `-` for standard input), never
    /// from the command line, where other users and shell history could see them.
    Add {
        /// The repository, `OWNER/NAME`.
        repo: String,
        /// GitHub's numeric repository id (Settings → the repository's API: `id`).
        #[arg(long)]
        repo_id: i64,
        /// The webhook's id, when known (deliveries carry it as `X-GitHub-Hook-ID`).
        #[arg(long)]
        hook_id: Option<i64>,
        /// A file holding the webhook's secret, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        webhook_secret_file: PathBuf,
        /// A file holding a GitHub token for this repository, or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
    },
    /// List the registered repositories.
    List,
    /// Deactivate a repository; its history stays.
    Remove {
        /// The repository, `OWNER/NAME`.
        repo: String,
    },
}
