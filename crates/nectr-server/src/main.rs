//! The `nectr` binary. See `nectr --help`.

use std::process::ExitCode;

use clap::Parser;
use nectr_domain::{AccessToken, WebhookSecret};
use nectr_server::cli::{ApiKeysCommand, Cli, Command, ReposCommand};
use nectr_server::{
    Application, ConfigSources, Settings, api_keys, migrate, open_store, repos, review_cli,
    telemetry,
};

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
    if let Command::Review { diff, git, last, repo, pr, post, format, fail_on } = &command {
        let history = match (git, last) {
            (Some(range), _) => Some(review_cli::History::Range(range.clone())),
            (None, Some(count)) => Some(review_cli::History::Last(*count)),
            (None, None) => None,
        };
        let args = review_cli::ReviewArgs {
            diff: diff.clone(),
            history,
            repo: repo.clone(),
            pr: *pr,
            post: *post,
            json: format == "json",
            fail_on: fail_on.clone(),
        };
        let (output, failed) = review_cli::review(&settings, &args).await?;
        print!("{output}");
        if failed {
            std::process::exit(1);
        }
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
    if let Command::Repos { action } = command {
        return repos_command(&settings, action).await;
    }
    if let Command::ApiKeys { action } = command {
        return api_keys_command(&settings, action).await;
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

#[expect(clippy::print_stdout, reason = "the api-keys commands write their output to stdout")]
async fn api_keys_command(settings: &Settings, action: ApiKeysCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let outcome = match action {
        ApiKeysCommand::Create { user, name } => api_keys::create(&store, &user, &name)
            .await
            .map(|created| print!("{}", api_keys::created_message(&created, &user))),
        ApiKeysCommand::List { user } => {
            api_keys::list(&store, &user).await.map(|table| print!("{table}"))
        }
        ApiKeysCommand::Revoke { user, id } => api_keys::revoke(&store, &user, id)
            .await
            .map(|()| println!("revoked API key {id} of {user}; requests with it are refused")),
    };
    store.close().await?;
    outcome
}

#[expect(clippy::print_stdout, reason = "the repos commands write their output to stdout")]
async fn repos_command(settings: &Settings, action: ReposCommand) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    match action {
        ReposCommand::Add { repo, repo_id, hook_id, webhook_secret_file, token_file } => {
            if token_file.as_deref() == Some(std::path::Path::new("-"))
                && webhook_secret_file == std::path::Path::new("-")
            {
                anyhow::bail!(
                    "only one of --webhook-secret-file and --token-file can read standard input"
                );
            }
            let secret =
                WebhookSecret::new(repos::read_secret(&webhook_secret_file, "webhook secret")?);
            let token = token_file
                .map(|path| repos::read_secret(&path, "token").map(AccessToken::new))
                .transpose()?;
            let added = repos::add(&store, &repo, repo_id, hook_id, secret, token).await?;
            println!(
                "registered {} (repository id {repo_id}); deliveries signed with its secret are accepted",
                added.repo
            );
        }
        ReposCommand::List => print!("{}", repos::list(&store).await?),
        ReposCommand::Remove { repo } => {
            let removed = repos::remove(&store, &repo).await?;
            println!(
                "removed {repo} ({removed} registration{})",
                if removed == 1 { "" } else { "s" }
            );
        }
    }
    store.close().await?;
    Ok(())
}
