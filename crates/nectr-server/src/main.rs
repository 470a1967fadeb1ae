//! The `nectr` binary. See `nectr --help`.

use std::process::ExitCode;

use clap::Parser;
use nectr_server::cli::{Cli, Command};
use nectr_server::{Application, ConfigSources, Settings, migrate, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    nectr_github::install_crypto_provider();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "nectr stopped on an error");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[expect(clippy::print_stdout, reason = "print-config and migrate write their output to stdout")]
async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&ConfigSources::from_process(&cli.env_file)?)?;
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::PrintConfig = command {
        print!("{}", settings.to_redacted_toml());
        return Ok(());
    }
    settings.validate()?;
    telemetry::init(&settings);
    if let Command::Migrate { status } = command {
        let pending = migrate(&settings, status).await?;
        let verb = if status { "pending" } else { "applied" };
        pending.iter().for_each(|name| println!("{verb} {name}"));
        println!("{} migrations {verb}", pending.len());
        return Ok(());
    }
    let application = Application::build(&settings).await?;
    tracing::info!(
        address = %format!("{}:{}", settings.application.host, application.port()),
        environment = settings.application.environment.as_str(),
        "nectr is listening"
    );
    application.stop_on_signals();
    application.run_until_stopped().await
}
