//! The chaos run (issue 10, "Measure and report"): the whole system as processes, with every
//! fault the design claims to survive, then a count of what was lost, duplicated or left wrong.
//!
//! What runs: SQS on rustack, the fast local server, when it is present (`RUSTACK`, or
//! `../shared/tools/rustack/rustack`; no dead-letter queues there), moto's otherwise (from
//! `.venv`, which `scripts/test` installs), behind a TCP proxy this harness can cut (the SQS
//! outage); the Salesforce and Partner Central simulators in this process; one `ace-sync serve`
//! and `--workers` (2) `ace-sync work` processes (release builds), each worker sweeping every
//! 30 s (moto, one Python thread, saturates when sweeps come more often or with three workers).
//! ACE's write quota is raised to 1000/s, as in the e2e bench.
//!
//! For `--seconds` (90) of chaos, reps move `--opportunities` (200) opportunities to the creation
//! stage, edit their next step with and without a stage change (an edit without one sends no
//! outbound message: only the sweep finds it) and move every other one to the submission stage;
//! AWS reviews what is submitted. Meanwhile, every `--fault-every` (3 s) one fault, chosen at
//! random:
//! - an ACE 5xx storm or throttling storm on one operation (the next 20–60 calls fail);
//! - Salesforce: every session expired (401 `INVALID_SESSION_ID`), or the next 20 writes
//!   refused with `UNABLE_TO_LOCK_ROW`;
//! - an SQS outage of 3–8 s (every connection to SQS refused or cut);
//! - a worker killed with SIGKILL, restarted 1–3 s later;
//!
//! and 30% of ACE's events are lost on the way to the events queue throughout.
//!
//! Then the faults stop (and AWS finishes the reviews), and the harness waits until both sides
//! agree with the truth, the reps' last values: one ACE opportunity per record, its id on the
//! record, ACE's stage and next steps as the record says, the review status on the record as
//! ACE says. It prints how long that took and, at the end, the changes lost, the duplicate ACE
//! opportunities and the records whose final state differs, each with the goal 0.
//!
//! `cargo bench -p ace-sync --bench chaos` (options after `--`: `--opportunities N`,
//! `--seconds S`, `--workers W`, `--fault-every S`, `--seed N`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ace_sync_sandbox::partner_central::{self as pc, Fault, SimConfig as PcConfig, SqsEventSink};
use ace_sync_sandbox::salesforce::{
    NotificationState, OutboundConfig, SalesforceSim, SimConfig as SfConfig,
};
use ace_sync_sandbox::testkit::sqs;
use ace_sync_sandbox::testkit::sqs_server::SqsServer;
use url::Url;

#[path = "chaos/faults.rs"]
mod faults;
#[allow(dead_code)]
#[path = "../api/helpers/fixtures.rs"]
mod fixtures;
#[path = "chaos/truth.rs"]
mod truth;

use faults::{LossyBus, Proxy, Workers, log};
use truth::{Truth, ace_of, differences, save};

const CONVERGENCE_DEADLINE: Duration = Duration::from_secs(600);

