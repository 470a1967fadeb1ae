//! Logging: readable lines in development, JSON in production. `RUST_LOG` overrides the
//! configured level.

use tracing_subscriber::EnvFilter;

use crate::settings::{Environment, Settings};

/// The filter for a configured level: Nectr's own crates at that level, chatty dependencies
/// at warnings unless named explicitly.
fn filter(log_level: &str) -> EnvFilter {
    if let Ok(directives) = std::env::var("RUST_LOG") {
        return EnvFilter::new(directives);
    }
    let level = log_level.trim().to_ascii_lowercase();
    let directives = if level.contains('=') || level.contains(',') {
        level
    } else {
        format!("{level},sqlx=warn,sea_orm=warn,sea_orm_migration=warn,h2=warn,hyper=warn")
    };
    EnvFilter::new(directives)
}

/// Installs the global subscriber. Safe to call more than once: later calls do nothing.
pub fn init(settings: &Settings) {
    let filter = filter(&settings.application.log_level);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let installed = if settings.application.environment == Environment::Production {
        builder.json().flatten_event(true).with_current_span(true).try_init()
    } else {
        builder.compact().try_init()
    };
    // A second initialisation (tests) keeps the first subscriber.
    drop(installed);
}
