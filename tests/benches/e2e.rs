//! End-to-end figures of the sync loop (issue 5, "Measure and report"): not a test and not a
//! criterion bench, a harness that builds the whole system, drives it the way production is
//! driven (a rep's stage change in the Salesforce simulator) and prints what it measured.
//!
//! What runs: moto's SQS server (from the test tools' virtualenv, `.venv` or `TEST_VENV`, which
//! `scripts/test` installs), the Salesforce and Partner Central simulators in this process, and
//! the release builds of `ace-sync serve` (the ingress) and `ace-sync work` (the workers) as
//! processes of their own, on moto's SQS — the production shape, so the worker's memory is its
//! own. Partner Central's write quota (1 write per second per account) is raised to 1000/s with
//! a burst of 100 for this run, and the simulator enforces no quotas: at AWS's quota, 200
//! submissions (five writes each) would take over 16 minutes by quota alone.
//!
//! 1. Latency over `--opportunities` (200) opportunities moved to the submission stage (create,
//!    associate, submit, write back), paced at `--rate` (10/s) and then all at once: from the
//!    outbound message POST (the simulator's delivery log) to CreateOpportunity at ACE (the
//!    simulator's call log), and to the write-back of the ACE id (the PATCH in the Salesforce
//!    simulator's request log); all three on this process's monotonic clock.
//! 2. ACE write calls per CRM change: 50 opportunities × 5 edits (a stage change that creates,
//!    a mapped field, two fields ACE does not get, the submission stage), with a Flow that fires
//!    on every one of those fields and on ace-sync's own, for every user, so each write-back
//!    echoes back as one more outbound message for the fingerprint guard to absorb.
//! 3. Memory: VmHWM (peak) and VmRSS of the `ace-sync work` process after each run.
//!
//! `cargo bench -p ace-sync --bench e2e` (options after `--`: `--opportunities N`, `--rate R`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ace_sync::domain::ids::SfUserId;
use ace_sync::domain::sobject::FieldValue;
use ace_sync_sandbox::partner_central::{
    self as pc, SimConfig as PcConfig, SimHandle, SqsEventSink,
};
use ace_sync_sandbox::salesforce::{
    DeliveryOutcome, NotificationState, OutboundConfig, SalesforceSim, SimConfig as SfConfig,
};
use url::Url;

#[allow(dead_code)]
#[path = "../api/helpers/fixtures.rs"]
mod fixtures;

use ace_sync_sandbox::testkit::sqs;

const DEADLINE: Duration = Duration::from_secs(600);

/// The Partner Central operations that read (each counts against ACE's read quota).
const ACE_READS: &[&str] = &[
    "GetOpportunity",
    "ListOpportunities",
    "GetAwsOpportunitySummary",
    "ListEngagementFromOpportunityTasks",
    "ListEngagementByAcceptingInvitationTasks",
    "ListEngagementInvitations",
    "GetEngagementInvitation",
];

/// The Partner Central operations that write.
const ACE_WRITES: &[&str] = &[
    "CreateOpportunity",
    "UpdateOpportunity",
    "AssociateOpportunity",
    "DisassociateOpportunity",
    "StartEngagementFromOpportunityTask",
    "SubmitOpportunity",
];

struct Args {
    opportunities: usize,
    rate: f64,
}

fn args() -> Option<Args> {
    let mut args = Args {
        opportunities: 200,
        rate: 10.0,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--opportunities" => args.opportunities = it.next()?.parse().ok()?,
            "--rate" => args.rate = it.next()?.parse().ok()?,
            _ => {}
        }
    }
    bench.then_some(args)
}

