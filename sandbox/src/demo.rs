//! `ace-sync demo`: the service's main job on embedded defaults, on a machine with nothing
//! else — no AWS account, no Salesforce org, no network.
//!
//! It starts a simulated Salesforce org (seeded, its outbound-message rule pointed at the
//! ingress), a simulated Partner Central whose AWS reviews decide on their own after short
//! delays, and ace-sync itself (ingress and workers, `Role::All`) on in-memory queues — or on
//! SQS when `queue.changes_queue_url` / `queue.events_queue_url` are configured. Then a rep
//! moves opportunities through their stages, the way a rep would, and the demo prints each
//! opportunity's timeline as the simulators saw it ([`timeline`]), checks where each one
//! ended, and fails naming the ones that did not end where they should.
//!
//! Every wait polls state against a deadline; nothing sleeps for a fixed time.

mod timeline;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::partner_central::{
    self as pc, JobQueueEventSink, QuotaConfig, ReviewConfig, ReviewTiming,
};
use crate::salesforce::{
    self as sf, NotificationState, OutboundConfig, SalesforceSim, Seed, SeedRecord,
};
use ace_sync::config::{ConfigError, Settings};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue};
use ace_sync::startup::{Application, Dependencies, QueueHandle, Role, StartupError};
use ace_sync::worker::reconcile::fields;
use timeline::{Actor, Entry};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The simulated AWS review: `Submitted → In review` after the first delay, the decision
    /// after the second.
    pub in_review_after: Duration,
    pub decision_after: Duration,
    /// The longest any one step may take before the demo calls it failed.
    pub step_deadline: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            in_review_after: Duration::from_millis(300),
            decision_after: Duration::from_millis(600),
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
        let outcome = match scenario.story {
            Story::Approved => approved(&mut run).await,
            Story::FindingsThenFixed => findings_then_fixed(&mut run).await,
            Story::RejectedThenResubmitted => rejected_then_resubmitted(&mut run).await,
            Story::Won => won(&mut run).await,
        };
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
                "  Partner Central  simulated ACE (Sandbox catalog) at {}; AWS reviews take {} + {}",
                self.pc.endpoint_url(),
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

/// One opportunity's story.
struct Scenario {
    number: usize,
    name: &'static str,
    title: &'static str,
    record: &'static str,
    story: Story,
}

/// Which of the stories below a scenario tells.
#[derive(Debug, Clone, Copy)]
enum Story {
    Approved,
    FindingsThenFixed,
    RejectedThenResubmitted,
    Won,
}

impl Scenario {
    fn record(&self) -> SfRecordId {
        id(self.record)
    }
}

/// What a scenario reports: how it ended, or what went wrong.
type Outcome = Result<String, String>;

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            number: 1,
            name: "Acme - Data Platform Migration",
            title: "synced, submitted and approved",
            record: APPROVED,
            story: Story::Approved,
        },
        Scenario {
            number: 2,
            name: "Globex - Analytics Pilot",
            title: "pre-flight findings written back, fixed by the rep, then synced",
            record: FINDINGS,
            story: Story::FindingsThenFixed,
        },
        Scenario {
            number: 3,
            name: "Acme - Cloud Move",
            title: "rejected by AWS, fixed by the rep and resubmitted",
            record: REJECTED,
            story: Story::RejectedThenResubmitted,
        },
        Scenario {
            number: 4,
            name: "Globex - Contact Center",
            title: "approved, then Closed Won → Launched in ACE",
            record: WON,
            story: Story::Won,
        },
    ]
}

/// One scenario in progress: the rep's actions and the waits.
struct Run<'a> {
    demo: &'a Demo,
    record: SfRecordId,
    started: Instant,
    rep: Vec<Entry>,
}

