//! Thin: parse the command line, load settings, start logging, dispatch.

use std::process::ExitCode;

use authql::cli::{Cli, Command};
use authql::config::Settings;
use authql::startup::Application;
use authql::{db, graphql, telemetry};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (settings, warnings) = match Settings::from_env() {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("authql: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format, settings.log_filter.as_deref());
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { verb } => db::migrate(&settings.database_url, verb.into())
            .await
            .map_err(Into::into),
        Command::ExportSchema { file } => {
            let sdl = graphql::sdl(&settings);
            match file {
                Some(path) => std::fs::write(&path, sdl).map_err(Into::into),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "authql failed");
            eprintln!("authql: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