/// When a rep saves, which record, and the fields they change.
type RepEdit = (Duration, String, Vec<(&'static str, String)>);

struct Args {
    opportunities: usize,
    seconds: u64,
    workers: usize,
    fault_every: f64,
    seed: u64,
}

fn args() -> Option<Args> {
    let mut args = Args {
        opportunities: 200,
        seconds: 90,
        workers: 2,
        fault_every: 3.0,
        seed: 7,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--opportunities" => args.opportunities = it.next()?.parse().ok()?,
            "--seconds" => args.seconds = it.next()?.parse().ok()?,
            "--workers" => args.workers = it.next()?.parse().ok()?,
            "--fault-every" => args.fault_every = it.next()?.parse().ok()?,
            "--seed" => args.seed = it.next()?.parse().ok()?,
            _ => {}
        }
    }
    bench.then_some(args)
}

fn main() {
    let Some(args) = args() else {
        println!("chaos: run with `cargo bench -p ace-sync --bench chaos`");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    fastrand::seed(args.seed);
    let logs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chaos");
    let _ = std::fs::remove_dir_all(&logs);
    println!("the processes' logs: {}", logs.display());
    let server = SqsServer::start().await;
    let direct = sqs::client(&server.endpoint());
    let proxy = Proxy::start(server.port()).await;
    let changes = server.fifo(&direct, "chaos-changes", 5).await;
    let events = server.fifo(&direct, "chaos-events", 5).await;

    let loss_percent = Arc::new(AtomicU32::new(0));
    let lost_events = Arc::new(AtomicU64::new(0));
    let pc = pc::start(PcConfig {
        tasks: pc::TaskTiming::After(Duration::from_millis(300)),
        event_sinks: vec![Arc::new(LossyBus {
            // EventBridge → SQS is inside AWS: not behind the outage.
            inner: SqsEventSink::new(direct.clone(), events.clone()),
            loss_percent: loss_percent.clone(),
            lost: lost_events.clone(),
        })],
        ..PcConfig::for_tests()
    })
    .await
    .expect("Partner Central simulator");

    let ids = fixtures::opportunity_ids(args.opportunities);
    let common: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("ACE_SYNC_QUEUE__ENDPOINT_URL", proxy.endpoint()),
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", changes.clone()),
        ("ACE_SYNC_QUEUE__EVENTS_QUEUE_URL", events.clone()),
        ("ACE_SYNC_TELEMETRY__FILTER", "warn".to_owned()),
        (
            "ACE_SYNC_SALESFORCE__ORG_IDS",
            format!("[\"{}\"]", fixtures::seed(Vec::new()).org_id),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let ingress_port = sqs::free_port();
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .arg("serve")
        .envs(common.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("ACE_SYNC_HTTP__PORT", ingress_port.to_string())
        .stdin(Stdio::null())
        .stdout(log("serve"))
        .stderr(log("serve"))
        .kill_on_drop(true)
        .spawn()
        .expect("start ace-sync serve");
    let ingress = format!("http://127.0.0.1:{ingress_port}");
    until("the ingress is ready", Duration::from_secs(30), || async {
        reqwest::get(format!("{ingress}/health/ready"))
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;

    let seed = fixtures::seed(
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                fixtures::complete_opportunity(id, &format!("Acme - Project {i}"), "Prospecting")
            })
            .collect(),
    );
    let mut sf_config = SfConfig::new(seed);
    sf_config.daily_api_limit = u64::MAX;
    let mut outbound =
        OutboundConfig::new(Url::parse(&format!("{ingress}/salesforce/outbound-message")).unwrap());
    outbound.retry_base = Duration::from_millis(200);
    outbound.retry_cap = Duration::from_secs(2);
    sf_config.outbound = Some(outbound);
    let sf = SalesforceSim::start(sf_config)
        .await
        .expect("Salesforce simulator");

    let mut worker_env = common.clone();
    worker_env.extend(
        [
            ("ACE_SYNC_ACE__ENDPOINT_URL", pc.endpoint_url().to_owned()),
            ("ACE_SYNC_ACE__WRITES_PER_SECOND", "1000.0".to_owned()),
            ("ACE_SYNC_ACE__WRITE_BURST", "100".to_owned()),
            ("ACE_SYNC_ACE__CALL_TIMEOUT", "2s".to_owned()),
            ("ACE_SYNC_ACE__MAX_ATTEMPTS", "2".to_owned()),
            ("ACE_SYNC_ACE__RETRY_BASE_DELAY", "50ms".to_owned()),
            ("ACE_SYNC_SALESFORCE__REQUEST_TIMEOUT", "2s".to_owned()),
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
            // A killed worker's messages come back after this.
            ("ACE_SYNC_WORKER__VISIBILITY_TIMEOUT", "45s".to_owned()),
            ("ACE_SYNC_WORKER__WAIT", "1s".to_owned()),
            ("ACE_SYNC_WORKER__RETRY_BASE", "500ms".to_owned()),
            ("ACE_SYNC_WORKER__RETRY_CAP", "5s".to_owned()),
            ("ACE_SYNC_WORKER__SWEEP__INTERVAL", "30s".to_owned()),
            ("ACE_SYNC_WORKER__SWEEP__LOOKBACK", "1h".to_owned()),
            ("ACE_SYNC_WORKER__SWEEP__WAITING_EVERY", "3".to_owned()),
            (
                "ACE_SYNC_WORKER__SWEEP__MAX_RECORDS",
                (args.opportunities * 2).to_string(),
            ),
            ("ACE_SYNC_WORKER__SWEEP__MAX_ACE_PAGES", "20".to_owned()),
            // The simulator's read quota is not AWS's.
            (
                "ACE_SYNC_WORKER__SWEEP__ACE_READS_PER_DAY",
                "1000000000".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let mut workers = Workers {
        children: (0..args.workers)
            .map(|_| Some(Workers::spawn(&worker_env)))
            .collect(),
        env: worker_env,
        kills: 0,
    };
    println!(
        "chaos run on {}'s SQS: {} opportunities, {} s of faults (one every {:.1} s), {} worker processes, seed {}",
        server.name(),
        args.opportunities,
        args.seconds,
        args.fault_every,
        args.workers,
        args.seed
    );

    // The reps' script: every opportunity to the creation stage, a next step with a stage
    // change, one without (no outbound message), every other one to submission.
    let mut truth: BTreeMap<String, Truth> = ids
        .iter()
        .map(|id| {
            (
                id.clone(),
                Truth {
                    stage: "Prospecting".to_owned(),
                    next_step: None,
                },
            )
        })
        .collect();
    let mut script: Vec<RepEdit> = Vec::new();
    let span = args.seconds as f64 * 0.8;
    for (i, id) in ids.iter().enumerate() {
        let at = |f: f64| Duration::from_secs_f64(fastrand::f64() * span * f);
        let first = at(0.4);
        script.push((
            first,
            id.clone(),
            vec![("StageName", "Qualification".into())],
        ));
        let second = first + at(0.3);
        if i % 2 == 0 {
            script.push((
                second,
                id.clone(),
                vec![
                    ("StageName", "Needs Analysis".into()),
                    ("NextStep", format!("Workshop {i}")),
                ],
            ));
        } else {
            script.push((second, id.clone(), vec![("NextStep", format!("Call {i}"))]));
        }
        // A silent edit: no stage change, so no outbound message.
        script.push((
            second + at(0.3),
            id.clone(),
            vec![("NextStep", format!("Sizing {i}"))],
        ));
    }
    script.sort_by_key(|(at, ..)| *at);

    loss_percent.store(30, Ordering::SeqCst);
    let started = Instant::now();
    let mut next_fault = Duration::from_secs_f64(args.fault_every);
    let mut next_review = Duration::from_secs(10);
    let mut restart_at: Option<Duration> = None;
    let mut outage_until: Option<Duration> = None;
    let mut faults: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut edits = 0usize;
    let mut steps = script.into_iter().peekable();
    let chaos = Duration::from_secs(args.seconds);
    while started.elapsed() < chaos {
        let now = started.elapsed();
        while steps.peek().is_some_and(|(at, ..)| *at <= now) {
            let (_, id, changes) = steps.next().unwrap();
            // A row lock or a validation rule can refuse a rep's save too; the rep saves again.
            if (0..5).any(|_| save(&sf, &mut truth, &id, &changes)) {
                edits += 1;
            }
        }
        if outage_until.is_some_and(|t| now >= t) {
            proxy.set_up(true);
            outage_until = None;
        }
        if restart_at.is_some_and(|t| now >= t) {
            workers.restart_dead();
            restart_at = None;
        }
        workers.assert_alive();
        if now >= next_review {
            pc.control().complete_reviews();
            next_review += Duration::from_secs(10);
        }
        if now >= next_fault {
            next_fault += Duration::from_secs_f64(args.fault_every);
            let ops = [
                "CreateOpportunity",
                "UpdateOpportunity",
                "GetOpportunity",
                "AssociateOpportunity",
                "StartEngagementFromOpportunityTask",
                "ListEngagementFromOpportunityTasks",
                "ListOpportunities",
            ];
            let op = ops[fastrand::usize(..ops.len())];
            match fastrand::u32(0..6) {
                0 => {
                    pc.control()
                        .inject_fault(op, Fault::InternalServer, fastrand::u32(20..60));
                    *faults.entry("ACE 5xx storm").or_default() += 1;
                }
                1 => {
                    pc.control()
                        .inject_fault(op, Fault::Throttling, fastrand::u32(20..60));
                    *faults.entry("ACE throttling storm").or_default() += 1;
                }
                2 => {
                    sf.expire_all_sessions();
                    *faults
                        .entry("Salesforce 401 (sessions expired)")
                        .or_default() += 1;
                }
                3 => {
                    sf.set_faults(|f| f.lock_failures = 20);
                    *faults
                        .entry("Salesforce UNABLE_TO_LOCK_ROW ×20")
                        .or_default() += 1;
                }
                4 if outage_until.is_none() => {
                    proxy.set_up(false);
                    outage_until = Some(now + Duration::from_secs(fastrand::u64(3..=8)));
                    *faults.entry("SQS outage").or_default() += 1;
                }
                _ => {
                    let i = fastrand::usize(..workers.children.len());
                    workers.kill(i).await;
                    restart_at = Some(now + Duration::from_millis(fastrand::u64(1000..3000)));
                    *faults.entry("worker SIGKILL").or_default() += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Whatever the script had left, then the faults stop.
    sf.set_faults(|f| f.lock_failures = 0);
    for (_, id, changes) in steps {
        if save(&sf, &mut truth, &id, &changes) {
            edits += 1;
        }
    }
    pc.control().clear_faults();
    sf.set_faults(|f| f.lock_failures = 0);
    proxy.set_up(true);
    loss_percent.store(0, Ordering::SeqCst);
    workers.restart_dead();
    pc.control().complete_reviews();
    let stopped = Instant::now();
    println!(
        "faults stopped after {:.0} s: {} rep edits; {} of ACE's events lost; faults: {}",
        started.elapsed().as_secs_f64(),
        edits,
        lost_events.load(Ordering::SeqCst),
        faults
            .iter()
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Convergence: both sides agree with the truth.
    let mut converged_after = None;
    let mut last = Vec::new();
    let mut next_progress = Duration::from_secs(30);
    while stopped.elapsed() < CONVERGENCE_DEADLINE {
        // Reviews of what was submitted since end; their events are delivered now.
        pc.control().complete_reviews();
        last = differences(&sf, &pc, &truth);
        if last.is_empty() {
            converged_after = Some(stopped.elapsed());
            break;
        }
        if stopped.elapsed() >= next_progress {
            println!(
                "  {:.0} s after: {} record(s) still differ",
                stopped.elapsed().as_secs_f64(),
                last.len()
            );
            next_progress += Duration::from_secs(30);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let duplicates = ids.iter().filter(|id| ace_of(&pc, id).len() > 1).count();
    let lost = last.iter().filter(|d| d.lost_change).count();
    let dropped_notifications = sf
        .notifications()
        .iter()
        .filter(|n| n.state == NotificationState::Dropped)
        .count();
    match converged_after {
        Some(after) => println!(
            "converged {:.1} s after the faults stopped",
            after.as_secs_f64()
        ),
        None => println!(
            "NOT converged {} s after the faults stopped; {} record(s) differ, e.g.:",
            CONVERGENCE_DEADLINE.as_secs(),
            last.len()
        ),
    }
    for difference in last.iter().take(10) {
        println!("  {}: {}", difference.record, difference.what);
    }
    println!("changes lost (a rep's last value not in ACE): {lost}   (goal 0)");
    println!("duplicate ACE opportunities: {duplicates}   (goal 0)");
    println!(
        "records whose final state differs from the truth on either side: {}   (goal 0)",
        last.len()
    );
    println!(
        "worker processes killed with SIGKILL: {}; outbound notifications Salesforce dropped: {dropped_notifications}",
        workers.kills
    );
    for child in workers.children.iter_mut().flatten() {
        let _ = child.kill().await;
    }
    let _ = serve.kill().await;
    pc.stop().await;
    sf.stop().await;
    drop(server);
}

async fn until<F, Fut>(what: &str, timeout: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
