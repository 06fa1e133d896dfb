//! `ace-sync reconcile --report`: the records whose two sides disagree, and how, without
//! changing anything. Each selected record is previewed (the reconciler's own read, observe
//! and plan, through clients that cannot write): what the reconcile would change in ACE, and
//! which fields of the record would change to show ACE's side as it is now.
//!
//! `ace-sync reconcile` without `--report` queues a reconcile of each selected record (a
//! manual trigger, in the interactive lane).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::backfill::Selection;
use crate::domain::ids::SfOpportunityId;
use crate::domain::job::{Reason, Reconcile};
use crate::domain::sobject::FieldValue;
use crate::ports::lanes::Lanes;
use crate::ports::queue::EnqueueError;
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};
use crate::worker::reconcile::observe::AceView;
use crate::worker::reconcile::plan::{Action, Plan};
use crate::worker::reconcile::{PreviewError, Reconciler};

/// What the reconcile would change in ACE, in words.
pub fn ace_changes(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|action| match action {
            Action::Adopt(id) => format!("link to {id}"),
            Action::Retire { rejected, .. } => format!("retire rejected {rejected}"),
            Action::Create { .. } => "create".to_owned(),
            Action::Update { changed, .. } => format!("update {}", changed.join(", ")),
            Action::Associate(entity) => format!("associate {entity}"),
            Action::Disassociate(entity) => format!("disassociate {entity}"),
            Action::Submit { .. } => "submit for review".to_owned(),
        })
        .collect()
}

/// One record whose sides disagree.
#[derive(Debug, Clone)]
pub struct Drift {
    pub record: SfOpportunityId,
    pub name: String,
    /// What the reconcile would do in ACE.
    pub ace: Vec<String>,
    /// The record's fields that would change: (field, now, then).
    pub record_fields: Vec<(String, String, String)>,
    /// ACE no longer has the opportunity the record names.
    pub gone: Option<String>,
}

/// The drift report.
#[derive(Debug, Clone, Default)]
pub struct DriftReport {
    pub looked_at: usize,
    pub drifts: Vec<Drift>,
    /// Records that could not be previewed, with why.
    pub failures: Vec<(SfOpportunityId, String)>,
}

impl DriftReport {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for drift in &self.drifts {
            let _ = writeln!(out, "{}  {}", drift.record, drift.name);
            if let Some(id) = &drift.gone {
                let _ = writeln!(out, "    ACE: has no opportunity {id} any more");
            }
            for change in &drift.ace {
                let _ = writeln!(out, "    ACE: {change}");
            }
            for (field, now, then) in &drift.record_fields {
                let _ = writeln!(out, "    record: {field}: {now:?} -> {then:?}");
            }
        }
        for (record, why) in &self.failures {
            let _ = writeln!(out, "{record}  could not be compared: {why}");
        }
        let _ = writeln!(
            out,
            "{} of {} record(s) differ between Salesforce and ACE{}",
            self.drifts.len(),
            self.looked_at,
            if self.failures.is_empty() {
                String::new()
            } else {
                format!("; {} could not be compared", self.failures.len())
            }
        );
        out
    }
}

/// Why the report or the queueing stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("queueing the reconciles: {0}")]
    Queue(#[from] EnqueueError),
}

/// Compares both sides of the selected records; `preview` must not be able to write.
pub async fn report(
    preview: &Reconciler,
    salesforce: &dyn SalesforceOrg,
    selection: &Selection,
) -> Result<DriftReport, DriftError> {
    let ids = selection.ids(salesforce, preview).await?;
    let mut report = DriftReport {
        looked_at: ids.len(),
        ..DriftReport::default()
    };
    for id in ids {
        let preview = match preview.preview(&id, true).await {
            Ok(Some(preview)) => preview,
            Ok(None) => continue,
            Err(PreviewError::Salesforce(e)) if e.deployment_problem().is_some() => {
                return Err(DriftError::Salesforce(e));
            }
            Err(e) => {
                report
                    .failures
                    .push((id, crate::telemetry::error_chain(&e)));
                continue;
            }
        };
        let gone = match &preview.ace {
            Some(AceView::Gone { id }) => Some(id.to_string()),
            _ => None,
        };
        if !preview.drifts() && gone.is_none() {
            continue;
        }
        let text = |value: Option<&FieldValue>| value.map(FieldValue::to_text).unwrap_or_default();
        report.drifts.push(Drift {
            name: text(preview.assessment.record.get("Name")),
            ace: ace_changes(&preview.plan),
            record_fields: preview
                .record_drift
                .iter()
                .map(|(field, then)| {
                    (
                        field.clone(),
                        text(preview.assessment.record.get(field)),
                        text(then.as_ref()),
                    )
                })
                .collect(),
            gone,
            record: id,
        });
    }
    Ok(report)
}

/// Queues a manual reconcile of each selected record (interactive lane); how many.
pub async fn queue(
    reconciler: &Reconciler,
    salesforce: &dyn SalesforceOrg,
    lanes: &Lanes,
    selection: &Selection,
) -> Result<usize, DriftError> {
    let ids = selection.ids(salesforce, reconciler).await?;
    let org_id = salesforce.identity().await?.org_id;
    let queued_at = OffsetDateTime::now_utc();
    let request = format!("cli-{}", queued_at.unix_timestamp_nanos());
    let jobs: Vec<Reconcile> = ids
        .iter()
        .map(|id| Reconcile {
            org_id: org_id.clone(),
            record_id: id.to_record_id(),
            reason: Reason::Manual {
                request_id: format!("{request}-{id}"),
            },
            changed_at: None,
            queued_at,
        })
        .collect();
    for chunk in jobs.chunks(500) {
        lanes.enqueue(chunk).await?;
    }
    Ok(jobs.len())
}
