//! The `ace-sync` binary: parses the command line, loads settings, starts telemetry and hands
//! over to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync::startup::Role;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ace-sync",
    version,
    about = "Keeps Salesforce opportunities and AWS Partner Central (ACE) in sync."
)]
struct Cli {
    /// A TOML file overriding the embedded defaults (see `ace-sync config defaults`).
    #[arg(long, global = true, env = "ACE_SYNC_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show ace-sync at work on embedded defaults: no AWS account or Salesforce org needed.
    Demo,
    /// Run the ingress: the HTTP endpoint Salesforce outbound messages are sent to.
    Serve,
    /// Run the workers: opportunity changes to ACE, and ACE's events back to Salesforce.
    Work,
    /// Run the ingress and the workers in one process (needed for the embedded in-memory queue).
    All,
    /// Print the OpenAPI document of the HTTP API (YAML).
    Openapi,
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
    /// Run a local simulator of a service ace-sync talks to, for trying a mapping or a client.
    Sandbox {
        #[command(subcommand)]
        service: SandboxCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MappingCommand {
    /// Print the embedded default mapping, with its documentation.
    Defaults,
    /// Check a mapping file against AWS's service model; exits 1 with the problems listed.
    Check {
        /// The mapping file (TOML).
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// A local AWS Partner Central Selling API; point an SDK at it with its endpoint URL.
    PartnerCentral {
        #[arg(long, default_value_t = 8787)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// How long each step of the simulated AWS review takes (Submitted → In review →
        /// decision); "0s" decides at once.
        #[arg(long, default_value = "5s", value_parser = humantime_duration)]
        review_delay: Duration,
        /// Deliver EventBridge-shaped events to this SQS queue.
        #[arg(long)]
        events_queue_url: Option<String>,
        /// The SQS endpoint of that queue, e.g. a local SQS-compatible server.
        #[arg(long)]
        sqs_endpoint_url: Option<String>,
        /// Do not enforce the documented request quotas.
        #[arg(long)]
        no_quotas: bool,
    },
    /// A simulated Salesforce org: JWT bearer login, REST API, outbound messages.
    Salesforce {
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 8081)]
        port: u16,
        /// Send an outbound message here when a rep changes an opportunity's stage, e.g.
        /// http://127.0.0.1:8080/salesforce/outbound-message
        #[arg(long)]
        outbound_endpoint: Option<url::Url>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the embedded defaults, with their documentation.
    Defaults,
    /// Load the configuration (defaults, file, environment) and report any problem.
    Check,
}

/// The mapping subcommands need no settings: they read the file they are given.
fn mapping(command: MappingCommand) -> ExitCode {
    match command {
        MappingCommand::Defaults => {
            print!("{}", ace_sync::ace::mapping::DEFAULT_MAPPING);
            ExitCode::SUCCESS
        }
        MappingCommand::Check { file } => match ace_sync::ace::mapping::check_file(&file) {
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
                eprintln!("ace-sync: {}", ace_sync::telemetry::error_chain(&e));
                ExitCode::FAILURE
            }
        },
    }
}

fn humantime_duration(raw: &str) -> Result<Duration, String> {
    humantime_serde::re::humantime::parse_duration(raw).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            print!("{}", ace_sync::cli::openapi());
            return ExitCode::SUCCESS;
        }
        Command::Mapping { command } => return mapping(command),
        Command::Config {
            command: ConfigCommand::Defaults,
        } => {
            print!("{}", ace_sync::config::DEFAULTS);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("ace-sync: {e}");
            return ExitCode::from(2);
        }
    };
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo => {
                let mut quiet = settings.telemetry.clone();
                quiet.filter = "error".into();
                ace_sync::telemetry::init(&quiet);
                ace_sync::demo::run(&settings, std::io::stdout())
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            }
            Command::Serve | Command::Work | Command::All => {
                let role = match cli.command {
                    Command::Serve => Role::Serve,
                    Command::Work => Role::Work,
                    _ => Role::All,
                };
                ace_sync::telemetry::init(&settings.telemetry);
                ace_sync::cli::run(settings, role)
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            }
            Command::Healthcheck { url, timeout } => {
                let url = url.unwrap_or_else(|| {
                    format!("http://127.0.0.1:{}/health/ready", settings.http.port)
                });
                ace_sync::cli::healthcheck(&url, timeout)
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            }
            Command::Sandbox {
                service:
                    SandboxCommand::Salesforce {
                        port,
                        outbound_endpoint,
                    },
            } => {
                ace_sync::telemetry::init(&settings.telemetry);
                ace_sync::cli::sandbox_salesforce(port, outbound_endpoint)
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            }
            Command::Config {
                command: ConfigCommand::Check,
            } => {
                println!("configuration is valid");
                Ok(())
            }
            Command::Sandbox {
                service:
                    SandboxCommand::PartnerCentral {
                        port,
                        host,
                        review_delay,
                        events_queue_url,
                        sqs_endpoint_url,
                        no_quotas,
                    },
            } => {
                ace_sync::telemetry::init(&settings.telemetry);
                let options = ace_sync::cli::PartnerCentralSandbox {
                    port,
                    host,
                    review_delay,
                    events_queue_url,
                    sqs_endpoint_url,
                    quotas: !no_quotas,
                };
                ace_sync::cli::sandbox_partner_central(options)
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            }
            Command::Openapi | Command::Config { .. } | Command::Mapping { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ace-sync: {}", ace_sync::telemetry::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
