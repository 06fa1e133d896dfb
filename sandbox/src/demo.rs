//! `ace-sync demo`: the service's main job on embedded defaults, on a machine with nothing
//! else — no AWS account, no Salesforce org, no network.
//!
//! It starts a simulated Salesforce org (seeded, its outbound-message rule pointed at the
//! ingress), a simulated Partner Central whose AWS reviews decide on their own after short
//! delays, and ace-sync itself (ingress and workers, `Role::All`) on in-memory queues — or on
//! SQS when `queue.changes_queue_url` / `queue.events_queue_url` are configured. Then a rep
//! moves opportunities through their stages, the way a rep would, and the demo prints each
//! opportunity's timeline as the simulators saw it (`timeline`), checks where each one
//! ended, and fails naming the ones that did not end where they should.
//!
//! Every wait polls state against a deadline; nothing sleeps for a fixed time.

mod scenarios;
mod seed;
mod timeline;

use std::fmt;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::partner_central::{
    self as pc, JobQueueEventSink, QuotaConfig, ReviewConfig, ReviewTiming,
};
use crate::salesforce::{self as sf, OutboundConfig, SalesforceSim};
use ace_sync::config::{ConfigError, Settings};
use ace_sync::startup::{Application, Dependencies, QueueHandle, Role, StartupError};
use scenarios::{Run, scenarios};
use seed::seed;

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The simulated AWS review: `Submitted → In review` after the first delay, the decision
    /// after the second.
    pub in_review_after: Duration,
    pub decision_after: Duration,
    /// How long AWS's submission (and acceptance) tasks take to end.
    pub task_delay: Duration,
    /// The longest any one step may take before the demo calls it failed.
    pub step_deadline: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            in_review_after: Duration::from_millis(300),
            decision_after: Duration::from_millis(600),
            task_delay: Duration::from_millis(800),
            step_deadline: Duration::from_secs(10),
        }
    }
}

/// An opportunity that did not end where it should.
#[derive(Debug, Clone)]
pub struct ScenarioFailure {
    pub number: usize,
    /// The opportunity's name.
    pub name: &'static str,
    pub problem: String,
}

