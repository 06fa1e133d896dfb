//! AWS referrals: the invitation reconcile. AWS sellers refer opportunities to us as
//! engagement invitations (ace-api.md §3); each becomes a Salesforce opportunity, a rep
//! accepts or rejects it there, and once accepted the record syncs as any other.
//!
//! The controller shape holds: a job names an invitation (`reconcile_invitation.v1` on the
//! changes FIFO queue, the invitation id as message group), never what to do, and one file
//! per step does the rest:
//!
//! ```text
//! event, sweep, record hand-over, check again
//!   ─▶ observe (record by invitation id, invitation, acceptance task, accepted opportunity)
//!   ─▶ plan (pure) ─▶ act (accept / reject; the account) ─▶ write back (create by upsert, or the diff)
//! ```
//!
//! Triggers: [`events`] (the events worker's `Engagement Invitation …` events), [`sweep`]
//! (open invitations, for the periodic sweep), [`handover`] (the record reconciler hands a
//! referral's record over: a rep's decision reaches it as any change does), and the check-again
//! jobs this module queues while AWS runs an acceptance task.

pub mod act;
pub mod events;
pub mod fields;
#[cfg(test)]
mod fixtures;
pub mod handover;
pub mod observe;
pub mod plan;
pub mod sweep;
pub mod write_back;

pub use self::sweep::sweep_jobs;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use self::plan::{Action, Input, Plan, Then};
use crate::ace::referrals::{ReferralMapping, Source};
use crate::domain::disposition::{Classify, Disposition};
use crate::domain::ids::SfRecordId;
use crate::domain::job::{Reason, Reconcile};
use crate::domain::referral::{InvitationReason, ReconcileInvitation};
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{AceError, PartnerCentral, TaskStatus};
use crate::ports::queue::{JobQueue, OutgoingMessage};
use crate::ports::salesforce::{SalesforceError, SalesforceOrg};
use crate::worker::changes::CheckAgain;
use crate::worker::reconcile::fields as sync_fields;
use crate::worker::reconcile::write_back::{self as record_write_back, Desired};

/// How long a message whose failure only an operator can fix (a field Salesforce does not
/// have, a permission missing) waits before it is tried again: kept, not deleted, so it ends
/// in the dead-letter queue, whose alarm calls the operator.
pub const KEEP_FOR_OPERATOR: Duration = Duration::from_secs(15 * 60);

/// Why an invitation reconcile stopped short.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Ace(#[from] AceError),
}

impl Failure {
    fn disposition(&self) -> Disposition {
        let reason = crate::telemetry::error_chain(self);
        let hint = match self {
            Failure::Salesforce(e) => e.retry_hint(),
            Failure::Ace(e) => e.retry_hint(),
        };
        Disposition::Retry {
            after: match hint {
                Some(after) => after.unwrap_or_default(),
                None => KEEP_FOR_OPERATOR,
            },
            reason,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabel {
    reason: &'static str,
}

/// Referral reconciles by outcome and by trigger.
#[derive(Debug, Clone, Default)]
pub struct ReferralMetrics {
    outcomes: Family<OutcomeLabel, Counter>,
    triggers: Family<TriggerLabel, Counter>,
}

impl ReferralMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "referrals",
            "AWS referral reconciles by outcome (created, pending, accepting, accepted, rejected, expired, needs_attention, unchanged, linked, ended, gone, wrong_org, failed, off)",
            metrics.outcomes.clone(),
        );
        registry.register(
            "referral_triggers",
            "AWS referral reconciles by what triggered them (ace_event, record, check_again, sweep)",
            metrics.triggers.clone(),
        );
        metrics
    }

    fn outcome(&self, outcome: &'static str) {
        self.outcomes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Reconciles that ended with `outcome` so far, for tests and the demo.
    pub fn count(&self, outcome: &'static str) -> u64 {
        self.outcomes.get_or_create(&OutcomeLabel { outcome }).get()
    }
}

/// The invitation reconcile.
pub struct Referrals {
    sf: Arc<dyn SalesforceOrg>,
    ace: Arc<dyn PartnerCentral>,
    /// `None`: the mapping has no `[referrals]` section, and referrals are left alone.
    mapping: Option<Arc<ReferralMapping>>,
    queue: Arc<dyn JobQueue>,
    check_again: CheckAgain,
    metrics: ReferralMetrics,
    read_fields: Vec<String>,
}

/// What follows one invitation reconcile.
enum Follow {
    Then(Then, Option<SfRecordId>),
    Refused(String),
}

impl Referrals {
    pub fn new(
        sf: Arc<dyn SalesforceOrg>,
        ace: Arc<dyn PartnerCentral>,
        mapping: Option<ReferralMapping>,
        queue: Arc<dyn JobQueue>,
        check_again: CheckAgain,
    ) -> Self {
        let mut read_fields: Vec<String> = ["LastModifiedById", "SystemModstamp", "AccountId"]
            .iter()
            .chain(fields::WRITTEN)
            .chain(fields::DECIDED)
            .chain(&[
                sync_fields::ACE_ID,
                sync_fields::SYNC_STATUS,
                sync_fields::FINDINGS,
            ])
            .map(|f| (*f).to_owned())
            .collect();
        if let Some(mapping) = &mapping {
            // The acceptance's fields, so a repeat writes only what differs.
            for rule in &mapping.fields {
                if matches!(rule.source, Source::Accepted(_))
                    && !read_fields.contains(&rule.salesforce)
                {
                    read_fields.push(rule.salesforce.clone());
                }
            }
        }
        Self {
            sf,
            ace,
            mapping: mapping.map(Arc::new),
            queue,
            check_again,
            metrics: ReferralMetrics::default(),
            read_fields,
        }
    }

