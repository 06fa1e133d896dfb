//! The sync's operating figures (ace-lifecycle.md, "failure modes the service must make
//! visible"): what reconciles did and why they ran, submission lag, time in review, rejection
//! reasons, and how many submissions named an AWS contact.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use super::act::Acted;
use super::fields::{self, truncate};
use super::observe::AceView;
use crate::ace::mapping::MappedOpportunity;
use crate::ace::opportunity::ReviewStatus;
use crate::domain::sobject::{FieldValue, SObject};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContactLabel {
    aws_field_contact: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

/// The reconciler's metric families.
#[derive(Debug, Clone)]
pub struct ReconcileMetrics {
    outcomes: Family<OutcomeLabel, Counter>,
    triggers: Family<TriggerLabel, Counter>,
    submission_lag: Histogram,
    time_in_review: Family<DecisionLabel, Histogram, fn() -> Histogram>,
    rejection_reasons: Family<ReasonLabel, Counter>,
    submissions: Family<ContactLabel, Counter>,
}

fn seconds_histogram() -> Histogram {
    // 1 s to ~ 97 days.
    Histogram::new(exponential_buckets(1.0, 2.0, 24))
}

impl ReconcileMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            outcomes: Family::default(),
            triggers: Family::default(),
            submission_lag: seconds_histogram(),
            time_in_review: Family::new_with_constructor(seconds_histogram),
            rejection_reasons: Family::default(),
            submissions: Family::default(),
        };
        registry.register(
            "sync_outcomes",
            "What reconciles did (created, updated, submitted, resubmitted, associated, adopted, unchanged, needs_attention, refused, failed, …)",
            metrics.outcomes.clone(),
        );
        registry.register(
            "reconciles",
            "Reconciles started, by what triggered them (outbound_message, ace_event, check_again, sweep, backfill, manual)",
            metrics.triggers.clone(),
        );
        registry.register(
            "submission_lag_seconds",
            "From the Salesforce change that reached the submission stage to the ACE submission",
            metrics.submission_lag.clone(),
        );
        registry.register(
            "time_in_review_seconds",
            "From ACE submission to AWS's decision, by decision",
            metrics.time_in_review.clone(),
        );
        registry.register(
            "rejections",
            "Opportunities AWS rejected or sent back (Action Required), by ReviewStatusReason",
            metrics.rejection_reasons.clone(),
        );
        registry.register(
            "submissions",
            "Submissions to AWS, by whether they named an AWS field contact",
            metrics.submissions.clone(),
        );
        metrics
    }

    pub(super) fn outcome(&self, outcome: &'static str) {
        self.outcomes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub(super) fn triggered(&self, reason: &'static str) {
        self.triggers.get_or_create(&TriggerLabel { reason }).inc();
    }

    /// The figures one reconcile contributes: a submission it made, a decision it saw first.
    pub(super) fn observe_figures(
        &self,
        record: &SObject,
        view: &AceView,
        acted: &Acted,
        mapped: &MappedOpportunity,
        changed_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) {
        if acted.task.as_ref().is_some_and(|t| !t.failed()) {
            let named = mapped.aws_field_contact.is_some();
            self.submissions
                .get_or_create(&ContactLabel {
                    aws_field_contact: if named { "named" } else { "missing" },
                })
                .inc();
            let since = changed_at.or_else(|| {
                record
                    .get("SystemModstamp")
                    .and_then(FieldValue::as_datetime)
            });
            if let Some(since) = since {
                self.submission_lag
                    .observe((now - since).as_seconds_f64().max(0.0));
            }
        }
        let Some(linked) = view.linked() else { return };
        if acted.created.is_some() {
            return;
        }
        let review = linked.opportunity.body.review_status();
        let decision = match review {
            Some(ReviewStatus::Approved) => "approved",
            Some(ReviewStatus::Rejected) => "rejected",
            Some(ReviewStatus::ActionRequired) => "action_required",
            _ => return,
        };
        // Counted once: by the reconcile that first writes the decision to the record.
        if record.text(fields::REVIEW_STATUS).as_deref() == review.as_ref().map(|r| r.as_str()) {
            return;
        }
        if decision != "approved" {
            let reason = linked
                .opportunity
                .body
                .life_cycle
                .as_ref()
                .and_then(|l| l.review_status_reason.clone())
                .unwrap_or_else(|| "unspecified".to_owned());
            self.rejection_reasons
                .get_or_create(&ReasonLabel {
                    reason: truncate(&reason, 60),
                })
                .inc();
        }
        if let Some(submitted) = record
            .get(fields::SUBMITTED_AT)
            .and_then(FieldValue::as_datetime)
        {
            self.time_in_review
                .get_or_create(&DecisionLabel { decision })
                .observe((now - submitted).as_seconds_f64().max(0.0));
        }
    }
}
