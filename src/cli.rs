//! The production command line: its commands (shared with the development binary
//! `ace-sync-dev`, which adds `demo` and `sandbox`), and what each one does once parsed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::startup::{Application, Role, StartupError};

mod ops;

/// The options every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// A TOML file overriding the embedded defaults (see `ace-sync config defaults`).
    #[arg(long, global = true, env = "ACE_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The production commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the ingress: the HTTP endpoint Salesforce outbound messages are sent to.
    Serve,
    /// Run the workers: opportunity changes to ACE, and ACE's events back to Salesforce.
    Work,
    /// Run the ingress and the workers in one process (needed for the embedded in-memory queue).
    All,
    /// Print the OpenAPI document of the HTTP API (YAML).
    Openapi {
        /// Print instead the OpenAPI 3.0 document (JSON) Salesforce registers as an External
        /// Service, as committed in openapi/salesforce-external-service.json.
        #[arg(long)]
        external_services: bool,
    },
    /// Probe a running instance; exits 0 when it is ready. For container health checks.
    Healthcheck {
        /// What to probe. Defaults to /health/ready on the configured port.
        #[arg(long)]
        url: Option<String>,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = humantime_duration)]
        timeout: Duration,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with the Salesforce-to-ACE mapping file.
    Mapping {
        #[command(subcommand)]
        command: MappingCommand,
    },
    /// Look at what is parked in a queue's dead-letter queue, and move it back.
    Dlq {
        /// The events queue's dead-letter queue instead of the changes queue's.
        #[arg(long, global = true)]
        events: bool,
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Queue a reconcile of every selected record (the first load, or a move from another
    /// connector): records whose opportunity is already in ACE are linked, not created again.
    Backfill {
        #[command(flatten)]
        select: ops::SelectArgs,
        /// A Salesforce field (relationship paths allowed) where a previous connector kept the
        /// ACE opportunity id; a record whose field holds one is linked to it.
        #[arg(long, value_name = "FIELD")]
        link_from: Option<String>,
        /// ListOpportunities pages (100 opportunities each) read to find what ACE has already.
        #[arg(long, default_value_t = 100)]
        ace_pages: u32,
        /// Write nothing and queue nothing: print what would be created, linked and updated,
        /// with the pre-flight findings by kind.
        #[arg(long)]
        dry_run: bool,
    },
    /// Queue a reconcile of the selected records now; with --report, list the records whose
    /// two sides disagree, and how, without changing anything.
    Reconcile {
        #[command(flatten)]
        select: ops::SelectArgs,
        /// Compare both sides and print the differences instead of queueing reconciles.
        #[arg(long)]
        report: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// How many messages are parked, by reason.
    Stats,
    /// Every parked message: its record, what triggered it, when and why it was parked.
    List,
    /// Moves parked messages back to their source queue (all, or those the options select).
    Replay {
        /// Only this Salesforce record's.
        #[arg(long)]
        record: Option<String>,
        /// Only those whose reason contains this text.
        #[arg(long)]
        reason: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum MappingCommand {
    /// Print the embedded default mapping, with its documentation.
    Defaults,
    /// Check a mapping file against AWS's service model; exits 1 with the problems listed.
    Check {
        /// The mapping file (TOML).
        file: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the embedded defaults, with their documentation.
    Defaults,
    /// Load the configuration (defaults, file, environment) and what it points at (the
    /// mapping, the Salesforce key), and report every problem start would refuse, plus the
    /// settings still at their demo defaults. Exits 2 on problems; warnings alone exit 0.
    Check {
        /// The role the configuration is for (`serve` needs no Salesforce client or mapping).
        /// By default `all` once a Salesforce client is configured, `serve` otherwise.
        #[arg(long, value_enum)]
        role: Option<CheckedRole>,
    },
}

/// A role, as `config check --role` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckedRole {
    Serve,
    Work,
    All,
}

impl From<CheckedRole> for Role {
    fn from(role: CheckedRole) -> Role {
        match role {
            CheckedRole::Serve => Role::Serve,
            CheckedRole::Work => Role::Work,
            CheckedRole::All => Role::All,
        }
    }
}

/// Parses a duration such as `3s` or `250ms` on the command line.
pub fn humantime_duration(raw: &str) -> Result<Duration, String> {
    humantime_serde::re::humantime::parse_duration(raw).map_err(|e| e.to_string())
}

/// Runs one production command to completion and says how the process should exit.
pub fn execute(config: Option<&Path>, command: Command) -> ExitCode {
    match command {
        Command::Openapi { external_services } => {
            if external_services {
                println!("{}", external_services_openapi());
            } else {
                print!("{}", openapi());
            }
            return ExitCode::SUCCESS;
        }
        Command::Mapping { command } => return mapping(command),
        Command::Config {
            command: ConfigCommand::Defaults,
        } => {
            print!("{}", crate::config::DEFAULTS);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let settings = match load_settings(config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if let Command::Config {
        command: ConfigCommand::Check { role },
    } = command
    {
        let role = match role {
            Some(role) => role.into(),
            None if settings.salesforce.client_configured() => Role::All,
            None => {
                println!(
                    "note: no Salesforce client is configured, so this checks `serve` only; use --role work to check a worker"
                );
                Role::Serve
            }
        };
        return config_check(&settings, role);
    }
    block_on(async move {
        match command {
            Command::Serve | Command::Work | Command::All => {
                let role = match command {
                    Command::Serve => Role::Serve,
                    Command::Work => Role::Work,
                    _ => Role::All,
                };
                crate::telemetry::init(&settings.telemetry);
                run(settings, role).await.map_err(boxed)
            }
            Command::Healthcheck { url, timeout } => {
                let url = url.unwrap_or_else(|| {
                    format!("http://127.0.0.1:{}/health/ready", settings.http.port)
                });
                healthcheck(&url, timeout).await.map_err(boxed)
            }
            Command::Dlq { events, command } => {
                crate::telemetry::init_for_command(&settings.telemetry);
                ops::dlq(&settings, events, command).await.map_err(boxed)
            }
            Command::Backfill {
                select,
                link_from,
                ace_pages,
                dry_run,
            } => {
                crate::telemetry::init_for_command(&settings.telemetry);
                let options = crate::ops::backfill::Options {
                    link_from,
                    ace_pages,
                    dry_run,
                };
                ops::backfill(&settings, select, options).await
            }
            Command::Reconcile { select, report } => {
                crate::telemetry::init_for_command(&settings.telemetry);
                ops::reconcile(&settings, select, report).await
            }
            Command::Openapi { .. } | Command::Config { .. } | Command::Mapping { .. } => Ok(()),
        }
    })
}

/// `ace-sync config check`: every problem start would refuse for `role` (the settings were
/// loaded already), then the settings still at their demo defaults.
fn config_check(settings: &Settings, role: Role) -> ExitCode {
    let mut problems = settings.safety_problems(role.serves(), role.works(), role == Role::All);
    problems.extend(settings.runtime_problems(role.works(), role.serves()));
    let mut warnings = settings.demo_defaults(role.works(), role.serves());
    if settings.queue.changes_queue_url.is_none() {
        warnings.push(crate::config::DemoDefault {
            key: "queue.changes_queue_url",
            message: "is unset: the embedded in-memory queue is not durable, and `serve` and `work` cannot share it".to_owned(),
        });
    }
    for warning in &warnings {
        println!("warning: `{}` {}", warning.key, warning.message);
    }
    if problems.is_empty() {
        println!("configuration is valid");
        ExitCode::SUCCESS
    } else {
        eprintln!("ace-sync: {}", crate::config::ConfigError::many(problems));
        ExitCode::from(2)
    }
}

/// The settings (embedded defaults, then `config`, then the environment), or the exit code
/// after saying what is wrong with them.
pub fn load_settings(config: Option<&Path>) -> Result<Settings, ExitCode> {
    Settings::load(config).map_err(|e| {
        eprintln!("ace-sync: {e}");
        ExitCode::from(2)
    })
}

/// Type-erases a command's error for [`block_on`].
pub fn boxed<E: std::error::Error + 'static>(e: E) -> Box<dyn std::error::Error> {
    Box::new(e)
}

/// Runs a command on a fresh multi-threaded runtime; an error is printed with its causes.
pub fn block_on<F>(command: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ace-sync: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ace-sync: {}", crate::telemetry::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// The mapping subcommands need no settings: they read the file they are given.
fn mapping(command: MappingCommand) -> ExitCode {
    match command {
        MappingCommand::Defaults => {
            print!("{}", crate::ace::mapping::DEFAULT_MAPPING);
            ExitCode::SUCCESS
        }
        MappingCommand::Check { file } => match crate::ace::mapping::check_file(&file) {
            Ok(problems) if problems.is_empty() => {
                println!("{}: the mapping is valid", file.display());
                ExitCode::SUCCESS
            }
            Ok(problems) => {
                eprintln!("{}: {} problem(s)", file.display(), problems.len());
                for problem in &problems {
                    eprintln!("  - {problem}");
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("ace-sync: {}", crate::telemetry::error_chain(&e));
                ExitCode::FAILURE
            }
        },
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("the HTTP server failed")]
    Server(#[source] std::io::Error),
    #[error("{url} answered {status}")]
    Unhealthy { url: String, status: u16 },
    #[error("{0}")]
    Usage(String),
    #[error("the queue failed")]
    Queue(#[source] crate::ports::queue::QueueError),
    #[error("the replay stopped")]
    Replay(#[source] crate::ops::dlq::ReplayError),
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// `ace-sync serve` / `work` / `all`: the role, until SIGTERM or Ctrl-C.
pub async fn run(settings: Settings, role: Role) -> Result<(), CommandError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    for warning in settings.demo_defaults(role.works(), role.serves()) {
        tracing::warn!(
            key = warning.key,
            "setting at its demo default: `{}` {}",
            warning.key,
            warning.message
        );
    }
    let app = Application::build_role(settings, role).await?;
    app.run_until_stopped(shutdown)
        .await
        .map_err(CommandError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

/// `ace-sync openapi`: the OpenAPI document, as committed in `openapi.yaml`.
pub fn openapi() -> String {
    crate::ingress::openapi::yaml()
}

/// `ace-sync openapi --external-services`: the document Salesforce registers, pretty JSON.
pub fn external_services_openapi() -> String {
    // Pretty-printing a JSON value cannot fail.
    serde_json::to_string_pretty(&crate::api::spec::external_services()).unwrap_or_default()
}

/// `ace-sync healthcheck`: succeeds when `url` answers 2xx within `timeout`. Container
/// health checks use it, so the image needs no curl.
pub async fn healthcheck(url: &str, timeout: Duration) -> Result<(), CommandError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(CommandError::Unhealthy {
            url: url.to_owned(),
            status: response.status().as_u16(),
        })
    }
}
