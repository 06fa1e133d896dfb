//! The development binary's own commands: `demo` and `sandbox …`, beside every production
//! command (`ace_sync::cli::Command`), which it runs exactly as `ace-sync` does.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use ace_sync::cli::{block_on, boxed, humantime_duration};
use tokio_util::sync::CancellationToken;

/// `ace-sync-dev`'s commands.
#[derive(Debug, clap::Subcommand)]
pub enum DevCommand {
    /// Show ace-sync at work on embedded defaults: no AWS account or Salesforce org needed.
    Demo,
    /// Run a local simulator of a service ace-sync talks to, for trying a mapping or a client.
    Sandbox {
        #[command(subcommand)]
        service: SandboxCommand,
    },
    #[command(flatten)]
    Product(ace_sync::cli::Command),
}

#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
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
        /// How long StartEngagementFromOpportunityTask and
        /// StartEngagementByAcceptingInvitationTask tasks take: the call answers IN_PROGRESS
        /// and the task completes (or fails) this much later, as AWS's do. "0s" ends them
        /// within the call, which answers COMPLETE or FAILED at once.
        #[arg(long, default_value = "0s", value_parser = humantime_duration)]
        task_delay: Duration,
        /// How long AWS's referrals (POST /__sim/aws-referrals) wait for an answer before
        /// they expire, unless the referral says.
        #[arg(long, default_value = "15d", value_parser = humantime_duration)]
        invitation_expiry: Duration,
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

/// Runs one command to completion and says how the process should exit.
pub fn execute(config: Option<&Path>, command: DevCommand) -> ExitCode {
    let command = match command {
        DevCommand::Product(command) => return ace_sync::cli::execute(config, command),
        other => other,
    };
    let settings = match ace_sync::cli::load_settings(config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    block_on(async move {
        match command {
            DevCommand::Demo => {
                let mut quiet = settings.telemetry.clone();
                quiet.filter = "error".into();
                ace_sync::telemetry::init(&quiet);
                crate::demo::run(&settings, std::io::stdout())
                    .await
                    .map_err(boxed)
            }
            DevCommand::Sandbox {
                service:
                    SandboxCommand::Salesforce {
                        port,
                        outbound_endpoint,
                    },
            } => {
                ace_sync::telemetry::init(&settings.telemetry);
                sandbox_salesforce(port, outbound_endpoint)
                    .await
                    .map_err(boxed)
            }
            DevCommand::Sandbox {
                service:
                    SandboxCommand::PartnerCentral {
                        port,
                        host,
                        review_delay,
                        task_delay,
                        invitation_expiry,
                        events_queue_url,
                        sqs_endpoint_url,
                        no_quotas,
                    },
            } => {
                ace_sync::telemetry::init(&settings.telemetry);
                let options = PartnerCentralSandbox {
                    port,
                    host,
                    review_delay,
                    task_delay,
                    invitation_expiry,
                    events_queue_url,
                    sqs_endpoint_url,
                    quotas: !no_quotas,
                };
                sandbox_partner_central(options).await.map_err(boxed)
            }
            DevCommand::Product(_) => Ok(()),
        }
    })
}

/// `ace-sync-dev sandbox salesforce`: the simulated org, until SIGTERM or Ctrl-C.
pub async fn sandbox_salesforce(
    port: u16,
    outbound_endpoint: Option<url::Url>,
) -> Result<(), crate::salesforce::SimError> {
    let shutdown = CancellationToken::new();
    ace_sync::shutdown::cancel_on_signal(shutdown.clone());
    crate::salesforce::run_standalone(port, outbound_endpoint, shutdown).await
}

/// What `ace-sync-dev sandbox partner-central` was asked for.
#[derive(Debug, Clone)]
pub struct PartnerCentralSandbox {
    pub port: u16,
    pub host: std::net::IpAddr,
    /// How long each step of the simulated review takes.
    pub review_delay: Duration,
    /// How long Start…Task tasks take; zero ends them within the call.
    pub task_delay: Duration,
    /// How long AWS's referrals wait for an answer before they expire.
    pub invitation_expiry: Duration,
    /// Deliver EventBridge-shaped events to this SQS queue.
    pub events_queue_url: Option<String>,
    /// The SQS endpoint of that queue.
    pub sqs_endpoint_url: Option<String>,
    /// Enforce the documented request quotas.
    pub quotas: bool,
}

/// `ace-sync-dev sandbox partner-central`: the Partner Central simulator on its own, until
/// SIGTERM or Ctrl-C.
pub async fn sandbox_partner_central(
    options: PartnerCentralSandbox,
) -> Result<(), crate::partner_central::SimError> {
    use crate::partner_central as pc;
    let mut config = pc::SimConfig {
        host: options.host,
        invitation_expiry: options.invitation_expiry,
        ..pc::SimConfig::default()
    };
    config.review.timing = pc::ReviewTiming::Automatic {
        in_review_after: options.review_delay,
        decision_after: options.review_delay,
    };
    config.tasks = if options.task_delay.is_zero() {
        pc::TaskTiming::Immediate
    } else {
        pc::TaskTiming::After(options.task_delay)
    };
    if !options.quotas {
        config.quotas = pc::QuotaConfig::unlimited();
    }
    if let Some(url) = options.events_queue_url {
        let sink =
            pc::sqs_event_sink(&url, &config.region, options.sqs_endpoint_url.as_deref()).await;
        config.event_sinks.push(std::sync::Arc::new(sink));
    }
    let shutdown = CancellationToken::new();
    ace_sync::shutdown::cancel_on_signal(shutdown.clone());
    pc::run_standalone(options.port, config, shutdown).await
}
