//! "Check with ACE" as a rep presses it on an opportunity in Salesforce: the quick action's
//! Flow calls ace-sync's API through the External Service (`GET
//! /api/v1/opportunities/{id}/check?stage=…`, with the Named Credential's key), and the rep
//! reads the answer on the Flow's screen. Here the call is made the same way, and the answer
//! becomes two lines of the timeline.

use serde_json::Value;
use tokio::time::Instant;

use super::scenarios::Run;
use super::timeline::{self, Actor, Entry};

impl Run<'_> {
    /// The rep checks the record at `stage` (the one they are about to move it to). Fails when
    /// ace-sync does not answer 200.
    pub(super) async fn check_with_ace(&mut self, stage: &str) -> Result<Value, String> {
        let Some(record) = self.record.clone() else {
            return Err("Check with ACE needs a record".to_owned());
        };
        let pressed = Instant::now();
        self.rep.push(Entry::new(
            pressed,
            Actor::Rep,
            format!("presses Check with ACE, for {stage}"),
        ));
        let url = url::Url::parse_with_params(
            &format!(
                "{}/api/v1/opportunities/{}/check",
                self.demo.ingress, record
            ),
            &[("stage", stage)],
        )
        .map_err(|e| format!("Check with ACE: {e}"))?;
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.demo.api_key)
            .timeout(self.demo.config.step_deadline)
            .send()
            .await
            .map_err(|e| format!("Check with ACE did not answer: {e}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("Check with ACE answered {status} with no JSON: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "Check with ACE answered {status}: {}",
                body["detail"].as_str().unwrap_or_default()
            ));
        }
        self.rep.push(answer(Instant::now(), &body));
        Ok(body)
    }
}

/// The answer as the Flow's screen shows it: the summary, what ACE would get, the findings.
fn answer(at: Instant, body: &Value) -> Entry {
    let list = |name: &str| -> Vec<&str> {
        body[name]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    let mut gets = vec!["the opportunity".to_owned()];
    let solutions = list("solutions");
    if !solutions.is_empty() {
        gets.push(format!("solution {}", solutions.join(", ")));
    }
    let products = list("awsProducts");
    if !products.is_empty() {
        gets.push(format!("AWS products {}", products.join(", ")));
    }
    if let Some(submission) = body["submission"].as_str().filter(|s| !s.is_empty()) {
        gets.push(format!("the submission to AWS ({submission})"));
    }
    let summary = body["summary"].as_str().unwrap_or_default();
    let mut entry = Entry::new(at, Actor::Check, format!("{summary} (no ACE call)"));
    entry.more = timeline::wrap_words(
        &format!("ACE would get {}.", gets.join("; ")),
        timeline::WIDTH,
        3,
    );
    entry.more.extend(
        body["findingsText"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .flat_map(|l| timeline::wrap_words(l.trim(), timeline::WIDTH, 3)),
    );
    entry
}