    /// Counts into these (registered) metrics.
    pub fn with_metrics(mut self, metrics: ReferralMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Whether referrals are brought in at all (the mapping has a `[referrals]` section).
    pub fn enabled(&self) -> bool {
        self.mapping.is_some()
    }

    pub fn metrics(&self) -> &ReferralMetrics {
        &self.metrics
    }

    /// Processes one invitation job from the changes queue.
    #[tracing::instrument(skip_all, fields(invitation = %job.invitation_id, reason = job.reason.label()))]
    pub async fn process(&self, job: &ReconcileInvitation) -> Disposition {
        let now = OffsetDateTime::now_utc();
        if let InvitationReason::CheckAgain { not_before, .. } = job.reason
            && not_before > now
        {
            let wait = (not_before - now).unsigned_abs();
            return Disposition::Later {
                after: Duration::from_millis(wait.as_millis().min(u128::from(u32::MAX)) as u64),
            };
        }
        let Some(mapping) = &self.mapping else {
            self.metrics.outcome("off");
            tracing::info!("the mapping has no [referrals] section; the referral is left alone");
            return Disposition::Done;
        };
        self.metrics
            .triggers
            .get_or_create(&TriggerLabel {
                reason: job.reason.label(),
            })
            .inc();
        match self.reconcile(job, mapping, now).await {
            Ok((outcome, Follow::Refused(reason))) => {
                self.metrics.outcome(outcome);
                Disposition::Permanent { reason }
            }
            Ok((outcome, Follow::Then(then, record))) => {
                self.metrics.outcome(outcome);
                self.follow(job, then, record, now).await
            }
            Err(failure) => {
                self.metrics.outcome("failed");
                let disposition = failure.disposition();
                tracing::warn!(error = %crate::telemetry::error_chain(&failure), ?disposition, "referral reconcile failed");
                disposition
            }
        }
    }

    async fn reconcile(
        &self,
        job: &ReconcileInvitation,
        mapping: &ReferralMapping,
        now: OffsetDateTime,
    ) -> Result<(&'static str, Follow), Failure> {
        let identity = self.sf.identity().await?;
        if !identity.org_id.matches(&job.org_id) {
            return Ok((
                "wrong_org",
                Follow::Refused(format!(
                    "the job is for organization {}, but this worker is connected to {}",
                    job.org_id, identity.org_id
                )),
            ));
        }
        let observed = observe::observe(
            self.ace.as_ref(),
            self.sf.as_ref(),
            &job.invitation_id,
            &self.read_fields,
            &identity.user_id,
        )
        .await?;
        let record = observed.record.as_ref();
        if record.is_some_and(observe::linked) {
            return Ok(("linked", Follow::Then(Then::Done, None)));
        }
        if record.is_some_and(observe::ended) {
            return Ok(("ended", Follow::Then(Then::Done, None)));
        }
        let plan = plan::plan(&Input {
            invitation_id: &job.invitation_id,
            invitation: observed.invitation.as_ref(),
            record,
            task: observed.task.as_ref(),
            opportunity: observed.opportunity.as_ref(),
            changed_since_task: observed.changed_since_task,
            mapping,
            now,
        });
        tracing::debug!(action = ?plan.action, then = ?plan.then, "planned");
        let mut acted = act::act(
            self.ace.as_ref(),
            self.sf.as_ref(),
            &identity.org_id,
            &job.invitation_id,
            &plan,
        )
        .await;
        if let Some(failure) = acted.failure.take_if(|f| write_back::retryable(f)) {
            return Err(failure);
        }
        let desired = write_back::desired(&plan, &acted);
        let written = self.write(job, record, &plan, desired, now).await?;
        let outcome = outcome(&plan, &acted, written);
        let then = if acted.failure.is_some() {
            // Written on the record; the rep's next change brings the record back.
            Then::Done
        } else if acted
            .task
            .as_ref()
            .is_some_and(|t| t.status == TaskStatus::Complete)
        {
            // Done within the call: look again at once to write the acceptance.
            Then::CheckAgain(Duration::ZERO)
        } else {
            plan.then
        };
        Ok((outcome, Follow::Then(then, record.map(|r| r.id.clone()))))
    }

    /// Creates the record (an upsert on the invitation id), or sends what differs.
    async fn write(
        &self,
        job: &ReconcileInvitation,
        record: Option<&SObject>,
        plan: &Plan,
        mut desired: Desired,
        now: OffsetDateTime,
    ) -> Result<bool, SalesforceError> {
        match record {
            None if plan.create.is_some() => {
                desired.insert(
                    sync_fields::LAST_SYNCED.to_owned(),
                    Some(FieldValue::Datetime(now)),
                );
                let upserted = self
                    .sf
                    .upsert_opportunity(fields::INVITATION_ID, job.invitation_id.as_str(), &desired)
                    .await?;
                tracing::info!(sf_opportunity_id = %upserted.id, created = upserted.created, "referral brought into Salesforce");
                Ok(true)
            }
            None => Ok(false),
            Some(record) => {
                if !record_write_back::differs(record, &desired) {
                    return Ok(false);
                }
                desired.insert(
                    sync_fields::LAST_SYNCED.to_owned(),
                    Some(FieldValue::Datetime(now)),
                );
                self.sf.write_back(record, &desired).await?;
                Ok(true)
            }
        }
    }

    /// Queues what the reconcile asked for.
    async fn follow(
        &self,
        job: &ReconcileInvitation,
        then: Then,
        record: Option<SfRecordId>,
        now: OffsetDateTime,
    ) -> Disposition {
        let message = match (then, record) {
            (Then::Done, _) | (Then::ReconcileRecord, None) => return Disposition::Done,
            (Then::CheckAgain(after), _) => {
                let attempt = match job.reason {
                    InvitationReason::CheckAgain { attempt, .. } => attempt + 1,
                    _ => 1,
                };
                if attempt > self.check_again.max_checks {
                    tracing::info!(
                        checks = self.check_again.max_checks,
                        "the acceptance is still running after the last check in a row; its event (Engagement Invitation Accepted) or the sweep looks again"
                    );
                    return Disposition::Done;
                }
                let wait = after
                    .saturating_mul(1 << (attempt - 1).min(16))
                    .min(self.check_again.cap);
                OutgoingMessage::from(&ReconcileInvitation {
                    org_id: job.org_id.clone(),
                    invitation_id: job.invitation_id.clone(),
                    reason: InvitationReason::CheckAgain {
                        attempt,
                        not_before: now + wait,
                    },
                    queued_at: now,
                })
            }
            (Then::ReconcileRecord, Some(record)) => OutgoingMessage::from(&Reconcile {
                org_id: job.org_id.clone(),
                record_id: record,
                reason: Reason::Referral {
                    invitation_id: job.invitation_id.clone(),
                },
                changed_at: None,
                queued_at: now,
            }),
        };
        match self.queue.enqueue(vec![message]).await {
            Ok(()) => Disposition::Done,
            // Keep this message instead: running it again leads to the same job.
            Err(e) => Disposition::Retry {
                after: Duration::ZERO,
                reason: format!(
                    "queueing what follows the referral's reconcile failed: {}",
                    crate::telemetry::error_chain(&e)
                ),
            },
        }
    }
}

/// A short label of what a reconcile did, for the outcomes metric.
fn outcome(plan: &Plan, acted: &act::Acted, written: bool) -> &'static str {
    if acted.failure.is_some() {
        return "needs_attention";
    }
    if plan.create.is_some() && written {
        return "created";
    }
    if plan.acceptance.is_some() {
        return "accepted";
    }
    if acted.rejected.is_some() {
        return "rejected";
    }
    if let Some(task) = &acted.task {
        return if task.failed() {
            "needs_attention"
        } else {
            "accepting"
        };
    }
    match (&plan.action, &plan.shown) {
        (None, None) => "gone",
        (_, Some(shown)) if shown.sync != sync_fields::SyncStatus::Synced => "needs_attention",
        (_, Some(shown)) => match shown.status {
            Some(fields::InvitationStatus::Expired) => "expired",
            Some(fields::InvitationStatus::Rejected) => "rejected",
            _ if matches!(plan.then, Then::CheckAgain(_)) => "accepting",
            _ if written => "pending",
            _ => "unchanged",
        },
        (Some(Action::Accept { .. } | Action::Reject { .. }), None) => "unchanged",
    }
}