impl Run<'_> {
    fn sf(&self) -> &SalesforceSim {
        &self.demo.sf
    }

    /// A field of the record, as text.
    fn field(&self, name: &str) -> Option<String> {
        field(self.sf(), &self.record, name)
    }

    /// Outbound messages about this record Salesforce has had acknowledged.
    fn delivered(&self) -> usize {
        delivered(self.sf(), &self.record)
    }

    /// The rep changes the record, as in Salesforce's UI; waits until the outbound message
    /// it fires has been acknowledged by the ingress.
    async fn rep_changes(
        &mut self,
        what: impl Into<String>,
        changes: &[(&str, Option<FieldValue>)],
    ) -> Result<(), String> {
        let before = self.delivered();
        let at = Instant::now();
        self.sf()
            .update_as_user(&self.record, changes)
            .map_err(|e| {
                format!(
                    "Salesforce refused the rep's change: {} {}",
                    e.code, e.message
                )
            })?;
        self.rep.push(Entry::new(at, Actor::Rep, what));
        let record = self.record.clone();
        self.wait("the outbound message to be acknowledged", move |sf| {
            delivered(sf, &record) > before
        })
        .await
    }

    /// Waits for `done`, at most one step's deadline.
    async fn wait(&self, what: &str, done: impl Fn(&SalesforceSim) -> bool) -> Result<(), String> {
        let deadline = self.demo.config.step_deadline;
        if self.sf().wait_until(deadline, done).await {
            Ok(())
        } else {
            Err(format!(
                "waited {} for {what}; the record shows {}",
                timeline::duration(deadline),
                self.state()
            ))
        }
    }

    /// Waits until the record's fields hold `expected`.
    async fn wait_fields(&self, what: &str, expected: &[(&str, &str)]) -> Result<(), String> {
        let record = self.record.clone();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.wait(what, move |sf| {
            expected
                .iter()
                .all(|(k, v)| field(sf, &record, k).as_deref() == Some(v.as_str()))
        })
        .await
    }

    /// The sync fields, for a failure message.
    fn state(&self) -> String {
        [
            fields::ACE_ID,
            fields::REVIEW_STATUS,
            fields::SYNC_STATUS,
            fields::FINDINGS,
        ]
        .iter()
        .map(|f| {
            format!(
                "{f} = {}",
                self.field(f)
                    .map(|v| format!("{:?}", timeline::cut(&v, 80)))
                    .unwrap_or_else(|| "empty".to_owned())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// The ACE opportunities created for this record.
    fn ace_opportunities(&self) -> Vec<serde_json::Value> {
        self.demo
            .pc
            .control()
            .opportunities()
            .into_iter()
            .filter(|o| o["PartnerOpportunityIdentifier"] == self.record.as_str())
            .collect()
    }

    /// ACE's review status of `ace_id`.
    fn ace_review(&self, ace_id: &str) -> Option<String> {
        self.demo.pc.control().review_status(ace_id)
    }

    /// The record names ACE opportunity `ace_id`, which ACE has approved, and says so.
    fn check_approved(&self) -> Result<String, String> {
        let ace_id = self
            .field(fields::ACE_ID)
            .ok_or_else(|| "the record has no ACE opportunity id".to_owned())?;
        expect(
            "ACE's review status",
            self.ace_review(&ace_id).as_deref(),
            "Approved",
        )?;
        expect(
            fields::REVIEW_STATUS,
            self.field(fields::REVIEW_STATUS).as_deref(),
            "Approved",
        )?;
        expect(
            fields::SYNC_STATUS,
            self.field(fields::SYNC_STATUS).as_deref(),
            "Synced",
        )?;
        let team = self.field(fields::AWS_TEAM).unwrap_or_default();
        if team.trim().is_empty() {
            return Err("the AWS team was not written back".to_owned());
        }
        Ok(ace_id)
    }
}

fn expect(what: &str, found: Option<&str>, wanted: &str) -> Result<(), String> {
    if found == Some(wanted) {
        Ok(())
    } else {
        Err(format!(
            "expected {what} {wanted:?}, found {}",
            found.map_or("nothing".to_owned(), |f| format!("{f:?}"))
        ))
    }
}

fn field(sf: &SalesforceSim, record: &SfRecordId, name: &str) -> Option<String> {
    sf.record(record)
        .and_then(|r| r.fields.get(name).map(FieldValue::to_text))
        .filter(|v| !v.is_empty())
}

fn delivered(sf: &SalesforceSim, record: &SfRecordId) -> usize {
    sf.notifications()
        .iter()
        .filter(|n| &n.record_id == record && n.state == NotificationState::Delivered)
        .count()
}

fn stage(to: &str) -> [(&'static str, Option<FieldValue>); 1] {
    [("StageName", text(to))]
}

/// Scenario 1: a stage change → created and submitted → In review → Approved, AWS team
/// written back.
async fn approved(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    let record = run.record.clone();
    run.wait("the ACE id to be written back", move |sf| {
        field(sf, &record, fields::ACE_ID).is_some()
    })
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    let created = run.ace_opportunities().len();
    if created != 1 {
        return Err(format!("{created} ACE opportunities for one record"));
    }
    Ok(format!(
        "Approved in ACE as {ace_id}; the record is Synced and shows the AWS team"
    ))
}

/// Scenario 2: pre-flight findings written back with no ACE call; the rep fixes them;
/// synced and approved.
async fn findings_then_fixed(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "the pre-flight findings to be written back",
        &[(fields::SYNC_STATUS, "Needs attention")],
    )
    .await?;
    let findings = run.field(fields::FINDINGS).unwrap_or_default();
    for named in ["Use Cases", "Close Date"] {
        if !findings.contains(named) {
            return Err(format!("the findings do not name {named}: {findings:?}"));
        }
    }
    if !run.ace_opportunities().is_empty() {
        return Err("ACE was called although the pre-flight check failed".to_owned());
    }
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(60);
    run.rep_changes(
        "fixes the findings: sets Use Cases and a Close Date in the future",
        &[
            (
                "Use_Cases__c",
                Some(multi(&[
                    "Big Data: Data Warehouse/Data Integration/ETL/Data Lake/BI",
                ])),
            ),
            ("CloseDate", Some(FieldValue::Date(close))),
        ],
    )
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    if let Some(left) = run.field(fields::FINDINGS) {
        return Err(format!("findings left on the record: {left:?}"));
    }
    Ok(format!(
        "findings written back without an ACE call; after the fix, Approved as {ace_id} and Synced"
    ))
}

/// Scenario 3: AWS rejects a generic business problem; the rep rewrites it; ace-sync
/// resubmits it as a new ACE opportunity, which AWS approves.
async fn rejected_then_resubmitted(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "AWS's rejection to be written back",
        &[
            (fields::REVIEW_STATUS, "Rejected"),
            (fields::SYNC_STATUS, "Needs attention"),
        ],
    )
    .await?;
    let rejected = run
        .field(fields::ACE_ID)
        .ok_or_else(|| "the record has no ACE opportunity id".to_owned())?;
    let findings = run.field(fields::FINDINGS).unwrap_or_default();
    if !findings.contains("AWS rejected") {
        return Err(format!(
            "the rejection is not explained on the record: {findings:?}"
        ));
    }
    run.rep_changes(
        "rewrites the business problem with the customer's specifics",
        &[("ACE_Business_Problem__c", text(SPECIFIC_PROBLEM))],
    )
    .await?;
    let record = run.record.clone();
    let first = rejected.clone();
    run.wait(
        "the new ACE opportunity's id to be written back",
        move |sf| field(sf, &record, fields::ACE_ID).is_some_and(|id| id != first),
    )
    .await?;
    run.wait_fields(
        "AWS's approval of the resubmission to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let resubmitted = run.check_approved()?;
    expect(
        "the first ACE opportunity's review status",
        run.ace_review(&rejected).as_deref(),
        "Rejected",
    )?;
    let previous = run.field(fields::PREVIOUS_IDS).unwrap_or_default();
    if !previous.split(';').any(|p| p == rejected) {
        return Err(format!(
            "{} does not name the rejected {rejected}: {previous:?}",
            fields::PREVIOUS_IDS
        ));
    }
    Ok(format!(
        "{rejected} Rejected; resubmitted as {resubmitted} (previous ids: {previous}), Approved and Synced"
    ))
}

/// Scenario 4: approved, then won: Closed Won → Launched in ACE.
async fn won(run: &mut Run<'_>) -> Outcome {
    run.rep_changes(
        "moves the stage Qualification → Needs Analysis",
        &stage("Needs Analysis"),
    )
    .await?;
    run.wait_fields(
        "AWS's approval to be written back",
        &[
            (fields::REVIEW_STATUS, "Approved"),
            (fields::SYNC_STATUS, "Synced"),
        ],
    )
    .await?;
    let ace_id = run.check_approved()?;
    run.rep_changes("closes the deal: stage → Closed Won", &stage("Closed Won"))
        .await?;
    run.wait_fields(
        "ACE's Launched stage to be written back",
        &[(fields::STAGE, "Launched"), (fields::SYNC_STATUS, "Synced")],
    )
    .await?;
    let in_ace = run
        .demo
        .pc
        .control()
        .opportunity(&ace_id)
        .and_then(|o| o["LifeCycle"]["Stage"].as_str().map(str::to_owned));
    expect("ACE's stage", in_ace.as_deref(), "Launched")?;
    Ok(format!(
        "Approved as {ace_id}, then Launched in ACE; the record is Synced"
    ))
}

// --- The seeded org ---------------------------------------------------------------------------

const ACME: &str = "0015g00000LmNoPAAV";
const GLOBEX: &str = "0015g00000GlBxRAAV";
const APPROVED: &str = "0065g00000DmoAp";
const FINDINGS: &str = "0065g00000DmoFx";
const REJECTED: &str = "0065g00000DmoRj";
const WON: &str = "0065g00000DmoWn";

const SPECIFIC_PROBLEM: &str = "Acme's two on-premises ERP databases (Oracle 19c, 14 TB) reach end of support in March; month-end close takes four days because reporting queries compete with order entry. They want the databases on Amazon RDS with a read replica for reporting, cutting the close to one day.";

fn id(raw: &str) -> SfRecordId {
    // The literals above are valid ids (`the_seed_is_valid`).
    raw.parse()
        .unwrap_or_else(|_| unreachable!("a valid record id literal"))
}

fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}

fn number(s: &str) -> FieldValue {
    FieldValue::Number(Decimal::parse(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

fn multi(values: &[&str]) -> FieldValue {
    FieldValue::Multi(values.iter().map(|v| (*v).to_owned()).collect())
}

/// An opportunity at Qualification that the default mapping accepts, with `changes` applied
/// (`None` removes a field).
fn opportunity(
    raw_id: &str,
    name: &str,
    account: &str,
    problem: &str,
    changes: &[(&str, Option<FieldValue>)],
) -> SeedRecord {
    let close = OffsetDateTime::now_utc().date() + time::Duration::days(90);
    let mut fields: BTreeMap<String, FieldValue> = [
        ("Name", FieldValue::Text(name.to_owned())),
        ("AccountId", FieldValue::Text(account.to_owned())),
        ("StageName", FieldValue::Text("Qualification".to_owned())),
        ("CloseDate", FieldValue::Date(close)),
        ("Type", FieldValue::Text("New Customer".to_owned())),
        ("Amount", number("250000")),
        (
            "ACE_Business_Problem__c",
            FieldValue::Text(problem.to_owned()),
        ),
        ("ACE_Expected_Monthly_Spend__c", number("12000")),
        ("Use_Cases__c", multi(&["Migration/Database Migration"])),
        ("ACE_Delivery_Models__c", multi(&["Professional Services"])),
        ("ACE_Sales_Activities__c", multi(&["Conducted POC / Demo"])),
        (
            "ACE_Primary_Needs__c",
            multi(&["Co-Sell - Architectural Validation"]),
        ),
        ("AWS_Products__c", multi(&["AmazonRedshift", "AWSGlue"])),
        (
            "AWS_Field_Contact__c",
            FieldValue::Text("Jane Doe <jane.doe@amazon.com>".to_owned()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in changes {
        match value {
            Some(value) => fields.insert((*name).to_owned(), value.clone()),
            None => fields.remove(*name),
        };
    }
    SeedRecord {
        sobject_type: "Opportunity",
        id: id(raw_id),
        fields,
    }
}

/// The small org's accounts and users, and the demo's four opportunities.
fn seed() -> Seed {
    let mut seed = Seed::small();
    seed.records.retain(|r| r.sobject_type == "Account");
    let past = OffsetDateTime::now_utc().date() - time::Duration::days(10);
    seed.records.extend([
        opportunity(
            APPROVED,
            "Acme - Data Platform Migration",
            ACME,
            "Acme's on-premises data warehouse misses its nightly load window twice a week, delaying the reports plant managers need at 7 am; they want Amazon Redshift with AWS Glue pipelines to cut the load to under an hour.",
            &[],
        ),
        opportunity(
            FINDINGS,
            "Globex - Analytics Pilot",
            GLOBEX,
            "Globex's sales analysts wait a day for each ad-hoc query on the 40 TB order history; they want a pilot of Amazon Redshift Serverless with AWS Glue so queries finish within minutes.",
            // The rep skipped the use case and left an old close date.
            &[
                ("Use_Cases__c", None),
                ("CloseDate", Some(FieldValue::Date(past))),
            ],
        ),
        opportunity(
            REJECTED,
            "Acme - Cloud Move",
            ACME,
            // Long enough for ACE, too generic for AWS's reviewers.
            "Customer wants to migrate to AWS for cost optimization.",
            &[("AWS_Products__c", Some(multi(&["AmazonRDSforOracle"])))],
        ),
        opportunity(
            WON,
            "Globex - Contact Center",
            GLOBEX,
            "Globex's support line drops one call in five at peak because its on-premises contact center cannot add agents quickly; they want Amazon Connect with Contact Lens so seasonal agents work from home within a day.",
            &[
                ("Use_Cases__c", Some(multi(&["Business Applications & Contact Center"]))),
                ("AWS_Products__c", Some(multi(&["AmazonConnectVoice"]))),
            ],
        ),
    ]);
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_valid() {
        for raw in [ACME, GLOBEX, APPROVED, FINDINGS, REJECTED, WON] {
            let parsed: SfRecordId = raw.parse().expect("a valid id");
            assert!(parsed.as_str().starts_with(raw));
        }
        let seed = seed();
        let opportunities: Vec<_> = seed
            .records
            .iter()
            .filter(|r| r.sobject_type == "Opportunity")
            .collect();
        assert_eq!(opportunities.len(), scenarios().len());
        for scenario in scenarios() {
            let record = opportunities
                .iter()
                .find(|r| r.id == scenario.record())
                .expect("each scenario's record is seeded");
            assert_eq!(
                record.fields["Name"],
                FieldValue::Text(scenario.name.to_owned()),
                "the timeline's heading names the record as Salesforce does"
            );
        }
    }
}
