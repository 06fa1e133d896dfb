//! The shared write quota under a Salesforce mass update (issue 11, "Measure and report"): not
//! a test and not a criterion bench, a harness that builds the whole system, drives it the way
//! production is driven and prints what it measured.
//!
//! What runs: SQS on the fast local server `rustack` when it is present (`RUSTACK`, or
//! `../shared/tools/rustack/rustack`), moto's otherwise; DynamoDB on a moto server of its own
//! (the quota table); the Salesforce and Partner Central simulators in this process; and the
//! release builds of `ace-sync serve` and `ace-sync work` as processes, with the bulk queue
//! and the quota table configured.
//!
//! ACE's quota is scaled by `--factor K` (5): the simulator admits K writes per second (a
//! bucket of two, for this machine's jitter) and 10·K reads, and ace-sync is told `writes_per_second = K` and a rolling
//! window of 24 h / K holding `--per-day` (10,000) writes (and a throttle recovery of 5 min / K). Everything quota-bound then runs K
//! times faster than at AWS; the figures are also given in real-quota terms (× K, an upper
//! bound: the queues' and simulators' own latency is not quota-bound and is multiplied too).
//!
//! The run: `--records` (300) opportunities are mass-updated into the creation stage by an
//! admin in batches of 100 (one transaction each, outbound messages as Salesforce sends them),
//! while a rep moves a new opportunity to the submission stage every 10 s of real time (10/K s
//! here). It prints the rep's latency to ACE, the writes made against what the changes need,
//! the peak writes in any rolling window, and the throttles.
//!
//! `cargo bench -p ace-sync --bench quota` (options after `--`: `--records N`, `--factor K`,
//! `--per-day D`, `--reps R`: the rep's submissions, one every 10/K s; `--concurrency C`: the
//! worker's `worker.concurrency`, 10).
//!
//! What does not scale: this machine's own work (the simulators, the queues, the reconciles of
//! ACE's events about every write, which land in the interactive lane) runs at its own speed,
//! so a large K makes the run CPU-bound where AWS's quota would be the bound. Keep K small
//! enough that the worker keeps up (5 on a shared 2-core machine).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ace_sync::domain::sobject::FieldValue;
use ace_sync_sandbox::partner_central::{
    self as pc, QuotaConfig, RateQuota, SimConfig as PcConfig, SqsEventSink,
};
use ace_sync_sandbox::salesforce::{OutboundConfig, SalesforceSim, SimConfig as SfConfig};
use ace_sync_sandbox::testkit::sqs;
use ace_sync_sandbox::testkit::sqs_server::SqsServer;
use url::Url;

#[allow(dead_code)]
#[path = "../api/helpers/fixtures.rs"]
mod fixtures;

#[allow(dead_code)]
#[path = "../api/helpers/dynamodb.rs"]
mod dynamodb;

const WRITES: &[&str] = &[
    "CreateOpportunity",
    "UpdateOpportunity",
    "AssociateOpportunity",
    "DisassociateOpportunity",
    "StartEngagementFromOpportunityTask",
    "SubmitOpportunity",
];

struct Args {
    records: usize,
    factor: f64,
    per_day: u64,
    reps: usize,
    concurrency: usize,
}

fn args() -> Option<Args> {
    let mut args = Args {
        records: 300,
        factor: 5.0,
        per_day: 10_000,
        reps: 100,
        concurrency: 10,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--records" => args.records = it.next()?.parse().ok()?,
            "--factor" => args.factor = it.next()?.parse().ok()?,
            "--per-day" => args.per_day = it.next()?.parse().ok()?,
            "--reps" => args.reps = it.next()?.parse().ok()?,
            "--concurrency" => args.concurrency = it.next()?.parse().ok()?,
            _ => {}
        }
    }
    bench.then_some(args)
}

