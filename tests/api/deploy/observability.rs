//! `deploy/observability` (the Prometheus rules and the Grafana dashboard) and the CloudWatch
//! alarms of `deploy/aws`: promtool accepts the rules, and every metric their queries name is
//! one ace-sync exports. The names come from a running worker process (the role that registers
//! every family: its own, the clients', the queue's and the ingress's) serving `/metrics`, read
//! as Prometheus would. A labelled family shows on `/metrics` only once it has a sample, so for
//! those the families the code registers (`register("name", …)` under `src/`) count too, with
//! the sample suffixes a counter or histogram gets.

use std::collections::BTreeSet;
use std::process::Command;

use ace_sync::config::Settings;
use ace_sync::startup::{Application, Role};
use ace_sync_sandbox::salesforce::{SalesforceSim, Seed, SimConfig};
use regex::Regex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::support::{read_deploy, repository, run_ok};
use super::yaml;

/// Every sample name `/metrics` can show, from its `# TYPE` lines (a counter `x` is sampled
/// as `x_total`, a histogram as `x_bucket`, `x_sum` and `x_count`).
async fn exported() -> BTreeSet<String> {
    let sf = SalesforceSim::start(SimConfig::new(Seed::small()))
        .await
        .unwrap();
    let settings = Settings::from_toml_layers(&[
        "[http]\nport = 0\nworkers = 1\n[ace]\nendpoint_url = \"http://127.0.0.1:9\"\n",
        &sf.settings_toml(),
    ])
    .unwrap();
    // Both roles in one process (on the embedded queue): every family either registers.
    let app = Application::build_role(settings, Role::All)
        .await
        .expect("ingress and workers");
    let url = format!("http://127.0.0.1:{}/metrics", app.port());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    shutdown.cancel();
    running.await.unwrap().unwrap();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
    }
    assert!(names.len() > 10, "{text}");
    names.extend(registered());
    names
}

/// `ace_sync_<name>` and its sample names for every family the product's code registers.
fn registered() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, out: &mut BTreeSet<String>, call: &Regex) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out, call);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for c in call.captures_iter(&text) {
                    for suffix in ["", "_total", "_bucket", "_sum", "_count"] {
                        out.insert(format!("ace_sync_{}{suffix}", &c[1]));
                    }
                }
            }
        }
    }
    let call = Regex::new(r#"\.register\(\s*"([a-z0-9_]+)""#).unwrap();
    let mut out = BTreeSet::new();
    walk(&repository().join("src"), &mut out, &call);
    assert!(out.len() > 50, "no registered family found");
    out
}

/// The metric names a PromQL expression selects: each `ace_sync_…` name, and any other name
/// written as a selector (followed by `{` or `[`), which cannot be ace-sync's.
fn metric_names(expr: &str) -> Vec<String> {
    let ace_sync = Regex::new(r"\bace_sync_[a-z0-9_]+").unwrap();
    let selector = Regex::new(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[\{\[]").unwrap();
    let mut names: Vec<String> = ace_sync
        .find_iter(expr)
        .map(|m| m.as_str().to_owned())
        .collect();
    names.extend(selector.captures_iter(expr).map(|c| c[1].to_owned()));
    names
}

fn rule_exprs() -> Vec<String> {
    let rules = yaml::document(&read_deploy("observability/ace-sync.rules.yaml"));
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| r["expr"].as_str().expect("a rule expression").to_owned())
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&read_deploy("observability/grafana-dashboard.json")).expect("JSON")
}

/// The PromQL of the dashboard's Prometheus panels.
fn dashboard_exprs() -> Vec<String> {
    dashboard()["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["datasource"]["type"] == "prometheus")
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().expect("a PromQL target").to_owned())
        .collect()
}

/// The metrics the CloudFormation alarms read from the collector's namespace.
fn alarm_metrics() -> Vec<String> {
    let template = read_deploy("aws/ace-sync.yaml");
    Regex::new(r"MetricName: (ace_sync_[a-z0-9_]+)")
        .unwrap()
        .captures_iter(&template)
        .map(|c| c[1].to_owned())
        .chain(
            Regex::new(r#""\^(ace_sync_[a-z0-9_]+)\$""#)
                .unwrap()
                .captures_iter(&template)
                .map(|c| c[1].to_owned()),
        )
        .collect()
}

#[test]
fn promtool_accepts_the_rules() {
    let promtool = which_promtool();
    run_ok(Command::new(promtool).current_dir(repository()).args([
        "check",
        "rules",
        "deploy/observability/ace-sync.rules.yaml",
    ]));
}

fn which_promtool() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("promtool"))
        .find(|path| path.is_file())
        .expect("promtool is not installed: run the tests through scripts/test, which installs it")
}

#[tokio::test]
async fn every_query_names_only_metrics_the_service_exports() {
    let exported = exported().await;
    let mut checked = 0;
    for (source, exprs) in [
        ("the alert rules", rule_exprs()),
        ("the dashboard", dashboard_exprs()),
        ("the CloudWatch alarms", alarm_metrics()),
    ] {
        assert!(!exprs.is_empty(), "{source}: no query found");
        for expr in exprs {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{source}: {expr} names no metric");
            for name in names {
                assert!(
                    exported.contains(&name),
                    "{source}: {name} is not exported ({expr})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} names checked");
}

#[test]
fn the_dashboard_shows_what_the_issue_asks_for() {
    let titles: Vec<String> = dashboard()["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for wanted in [
        "submission lag",
        "time in review",
        "rejection reasons",
        "aws contact",
        "queue lag",
        "dead-letter queue",
        "outcomes",
        "ace calls",
        "throttles",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "no panel for {wanted}: {titles:?}"
        );
    }
}