impl fmt::Display for ScenarioFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}. {}: {}", self.number, self.name, self.problem)
    }
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the embedded demo settings are invalid")]
    Settings(#[source] ConfigError),
    #[error("cannot listen for the ingress")]
    Listen(#[source] std::io::Error),
    #[error("the Salesforce simulator did not start")]
    Salesforce(#[source] sf::SimError),
    #[error("the Partner Central simulator did not start")]
    PartnerCentral(#[source] pc::SimError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("cannot write the demo's output")]
    Output(#[source] std::io::Error),
    #[error("{} of {total} opportunities did not end where they should (their timelines above say where they stopped): {}", failures.len(), list(failures))]
    Failed {
        failures: Vec<ScenarioFailure>,
        total: usize,
    },
    /// A bug of the simulator, not of ace-sync: the run proves nothing.
    #[error("the Partner Central simulator's answers broke their operations' output shapes: {}", violations.join("; "))]
    SimulatorAnswers { violations: Vec<String> },
}

fn list(failures: &[ScenarioFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{}. {}", f.number, f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the demo with the default timings; `settings` may name SQS queues to use.
pub async fn run(settings: &Settings, out: impl Write) -> Result<(), DemoError> {
    run_with(settings, &DemoConfig::default(), out).await
}

/// Runs the demo, printing to `out` as it goes.
pub async fn run_with(
    settings: &Settings,
    config: &DemoConfig,
    mut out: impl Write,
) -> Result<(), DemoError> {
    let demo = Demo::start(settings, config).await?;
    let started = Instant::now();
    let mut say = |line: &str| writeln!(out, "{line}").map_err(DemoError::Output);
    for line in demo.banner() {
        say(&line)?;
    }

    let mut failures = Vec::new();
    let scenarios = scenarios();
    for scenario in &scenarios {
        say("")?;
        say(&format!(
            "{}. {} ({}): {}",
            scenario.number,
            scenario.name,
            scenario.record(),
            scenario.title
        ))?;
        let mut run = Run {
            demo: &demo,
            record: scenario.record(),
            started: Instant::now(),
            rep: Vec::new(),
        };
        let outcome = scenario.story.tell(&mut run).await;
        let finished = Instant::now();
        let entries = timeline::gather(
            &demo.sf,
            demo.pc.control(),
            &run.record,
            &run.rep,
            run.started,
            finished,
        );
        for line in timeline::render(&entries, run.started) {
            say(&line)?;
        }
        let took = timeline::duration(finished.duration_since(run.started));
        match outcome {
            Ok(summary) => say(&format!("  ✓ {summary} ({took})"))?,
            Err(problem) => {
                say(&format!("  ✗ {problem}"))?;
                failures.push(ScenarioFailure {
                    number: scenario.number,
                    name: scenario.name,
                    problem,
                });
            }
        }
    }

    let violations = demo.pc.control().output_violations();
    demo.stop().await;
    say("")?;
    let took = timeline::duration(started.elapsed());
    if !failures.is_empty() {
        say(&format!(
            "{} of {} opportunities did not end where they should ({took}).",
            failures.len(),
            scenarios.len()
        ))?;
        return Err(DemoError::Failed {
            failures,
            total: scenarios.len(),
        });
    }
    if !violations.is_empty() {
        return Err(DemoError::SimulatorAnswers { violations });
    }
    say(&format!(
        "All {} opportunities ended where they should ({took}).",
        scenarios.len()
    ))?;
    Ok(())
}

/// The running world: both simulators and ace-sync.
struct Demo {
    sf: SalesforceSim,
    pc: pc::SimHandle,
    ingress: String,
    queues: String,
    /// The changes and events queues the workers read.
    work_queues: Vec<QueueHandle>,
    config: DemoConfig,
    shutdown: CancellationToken,
    app: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Demo {
    async fn start(user: &Settings, config: &DemoConfig) -> Result<Demo, DemoError> {
        // Partner Central's events go where the workers read them: the configured SQS queue,
        // or an in-memory one.
        let (events, event_sink): (Option<QueueHandle>, Arc<dyn pc::EventSink>) =
            match &user.queue.events_queue_url {
                Some(url) => (
                    None,
                    Arc::new(
                        pc::sqs_event_sink(
                            url.as_str(),
                            &user.queue.region,
                            user.queue.endpoint_url.as_ref().map(Url::as_str),
                        )
                        .await,
                    ),
                ),
                None => {
                    let queue = QueueHandle::memory(&user.queue, "ace-sync-demo-events");
                    (
                        Some(QueueHandle::Memory(queue.clone())),
                        Arc::new(JobQueueEventSink::new(Arc::new(queue))),
                    )
                }
            };
        let queues = match (&user.queue.changes_queue_url, &user.queue.events_queue_url) {
            (None, None) => "in-memory (fine for a demo, not durable)".to_owned(),
            (changes, events) => format!(
                "changes on {}, events on {}",
                changes.as_ref().map_or("in-memory", Url::as_str),
                events.as_ref().map_or("in-memory", Url::as_str)
            ),
        };
        let pc = pc::start(pc::SimConfig {
            // AWS's write quota (1 per second) would make the demo take minutes.
            quotas: QuotaConfig::unlimited(),
            review: ReviewConfig {
                timing: ReviewTiming::Automatic {
                    in_review_after: config.in_review_after,
                    decision_after: config.decision_after,
                },
                ..ReviewConfig::default()
            },
            // AWS runs a submission as a task that ends a moment later; the workers come
            // back for its result.
            tasks: pc::TaskTiming::After(config.task_delay),
            event_sinks: vec![event_sink],
            ..pc::SimConfig::default()
        })
        .await
        .map_err(DemoError::PartnerCentral)?;

        // The ingress's socket first: Salesforce's outbound message is defined with its URL.
        let listener = TcpListener::bind("127.0.0.1:0").map_err(DemoError::Listen)?;
        let port = listener.local_addr().map_err(DemoError::Listen)?.port();
        let ingress = format!("http://127.0.0.1:{port}");
        let endpoint = Url::parse(&format!("{ingress}/salesforce/outbound-message"))
            .unwrap_or_else(|_| unreachable!("a valid URL"));
        let mut outbound = OutboundConfig::new(endpoint);
        // Salesforce retries after 30 s, doubling; the demo cannot wait that long.
        outbound.retry_base = Duration::from_millis(100);
        outbound.retry_cap = Duration::from_secs(1);
        outbound.send_timeout = Duration::from_secs(10);
        let mut sf_config = sf::SimConfig::new(seed());
        sf_config.outbound = Some(outbound);
        let sf = SalesforceSim::start(sf_config)
            .await
            .map_err(DemoError::Salesforce)?;

        let own = format!(
            "[http]\nhost = \"127.0.0.1\"\nport = 0\nworkers = 1\n\
             [ace]\nendpoint_url = \"{}\"\ncatalog = \"Sandbox\"\nwrites_per_second = 100.0\nwrite_burst = 100\nretry_base_delay = \"50ms\"\n\
             [worker]\nretry_base = \"200ms\"\nretry_cap = \"2s\"\n",
            pc.endpoint_url()
        );
        let sf_settings = sf.settings_toml();
        let mut settings =
            Settings::from_toml_layers(&[&own, &sf_settings]).map_err(DemoError::Settings)?;
        // Only the queues come from the caller's settings (validated when they were loaded).
        settings.queue = user.queue.clone();
        let mut registry = ace_sync::metrics::registry();
        let ace = crate::partner_central::client(&settings, &mut registry).await;
        let app = Application::build_with(
            settings,
            Role::All,
            Dependencies {
                events,
                partner_central: Some(ace),
                listener: Some(listener),
                registry,
                ..Dependencies::default()
            },
        )
        .await?;
        let shutdown = CancellationToken::new();
        let mut work_queues = vec![app.changes_queue().clone()];
        work_queues.extend(app.events_queue().cloned());
        let app = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Demo {
            sf,
            pc,
            ingress,
            queues,
            work_queues,
            config: config.clone(),
            shutdown,
            app,
        })
    }

    fn banner(&self) -> Vec<String> {
        vec![
            "ace-sync demo: Salesforce → ace-sync → ACE and back, all on this machine.".to_owned(),
            format!(
                "  Salesforce       simulated org {} at {} (outbound messages → the ingress)",
                self.sf.org_id(),
                self.sf.base_url().as_str().trim_end_matches('/')
            ),
            format!(
                "  Partner Central  simulated ACE (Sandbox catalog) at {}; a submission task takes {}, AWS reviews {} + {}",
                self.pc.endpoint_url(),
                timeline::duration(self.config.task_delay),
                timeline::duration(self.config.in_review_after),
                timeline::duration(self.config.decision_after)
            ),
            format!(
                "  ace-sync         ingress {} and workers; queues {}",
                self.ingress, self.queues
            ),
            "  Columns: time since the rep's first change, time since the line before, who, what."
                .to_owned(),
        ]
    }

    /// Waits (up to a step's deadline) until Partner Central has delivered its last events and
    /// the workers have finished with everything on their queues, so stopping leaves nothing
    /// half done behind; two quiet looks in a row count as settled.
    async fn settle(&self) {
        let deadline = Instant::now() + self.config.step_deadline;
        let mut quiet = 0;
        while quiet < 2 && Instant::now() < deadline {
            self.pc.control().flush_events().await;
            let mut empty = true;
            for queue in &self.work_queues {
                empty &= matches!(queue.depth().await, Ok(0));
            }
            quiet = if empty { quiet + 1 } else { 0 };
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.settle().await;
        self.shutdown.cancel();
        let _ = self.app.await;
        self.pc.stop().await;
        self.sf.stop().await;
    }
}