fn main() {
    let Some(args) = args() else {
        println!("quota: run with `cargo bench -p ace-sync --bench quota`");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

fn spawn(role: &str, env: &[(&str, String)]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .arg(role)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start ace-sync {role}: {e}"))
}

fn text(s: &str) -> Option<FieldValue> {
    Some(FieldValue::Text(s.to_owned()))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(args: Args) {
    let k = args.factor;
    let server = SqsServer::start().await;
    let endpoint = server.endpoint();
    let moto = sqs::MotoProcess::start(sqs::free_port()).await;
    let table = dynamodb::quota_table(&dynamodb::client(&moto.endpoint())).await;
    let client = sqs::client(&endpoint);
    let (changes, bulk, events) = (
        server.fifo(&client, "q-changes", 1000).await,
        server.fifo(&client, "q-bulk", 1000).await,
        server.fifo(&client, "q-events", 1000).await,
    );

    let pc = pc::start(PcConfig {
        quotas: QuotaConfig {
            enabled: true,
            // A bucket of two: this machine's jitter (tens of ms under load) is a small part
            // of a slot at the real quota, but a whole one at K times it.
            write: RateQuota {
                per_second: k,
                burst: 2,
                // The simulator's window is a real 24 h: the scaled window is checked below.
                per_day: u64::MAX / 2,
            },
            // ace-sync does not pace reads (a gap this run reports, not its subject): a bucket
            // of a second's worth keeps them from hiding the write figures.
            read: RateQuota {
                per_second: 10.0 * k,
                burst: (10.0 * k) as u32,
                per_day: u64::MAX / 2,
            },
        },
        event_sinks: vec![Arc::new(SqsEventSink::new(client.clone(), events.clone()))],
        ..PcConfig::for_tests()
    })
    .await
    .expect("Partner Central simulator");

    let reps = args.reps;
    let all = fixtures::opportunity_ids(args.records + reps);
    let (mass, rep_ids) = all.split_at(args.records);
    let seed = fixtures::seed(
        all.iter()
            .enumerate()
            .map(|(i, id)| fixtures::complete_opportunity(id, &format!("Acme {i}"), "Prospecting"))
            .collect(),
    );
    // The ingress first: Salesforce's outbound messages go there.
    let common = vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("ACE_SYNC_QUEUE__ENDPOINT_URL", endpoint.clone()),
        ("ACE_SYNC_QUEUE__CHANGES_QUEUE_URL", changes.clone()),
        ("ACE_SYNC_QUEUE__BULK_QUEUE_URL", bulk.clone()),
        ("ACE_SYNC_QUEUE__EVENTS_QUEUE_URL", events.clone()),
        ("ACE_SYNC_TELEMETRY__FILTER", "error".to_owned()),
        (
            "ACE_SYNC_SALESFORCE__ORG_IDS",
            format!("[\"{}\"]", seed.org_id),
        ),
    ];
    let port = sqs::free_port();
    let mut serve_env = common.clone();
    serve_env.push(("ACE_SYNC_HTTP__PORT", port.to_string()));
    let _serve = spawn("serve", &serve_env);
    let ingress = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{ingress}/health/ready"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the ingress did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut sf_config = SfConfig::new(seed);
    sf_config.daily_api_limit = u64::MAX;
    let mut outbound =
        OutboundConfig::new(Url::parse(&format!("{ingress}/salesforce/outbound-message")).unwrap());
    outbound.retry_base = Duration::from_millis(50);
    outbound.retry_cap = Duration::from_secs(1);
    sf_config.outbound = Some(outbound);
    let sf = Arc::new(SalesforceSim::start(sf_config).await.expect("Salesforce"));

    let window = Duration::from_secs_f64(24.0 * 3600.0 / k);
    let work_port = sqs::free_port();
    let mut work_env = common.clone();
    work_env.extend([
        ("ACE_SYNC_HTTP__PORT", work_port.to_string()),
        ("ACE_SYNC_ACE__ENDPOINT_URL", pc.endpoint_url().to_owned()),
        ("ACE_SYNC_ACE__WRITES_PER_SECOND", k.to_string()),
        ("ACE_SYNC_ACE__WRITE_BURST", "1".to_owned()),
        ("ACE_SYNC_WORKER__CONCURRENCY", args.concurrency.to_string()),
        ("ACE_SYNC_ACE__QUOTA__TABLE", table.clone()),
        ("ACE_SYNC_ACE__QUOTA__ENDPOINT_URL", moto.endpoint()),
        (
            "ACE_SYNC_ACE__QUOTA__WINDOW",
            format!("{}s", window.as_secs()),
        ),
        (
            "ACE_SYNC_ACE__QUOTA__WRITES_PER_DAY",
            args.per_day.to_string(),
        ),
        // The 5 minutes a throttled rate takes to recover, scaled like the rest.
        (
            "ACE_SYNC_ACE__QUOTA__THROTTLE_RECOVERY",
            format!("{}ms", (300_000.0 / k) as u64),
        ),
        (
            "ACE_SYNC_ACE__QUOTA__INTERACTIVE_RESERVE",
            (args.per_day / 5).to_string(),
        ),
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
    ]);
    let _work = spawn("work", &work_env);

    println!(
        "ace-sync under a mass update: {} SQS, moto DynamoDB (quota table), both simulators, \
         `ace-sync serve` and `ace-sync work` (release); ACE quota × {k}: {k} writes/s, \
         {} writes per {:.0} s window ({} kept for interactive work)",
        server.name(),
        args.per_day,
        window.as_secs_f64(),
        args.per_day / 5
    );

    // The simulator keeps its last 10,000 calls: collect them as the run goes.
    let mut calls: BTreeSet<(Instant, String, Option<String>)> = BTreeSet::new();
    let mut throttles: BTreeSet<(Instant, String)> = BTreeSet::new();
    let collect = |calls: &mut BTreeSet<_>, throttles: &mut BTreeSet<_>| {
        for call in pc.control().call_log() {
            let at = call.at.into_std();
            if call.error == Some("ThrottlingException") {
                throttles.insert((at, call.operation.clone()));
            }
            if WRITES.contains(&call.operation.as_str()) && call.error.is_none() {
                calls.insert((at, call.operation.clone(), call.resource_id.clone()));
            }
        }
    };

    let started = Instant::now();
    // The mass update: an admin's Data Loader job, 100 records per transaction.
    let admin = sf.sales_rep_id().clone();
    let mass_update = {
        let (sf, mass, admin) = (sf.clone(), mass.to_vec(), admin.clone());
        tokio::spawn(async move {
            for batch in mass.chunks(100) {
                for id in batch {
                    sf.update_as(
                        &admin,
                        &id.parse().unwrap(),
                        &[("StageName", text("Qualification"))],
                    )
                    .expect("the org takes the change");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // A rep submits a new opportunity every 10 s of real time, until the bulk backlog is done
    // or its share of the day is spent.
    let every = Duration::from_secs_f64(10.0 / k);
    let mut submitted: Vec<(String, Instant)> = Vec::new();
    let mut bulk_done_at = None;
    let run_deadline = started + Duration::from_secs(1800);
    let mut next = tokio::time::Instant::now();
    for id in rep_ids {
        tokio::time::sleep_until(next).await;
        next += every;
        sf.update_as_user(
            &id.parse().unwrap(),
            &[("StageName", text("Needs Analysis"))],
        )
        .expect("the org takes the change");
        submitted.push((id.clone(), Instant::now()));
        let created = mass
            .iter()
            .filter(|id| {
                sf.record(&id.parse().unwrap())
                    .is_some_and(|r| r.fields.contains_key("ACE_Opportunity_Id__c"))
            })
            .count();
        collect(&mut calls, &mut throttles);
        let budget_spent = calls.len() as u64 >= args.per_day * 4 / 5;
        if (created == mass.len() || budget_spent) && mass_update.is_finished() {
            bulk_done_at.get_or_insert(Instant::now());
            break;
        }
        if Instant::now() > run_deadline {
            break;
        }
    }
    // Let the last submissions through.
    let ace_id = |id: &str| {
        sf.record(&id.parse().unwrap()).and_then(|r| {
            r.fields
                .get("ACE_Opportunity_Id__c")
                .map(FieldValue::to_text)
        })
    };
    let settle = Instant::now() + Duration::from_secs(120);
    loop {
        collect(&mut calls, &mut throttles);
        let started_tasks: BTreeSet<String> = calls
            .iter()
            .filter(|(_, op, _)| op == "StartEngagementFromOpportunityTask")
            .filter_map(|(_, _, id)| id.clone())
            .collect();
        let done = submitted
            .iter()
            .all(|(id, _)| ace_id(id).is_some_and(|ace| started_tasks.contains(&ace)));
        if done || Instant::now() > settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    collect(&mut calls, &mut throttles);
    let elapsed = started.elapsed();

    // The rep's latency: the change → StartEngagementFromOpportunityTask at ACE.
    let first_call: BTreeMap<(String, String), Instant> =
        calls
            .iter()
            .fold(BTreeMap::new(), |mut first, (at, op, id)| {
                if let Some(id) = id {
                    first.entry((op.clone(), id.clone())).or_insert(*at);
                }
                first
            });
    let mut to_create = Vec::new();
    let mut to_submit = Vec::new();
    for (id, at) in &submitted {
        let Some(ace) = ace_id(id) else { continue };
        if let Some(t) = first_call.get(&("CreateOpportunity".to_owned(), ace.clone())) {
            to_create.push(t.saturating_duration_since(*at).as_secs_f64());
        }
        if let Some(t) = first_call.get(&("StartEngagementFromOpportunityTask".to_owned(), ace)) {
            to_submit.push(t.saturating_duration_since(*at).as_secs_f64());
        }
    }
    println!(
        "\n{} records mass-updated, {} rep submissions, {:.1} s (bulk {})",
        mass.len(),
        submitted.len(),
        elapsed.as_secs_f64(),
        match bulk_done_at {
            Some(at) => format!("done or stopped at {:.1} s", (at - started).as_secs_f64()),
            None => "not done".to_owned(),
        }
    );
    for (name, values) in [
        ("rep's change → CreateOpportunity at ACE", &mut to_create),
        (
            "rep's change → StartEngagementFromOpportunityTask",
            &mut to_submit,
        ),
    ] {
        values.sort_by(f64::total_cmp);
        if values.is_empty() {
            println!("  {name}: none measured");
            continue;
        }
        println!(
            "  {name:<52} p50 {:>6.3} s  p99 {:>6.3} s  max {:>6.3} s  (n={}); at the real quota (× {k}, an upper bound) p50 {:.1} s, p99 {:.1} s",
            percentile(values, 50.0),
            percentile(values, 99.0),
            values.last().copied().unwrap_or(f64::NAN),
            values.len(),
            percentile(values, 50.0) * k,
            percentile(values, 99.0) * k,
        );
    }

    // Writes against what the changes need.
    let mut by_op: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, op, _) in &calls {
        *by_op.entry(op.as_str()).or_default() += 1;
    }
    let opportunities = pc.control().opportunities().len();
    let mass_created = mass.iter().filter(|id| ace_id(id).is_some()).count();
    let duplicates: usize = all
        .iter()
        .filter(|id| {
            pc.control()
                .opportunities()
                .iter()
                .filter(|o| o["PartnerOpportunityIdentifier"] == id.as_str())
                .count()
                > 1
        })
        .count();
    println!(
        "  ACE writes: {} ({by_op:?}); {opportunities} opportunities created ({mass_created} of the mass update, {} of the rep's), {duplicates} records with more than one",
        calls.len(),
        opportunities - mass_created,
    );

    // Peak writes in any rolling window, and throttles.
    let times: Vec<Instant> = calls.iter().map(|(at, _, _)| *at).collect();
    let mut peak = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi].duration_since(times[lo]) >= window {
            lo += 1;
        }
        peak = peak.max(hi - lo + 1);
    }
    let write_throttles = throttles
        .iter()
        .filter(|(_, op)| WRITES.contains(&op.as_str()))
        .count();
    println!(
        "  peak writes in any {:.0} s window (24 h at the real quota): {peak} of {}; ThrottlingExceptions: {write_throttles} on writes, {} on reads",
        window.as_secs_f64(),
        args.per_day,
        throttles.len() - write_throttles
    );
    let spacing = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    println!(
        "  closest two writes: {:.1} ms apart (the quota's spacing: {:.1} ms)",
        spacing * 1000.0,
        1000.0 / k
    );
    // Where the rep's time went, from the worker's own metrics: means over the run.
    let metrics = reqwest::get(format!("http://127.0.0.1:{work_port}/metrics"))
        .await
        .map(|r| r.text())
        .expect("the worker's metrics")
        .await
        .unwrap_or_default();
    let sample = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let mean = |family: &str, label: &str| {
        let sum = sample(&format!("{family}_sum{{{label}}}"));
        let count = sample(&format!("{family}_count{{{label}}}"));
        (sum / count.max(1.0), count)
    };
    for lane in ["interactive", "bulk"] {
        let (wait, n) = mean(
            "ace_sync_ace_write_wait_seconds",
            &format!("lane=\"{lane}\""),
        );
        println!(
            "  {lane} writes: {n:.0}, waiting {:.0} ms on average for their slot",
            wait * 1000.0
        );
    }
    for worker in ["changes", "bulk", "events"] {
        let (lag, n) = mean(
            "ace_sync_worker_queue_lag_seconds",
            &format!("worker=\"{worker}\""),
        );
        println!(
            "  {worker} queue: {n:.0} messages taken, {:.0} ms on the queue on average",
            lag * 1000.0
        );
    }
    pc.stop().await;
    drop(sf);
    moto.stop();
    drop(server);
}