fn main() {
    let Some(args) = args() else {
        // `cargo test --benches` runs bench targets without `--bench`: nothing to check here.
        println!("e2e: run with `cargo bench -p ace-sync --bench e2e`");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let moto = sqs::MotoProcess::start(sqs::free_port()).await;
    let endpoint = moto.endpoint();
    println!(
        "ace-sync end to end: moto SQS, both simulators, `ace-sync serve` and `ace-sync work` \
         (release) as processes; ACE write quota raised to 1000/s, burst 100"
    );

    let paced = latency(&endpoint, args.opportunities, Some(args.rate)).await;
    paced.print(&format!(
        "{} opportunities, one stage change every {:.0} ms",
        args.opportunities,
        1000.0 / args.rate
    ));
    let burst = latency(&endpoint, args.opportunities, None).await;
    burst.print(&format!(
        "{} opportunities, all stage changes at once",
        args.opportunities
    ));
    writes_per_change(&endpoint, 50).await;
    moto.stop();
}

/// Everything a run needs: queues, simulators and the two ace-sync processes.
struct World {
    sqs: aws_sdk_sqs::Client,
    changes: sqs::FifoQueue,
    events: sqs::FifoQueue,
    sf: SalesforceSim,
    pc: SimHandle,
    serve: tokio::process::Child,
    work: tokio::process::Child,
    /// The worker's health and metrics port.
    work_port: u16,
}

impl World {
    async fn start(
        endpoint: &str,
        ids: &[String],
        flow: impl FnOnce(&mut OutboundConfig),
    ) -> World {
        let client = sqs::client(endpoint);
        let changes = sqs::fifo_queue(&client, "bench-changes", 5).await;
        let events = sqs::fifo_queue(&client, "bench-events", 5).await;
        let common = [
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("ACE_SYNC_QUEUE__ENDPOINT_URL", endpoint.to_owned()),
            ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", changes.url.clone()),
            ("ACE_SYNC_QUEUE__EVENTS_QUEUE_URL", events.url.clone()),
            ("ACE_SYNC_TELEMETRY__FILTER", "warn".to_owned()),
            (
                "ACE_SYNC_SALESFORCE__ORG_IDS",
                format!("[\"{}\"]", fixtures::seed(Vec::new()).org_id),
            ),
        ];

        let port = sqs::free_port();
        let serve = spawn(
            "serve",
            &common,
            &[("ACE_SYNC_HTTP__PORT", port.to_string())],
        );
        let ingress = format!("http://127.0.0.1:{port}");
        wait_until("the ingress is ready", || async {
            reqwest::get(format!("{ingress}/health/ready"))
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;

        let pc_config = PcConfig {
            event_sinks: vec![Arc::new(SqsEventSink::new(
                client.clone(),
                events.url.clone(),
            ))],
            ..PcConfig::for_tests()
        };
        let pc = pc::start(pc_config)
            .await
            .expect("Partner Central simulator");

        let seed = fixtures::seed(
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    fixtures::complete_opportunity(
                        id,
                        &format!("Acme - Project {i}"),
                        "Prospecting",
                    )
                })
                .collect(),
        );
        let mut sf_config = SfConfig::new(seed);
        sf_config.daily_api_limit = u64::MAX;
        let mut outbound = OutboundConfig::new(
            Url::parse(&format!("{ingress}/salesforce/outbound-message")).unwrap(),
        );
        outbound.retry_base = Duration::from_millis(50);
        outbound.retry_cap = Duration::from_secs(1);
        flow(&mut outbound);
        sf_config.outbound = Some(outbound);
        let sf = SalesforceSim::start(sf_config)
            .await
            .expect("Salesforce simulator");

        let work_port = sqs::free_port();
        let work = spawn(
            "work",
            &common,
            &[
                // It serves health and metrics; the reconcile counts are read from there.
                ("ACE_SYNC_HTTP__PORT", work_port.to_string()),
                ("ACE_SYNC_ACE__ENDPOINT_URL", pc.endpoint_url().to_owned()),
                ("ACE_SYNC_ACE__WRITES_PER_SECOND", "1000.0".to_owned()),
                ("ACE_SYNC_ACE__WRITE_BURST", "100".to_owned()),
                ("ACE_SYNC_SALESFORCE__LOGIN_URL", sf.base_url().to_string()),
                (
                    "ACE_SYNC_SALESFORCE__CONSUMER_KEY",
                    sf.consumer_key().to_owned(),
                ),
                ("ACE_SYNC_SALESFORCE__USERNAME", sf.username().to_owned()),
                (
                    "ACE_SYNC_SALESFORCE__PRIVATE_KEY_PATH",
                    sf.private_key_path().to_string_lossy().into_owned(),
                ),
            ],
        );
        World {
            sqs: client,
            changes,
            events,
            sf,
            pc,
            serve,
            work,
            work_port,
        }
    }

    /// A rep's change; panics if the simulated org refuses it.
    fn rep_changes(&self, id: &str, changes: &[(&str, Option<FieldValue>)]) {
        self.sf
            .update_as_user(&id.parse().unwrap(), changes)
            .expect("the org takes the change");
    }

    fn field(&self, id: &str, field: &str) -> Option<String> {
        self.sf
            .record(&id.parse().unwrap())
            .and_then(|r| r.fields.get(field).map(FieldValue::to_text))
    }

    fn ace_writes(&self) -> u64 {
        let counts = self.pc.control().call_counts();
        ACE_WRITES.iter().filter_map(|op| counts.get(*op)).sum()
    }

    fn ace_reads(&self) -> u64 {
        let counts = self.pc.control().call_counts();
        ACE_READS.iter().filter_map(|op| counts.get(*op)).sum()
    }

    /// The sum of the worker's metric samples whose line starts with `prefix`.
    async fn metric(&self, prefix: &str) -> u64 {
        let Ok(response) =
            reqwest::get(format!("http://127.0.0.1:{}/metrics", self.work_port)).await
        else {
            return 0;
        };
        let text = response.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// Reconciles the worker has run (every reason).
    async fn reconciles(&self) -> u64 {
        self.metric("ace_sync_reconciles_total{").await
    }

    /// Opportunity events the events worker handled: one GetOpportunity each, to find the
    /// record (outside any reconcile).
    async fn opportunity_events(&self) -> u64 {
        self.metric("ace_sync_ace_events_total{detail_type=\"Opportunity")
            .await
    }

    /// Nothing pending anywhere: every outbound message delivered, both queues empty, every
    /// ACE event published. Checked twice, 200 ms apart, so work in between is noticed.
    async fn idle(&self) -> bool {
        let mut last = None;
        for _ in 0..2 {
            self.pc.control().flush_events().await;
            let notifications = self.sf.notifications();
            let pending = notifications
                .iter()
                .any(|n| n.state == NotificationState::Pending);
            let changes = sqs::counts(&self.sqs, &self.changes.url).await;
            let events = sqs::counts(&self.sqs, &self.events.url).await;
            let now = (notifications.len(), self.ace_writes());
            if pending || changes != (0, 0) || events != (0, 0) || last.is_some_and(|l| l != now) {
                return false;
            }
            last = Some(now);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        true
    }

    /// The worker's peak and current resident memory, in MiB.
    fn worker_memory(&self) -> (f64, f64) {
        let pid = self.work.id().expect("the worker runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (kib("VmHWM:") / 1024.0, kib("VmRSS:") / 1024.0)
    }

    async fn stop(mut self) {
        for child in [&mut self.work, &mut self.serve] {
            let _ = child.kill().await;
        }
        self.pc.stop().await;
        self.sf.stop().await;
    }
}

fn spawn(role: &str, common: &[(&str, String)], extra: &[(&str, String)]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .arg(role)
        .envs(common.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start ace-sync {role}: {e}"))
}

async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}

/// What one latency run measured, in milliseconds.
struct Latency {
    to_create: Vec<f64>,
    to_write_back: Vec<f64>,
    elapsed: Duration,
    writes: u64,
    memory: (f64, f64),
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Latency {
    fn print(&self, title: &str) {
        println!("\n{title}");
        for (name, values) in [
            (
                "outbound message POST → CreateOpportunity at ACE",
                &self.to_create,
            ),
            (
                "outbound message POST → ACE id written back to Salesforce",
                &self.to_write_back,
            ),
        ] {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            println!(
                "  {name:<58} p50 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms",
                percentile(&sorted, 50.0),
                percentile(&sorted, 99.0),
                sorted.last().copied().unwrap_or(f64::NAN)
            );
        }
        let n = self.to_create.len();
        println!(
            "  {n} synced in {:.1} s ({:.1}/s); {} ACE writes ({:.1} per opportunity)",
            self.elapsed.as_secs_f64(),
            n as f64 / self.elapsed.as_secs_f64(),
            self.writes,
            self.writes as f64 / n as f64
        );
        println!(
            "  ace-sync work: VmHWM {:.1} MiB, VmRSS {:.1} MiB",
            self.memory.0, self.memory.1
        );
    }
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}

/// Moves `n` opportunities to the submission stage, paced at `rate` per second (all at once
/// when `None`), and measures each one's way through.
async fn latency(endpoint: &str, n: usize, rate: Option<f64>) -> Latency {
    let ids = fixtures::opportunity_ids(n);
    let world = World::start(endpoint, &ids, |_| {}).await;
    let started = Instant::now();
    let mut next = tokio::time::Instant::now();
    for id in &ids {
        if let Some(rate) = rate {
            tokio::time::sleep_until(next).await;
            next += Duration::from_secs_f64(1.0 / rate);
        }
        world.rep_changes(id, &[("StageName", text("Needs Analysis"))]);
    }
    wait_until("every opportunity has its ACE id", || async {
        ids.iter()
            .all(|id| world.field(id, "ACE_Opportunity_Id__c").is_some())
    })
    .await;
    let elapsed = started.elapsed();

    // When each record's notification was POSTed, ACE created its opportunity, and the ACE id
    // was written back.
    let record_of: BTreeMap<String, String> = world
        .sf
        .notifications()
        .into_iter()
        .map(|n| (n.id.to_string(), n.record_id.to_string()))
        .collect();
    let mut posted: BTreeMap<String, Instant> = BTreeMap::new();
    for delivery in world.sf.deliveries() {
        if delivery.outcome != DeliveryOutcome::Acked {
            continue;
        }
        for notification in &delivery.notifications {
            if let Some(record) = record_of.get(notification.as_str()) {
                posted
                    .entry(record.clone())
                    .or_insert(delivery.sent_at.into_std());
            }
        }
    }
    let record_of_ace: BTreeMap<String, String> = world
        .pc
        .control()
        .opportunities()
        .into_iter()
        .filter_map(|o| {
            Some((
                o["Id"].as_str()?.to_owned(),
                o["PartnerOpportunityIdentifier"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut created: BTreeMap<String, Instant> = BTreeMap::new();
    for call in world.pc.control().call_log() {
        if call.operation != "CreateOpportunity" || call.error.is_some() {
            continue;
        }
        if let Some(record) = call
            .resource_id
            .as_ref()
            .and_then(|id| record_of_ace.get(id))
        {
            created.entry(record.clone()).or_insert(call.at.into_std());
        }
    }
    let mut written: BTreeMap<String, Instant> = BTreeMap::new();
    for request in world.sf.requests() {
        if request.method != "PATCH" || !(200..300).contains(&request.status) {
            continue;
        }
        if let Some(record) = ids.iter().find(|id| request.path.ends_with(id.as_str())) {
            written
                .entry(record.clone())
                .or_insert(request.at.into_std());
        }
    }
    let mut to_create = Vec::new();
    let mut to_write_back = Vec::new();
    for id in &ids {
        let (Some(t0), Some(t1), Some(t2)) = (posted.get(id), created.get(id), written.get(id))
        else {
            panic!(
                "{id}: missing a timestamp (posted {posted:?})",
                posted = posted.get(id)
            );
        };
        to_create.push(ms(*t0, *t1));
        to_write_back.push(ms(*t0, *t2));
    }
    let result = Latency {
        to_create,
        to_write_back,
        elapsed,
        writes: world.ace_writes(),
        memory: world.worker_memory(),
    };
    world.stop().await;
    result
}

/// 50 opportunities × 5 edits, in rounds (each round waits until everything is idle).
async fn writes_per_change(endpoint: &str, n: usize) {
    let ids = fixtures::opportunity_ids(n);
    let world = World::start(endpoint, &ids, |flow| {
        // A Flow that fires on the edits below and on ace-sync's own fields, for every user:
        // each write-back echoes back as an outbound message (the naive Flow the README warns
        // about), and only the reconciler's comparison of both sides keeps that from reaching
        // ACE.
        flow.trigger_fields = [
            "StageName",
            "NextStep",
            "Description",
            "LeadSource",
            "ACE_Opportunity_Id__c",
            "ACE_Sync_Status__c",
            "ACE_Last_Synced__c",
        ]
        .map(str::to_owned)
        .to_vec();
        flow.excluded_user = Some(SfUserId::parse("0055g00000NoOne").expect("a user id"));
    })
    .await;
    type Edit = (&'static str, &'static [(&'static str, &'static str)]);
    let rounds: [Edit; 5] = [
        (
            "stage → Qualification (create)",
            &[("StageName", "Qualification")],
        ),
        (
            "NextStep (mapped)",
            &[("NextStep", "Workshop with Acme's data team")],
        ),
        (
            "Description (not sent to ACE)",
            &[("Description", "Notes from the discovery call")],
        ),
        (
            "stage → Needs Analysis (submit)",
            &[("StageName", "Needs Analysis")],
        ),
        (
            "LeadSource (not sent to ACE)",
            &[("LeadSource", "Partner Referral")],
        ),
    ];
    println!(
        "\nACE calls per CRM change: {n} opportunities × {} edits; the Flow fires on StageName, NextStep, Description, LeadSource and ace-sync's own fields, for every user (so write-backs echo)",
        rounds.len()
    );
    let (mut total_writes, mut total_messages) = (0u64, 0usize);
    let (mut total_reads, mut total_reconciles) = (0u64, 0u64);
    for (name, edit) in rounds {
        let writes_before = world.ace_writes();
        let reads_before = world.ace_reads();
        let reconciles_before = world.reconciles().await;
        let events_before = world.opportunity_events().await;
        let messages_before = world.sf.notifications().len();
        for id in &ids {
            let changes: Vec<(&str, Option<FieldValue>)> =
                edit.iter().map(|(f, v)| (*f, text(v))).collect();
            world.rep_changes(id, &changes);
        }
        wait_until("the round is processed", || world.idle()).await;
        let writes = world.ace_writes() - writes_before;
        // The events worker's lookups are not the reconciles'.
        let reads = (world.ace_reads() - reads_before)
            .saturating_sub(world.opportunity_events().await - events_before);
        let reconciles = world.reconciles().await - reconciles_before;
        let messages = world.sf.notifications().len() - messages_before;
        total_writes += writes;
        total_reads += reads;
        total_reconciles += reconciles;
        total_messages += messages;
        println!(
            "  {name:<34} {writes:>4} ACE writes ({:.2} per change), {reads:>4} reads; {reconciles} reconciles ({:.2} reads, {:.2} writes each); {messages} outbound messages incl. echoes",
            writes as f64 / n as f64,
            reads as f64 / reconciles.max(1) as f64,
            writes as f64 / reconciles.max(1) as f64,
        );
    }
    println!(
        "  all rounds: {total_reads} ACE reads in {total_reconciles} reconciles = {:.2} reads per reconcile (the events worker's one GetOpportunity per event not counted)",
        total_reads as f64 / total_reconciles.max(1) as f64
    );
    let changes = n * rounds.len();
    println!(
        "  total: {total_writes} ACE writes for {changes} CRM changes = {:.2} per change ({total_messages} outbound messages processed, {:.2} writes per message)",
        total_writes as f64 / changes as f64,
        total_writes as f64 / total_messages as f64
    );
    let synced = ids
        .iter()
        .filter(|id| world.field(id, "ACE_Review_Status__c").as_deref() == Some("Submitted"))
        .count();
    println!(
        "  {synced}/{n} submitted; ACE opportunities: {}",
        world.pc.control().opportunities().len()
    );
    let memory = world.worker_memory();
    println!(
        "  ace-sync work: VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        memory.0, memory.1
    );
    world.stop().await;
}
