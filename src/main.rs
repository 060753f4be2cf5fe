//! Thin: parse the command line, load settings, start logging, dispatch.

use std::process::ExitCode;
use std::sync::Arc;

use authql::auth::jwt::SigningKeys;
use authql::auth::keys;
use authql::cli::{Cli, Command, KeysVerb, OauthClientVerb};
use authql::config::ConfigError;
use authql::config::JwtAlgorithm;
use authql::config::Settings;
use authql::error::AppError;
use authql::services::AppContext;
use authql::services::account::registration;
use authql::startup::Application;
use authql::{config, db, graphql, telemetry};
use clap::{CommandFactory, Parser};

/// glibc's malloc spends a tenth of a request's CPU time under contention
/// between the runtime's and the database driver's threads; mimalloc keeps
/// per-thread heaps (measured with `bench/run.sh`, see README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Each runtime thread's stack. A request's future is polled on it: a
/// GraphQL resolver's whole chain (sign-in, claims hook, session, events and
/// their webhook outbox) nests deeply, and unoptimised builds keep large
/// frames; tokio's 2 MiB default was overflowed by a provider sign-in once
/// webhook endpoints existed.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: the async runtime did not start: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's message, then the usage line every argument error
            // carries (API.md §8.1).
            eprint!("{e}");
            eprintln!("\n{}", Cli::command().render_usage());
            return ExitCode::from(2);
        }
    };
    // Needs no settings, and writes nothing but the key on stdout.
    if let Some(Command::Keys {
        verb: KeysVerb::Generate { algorithm, file },
    }) = &cli.command
    {
        return match generate_key((*algorithm).into(), file.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("authql: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
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
        Command::Migrate { verb } => db::migrate(settings.migration_url(), verb.into())
            .await
            .map_err(Into::into),
        Command::CreateSuperuser { email, username } => {
            create_superuser(settings, &email, username.as_deref()).await
        }
        Command::ImportDjango {
            from,
            table,
            dry_run,
        } => import_django(settings, &from, &table, dry_run).await,
        Command::Keys {
            verb: KeysVerb::Show,
        } => show_keys(&settings),
        Command::Keys { .. } => Ok(()),
        Command::OauthClient { verb } => oauth_client(settings, verb).await,
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
        // A setting that fails only once used (a key file) names itself and
        // exits 2, as those checked at parse time do (API.md §6, §8.10).
        Err(e) if e.chain().any(|c| c.downcast_ref::<ConfigError>().is_some()) => {
            eprintln!("authql: configuration error: {e:#}");
            ExitCode::from(2)
        }
        // Arguments clap took but a rule refuses: as clap's own refusals.
        Err(e) if e.downcast_ref::<BadArguments>().is_some() => {
            eprintln!("authql: {e:#}");
            eprintln!("\n{}", Cli::command().render_usage());
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "authql failed");
            eprintln!("authql: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn create_superuser(
    settings: Settings,
    email: &str,
    username: Option<&str>,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let password = match config::superuser_password_from_env() {
        Some(p) => p,
        None => {
            let first = rpassword::prompt_password("Password: ")?;
            let again = rpassword::prompt_password("Password (again): ")?;
            anyhow::ensure!(first == again, "the passwords do not match");
            first.into()
        }
    };
    db::migrate(settings.migration_url(), db::MigrateCommand::Up).await?;
    let app = AppContext::new(
        db::connect(
            &settings.database_url,
            Some(settings.query_timeout),
            settings.database_pooled,
        )
        .await?,
        Arc::new(settings),
    )?;
    match registration::create_superuser(&app, email, username, password.expose_secret()).await {
        Ok(user) => {
            println!("created superuser {} ({})", user.email, user.id);
            Ok(())
        }
        Err(AppError::BadUserInput(fields)) => anyhow::bail!("{fields}"),
        // The cause and its chain, which `main` logs and prints; a client
        // would see only "internal error", an operator needs the reason.
        Err(AppError::Internal(cause)) => Err(cause.context("creating the superuser")),
        Err(e) => anyhow::bail!("{}", e.message()),
    }
}

/// `authql import-django`: a progress bar on a terminal, a line for every
/// skipped row, and `imported N, skipped M` at the end.
async fn import_django(
    settings: Settings,
    from: &str,
    table: &str,
    dry_run: bool,
) -> anyhow::Result<()> {
    use authql::services::account::django_import::{self, Outcome};
    db::migrate(settings.migration_url(), db::MigrateCommand::Up).await?;
    let pool = db::connect(&settings.database_url, None, settings.database_pooled).await?;
    let db = db::Db::open(
        pool,
        &settings.database_url,
        settings.query_timeout,
        Default::default(),
        settings.database_pooled,
    )?
    .unlimited();
    let bar = indicatif::ProgressBar::new(0);
    let summary = django_import::import(
        &db,
        from,
        table,
        dry_run,
        &mut |total| bar.set_length(total),
        &mut |row| {
            bar.inc(1);
            match row.outcome {
                Outcome::Skipped { reason } => {
                    bar.suspend(|| println!("skipped row {} ({}): {reason}", row.id, row.email));
                }
                Outcome::Imported {
                    unusable: Some(why),
                    ..
                } => bar.suspend(|| {
                    println!(
                        "imported row {} ({}) unusable, {why}: signs in after a password reset",
                        row.id, row.email
                    )
                }),
                Outcome::Imported { .. } => {}
            }
        },
    )
    .await
    .map_err(|e| e.context(format!("importing from {table}")))?;
    bar.finish_and_clear();
    let dry = if dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!(
        "imported {}, skipped {}{dry}",
        summary.imported, summary.skipped
    );
    Ok(())
}

/// Arguments that parsed but break a rule of the contract (an invalid
/// redirect URI, an unknown scope): exit 2 with the usage line.
#[derive(Debug)]
struct BadArguments(String);

impl std::fmt::Display for BadArguments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadArguments {}

/// `authql oauth-client …` (API.md §9.3): the same rules as the GraphQL
/// mutations, without a staff user (and so without events). Stdout
/// carries the JSON and nothing else.
async fn oauth_client(settings: Settings, verb: OauthClientVerb) -> anyhow::Result<()> {
    use authql::domain::oauth::ClientType;
    use authql::services::oauth::clients::{self, NewClient};
    db::migrate(settings.migration_url(), db::MigrateCommand::Up).await?;
    let pool = db::connect(
        &settings.database_url,
        Some(settings.query_timeout),
        settings.database_pooled,
    )
    .await?;
    let db = db::Db::open(
        pool,
        &settings.database_url,
        settings.query_timeout,
        Default::default(),
        settings.database_pooled,
    )?;
    let refused = |e: AppError| -> anyhow::Error {
        match e {
            AppError::BadUserInput(fields) => BadArguments(fields.to_string()).into(),
            AppError::Internal(cause) => cause,
            e => anyhow::anyhow!("{}", e.message()),
        }
    };
    let shown = match verb {
        OauthClientVerb::Create {
            name,
            redirect_uri,
            post_logout_redirect_uri,
            scope,
            public,
            skip_consent,
        } => {
            let new = NewClient {
                name,
                client_type: if public {
                    ClientType::Public
                } else {
                    ClientType::Confidential
                },
                redirect_uris: redirect_uri,
                post_logout_redirect_uris: post_logout_redirect_uri,
                allowed_scopes: if scope.is_empty() {
                    clients::all_scope_names()
                } else {
                    scope
                },
                skip_consent,
            };
            let (made, secret) = clients::create_by_operator(&db, new)
                .await
                .map_err(refused)?;
            let mut shown = client_json(&made);
            shown["client_secret"] = serde_json::json!(secret);
            shown
        }
        OauthClientVerb::List => {
            let all = clients::all(&db).await.map_err(refused)?;
            let listed = all.iter().map(|c| {
                let mut shown = client_json(c);
                shown["dynamic"] = serde_json::json!(c.dynamic);
                shown["created_at"] = serde_json::json!(
                    c.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                );
                shown
            });
            serde_json::Value::Array(listed.collect())
        }
        OauthClientVerb::Delete { client_id } => {
            return match clients::delete_by_operator(&db, client_id).await {
                Ok(()) => {
                    eprintln!("deleted OAuth client {client_id}");
                    Ok(())
                }
                Err(AppError::NotFound) => anyhow::bail!("no OAuth client {client_id}"),
                Err(e) => Err(refused(e)),
            };
        }
    };
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

/// A client as `authql oauth-client` prints it (no secret).
fn client_json(c: &entity::oauth_client::Model) -> serde_json::Value {
    use authql::services::oauth::clients;
    serde_json::json!({
        "client_id": c.id.to_string(),
        "name": c.name,
        "type": clients::client_type(c).as_str().to_lowercase(),
        "redirect_uris": clients::redirect_uris(c),
        "post_logout_redirect_uris": clients::post_logout_redirect_uris(c),
        "allowed_scopes": clients::scopes(c).names(),
        "skip_consent": c.skip_consent,
    })
}

/// `authql keys generate`: a new private key, to FILE or stdout.
fn generate_key(algorithm: JwtAlgorithm, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let pem = keys::generate(algorithm)?;
    match file {
        Some(path) => keys::write_new(path, &pem),
        None => {
            print!("{pem}");
            Ok(())
        }
    }
}

/// `authql keys show`: the JWKS these settings publish.
fn show_keys(settings: &Settings) -> anyhow::Result<()> {
    let (keys, warning) = SigningKeys::load(settings)?;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    println!("{}", serde_json::to_string_pretty(keys.jwks())?);
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
