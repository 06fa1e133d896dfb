//! The changes queue's processor: every job there names a record to reconcile. It decodes the
//! job, holds one that must not run yet, runs the reconciler, and turns "check again" into a
//! new job on the same queue (same message group: it never overtakes a newer change).
//!
//! "Again" follows SQS's rules: FIFO queues have no per-message delay and a message in flight
//! blocks its group, so a check-again job is queued with the time it is due, and a worker that
//! receives it early makes it invisible until then ([`Disposition::Later`]). Each one is a
//! new message, so waiting never counts towards the dead-letter queue's receive limit; the
//! delay doubles from one check to the next and gives up after `max_checks`, leaving the rest
//! to the next trigger (an ACE event, the sweep).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::Processor;
use super::reconcile::{Next, Reconciler};
use super::referrals::{ReferralMetrics, Referrals};
use crate::domain::disposition::Disposition;
use crate::domain::ids::SfOpportunityId;
use crate::domain::job::{Job, Reason, Reconcile, Target};
use crate::domain::referral::InvitationReason;
use crate::health::Outages;
use crate::ports::queue::{JobQueue, OutgoingMessage, ReceivedMessage};

/// How a record is checked again.
#[derive(Debug, Clone, Copy)]
pub struct CheckAgain {
    /// The longest wait between two checks.
    pub cap: Duration,
    /// Checks in a row before giving up until the next trigger.
    pub max_checks: u32,
}

/// Reconciles the records the changes queue names.
pub struct ChangesProcessor {
    reconciler: Arc<Reconciler>,
    queue: Arc<dyn JobQueue>,
    check_again: CheckAgain,
    outages: Outages,
    /// AWS referrals: the invitation jobs' reconcile (worker/referrals).
    referrals: Referrals,
}

impl ChangesProcessor {
    pub fn new(
        reconciler: Arc<Reconciler>,
        queue: Arc<dyn JobQueue>,
        check_again: CheckAgain,
        outages: Outages,
    ) -> Self {
        let referrals = Referrals::new(
            reconciler.salesforce().clone(),
            reconciler.partner_central().clone(),
            reconciler.mapping().referrals.clone(),
            queue.clone(),
            check_again,
        );
        Self {
            reconciler,
            queue,
            check_again,
            outages,
            referrals,
        }
    }

    /// AWS referrals: counts the invitation reconciles into these (registered) metrics.
    pub fn with_referral_metrics(mut self, metrics: ReferralMetrics) -> Self {
        self.referrals = self.referrals.with_metrics(metrics);
        self
    }

    /// Queues the next check of `job`'s record, `after` from now (doubled for each check in
    /// a row). `None` when it gives up.
    fn next_check(
        &self,
        job: &Reconcile,
        after: Duration,
        now: OffsetDateTime,
    ) -> Option<Reconcile> {
        let attempt = match job.reason {
            Reason::CheckAgain { attempt, .. } => attempt + 1,
            _ => 1,
        };
        if attempt > self.check_again.max_checks {
            return None;
        }
        let wait = after
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.check_again.cap);
        Some(Reconcile {
            org_id: job.org_id.clone(),
            record_id: job.record_id.clone(),
            reason: Reason::CheckAgain {
                attempt,
                not_before: now + wait,
            },
            changed_at: job.changed_at,
            queued_at: now,
        })
    }
}

#[async_trait]
impl Processor for ChangesProcessor {
    async fn process(&self, message: &ReceivedMessage) -> Disposition {
        let job = match Job::decode(&message.body).map(Job::into_target) {
            Ok(Target::Record(job)) => job,
            // AWS referrals: an invitation job is the invitation reconcile's.
            Ok(Target::Invitation(job)) => return self.referrals.process(&job).await,
            // Nothing to record it on: parked for an operator, with why.
            Err(e) => {
                return Disposition::DeadLetter {
                    reason: crate::telemetry::error_chain(&e),
                };
            }
        };
        let now = OffsetDateTime::now_utc();
        if let Reason::CheckAgain { not_before, .. } = job.reason
            && not_before > now
        {
            let wait = (not_before - now).unsigned_abs();
            return Disposition::Later {
                after: Duration::from_millis(wait.as_millis().min(u128::from(u32::MAX)) as u64),
            };
        }
        let id = match SfOpportunityId::try_from(&job.record_id) {
            Ok(id) => id,
            Err(e) => {
                tracing::debug!(record = %job.record_id, "not an opportunity; nothing to sync: {e}");
                return Disposition::Done;
            }
        };
        let next = self.reconciler.reconcile(&job, &id).await;
        match &next {
            // Both sides answered: whatever was wrong with the deployment is fixed.
            Next::Done | Next::CheckAgain(_) | Next::Permanent { .. } => self.outages.clear(),
            Next::Outage { kind, reason } => self.outages.report(*kind, reason),
            Next::Retry { .. } | Next::DeadLetter { .. } | Next::Referral(_) => {}
        }
        match next {
            Next::Done => Disposition::Done,
            Next::Retry { after, reason } => Disposition::Retry { after, reason },
            Next::Permanent { reason } => Disposition::Permanent { reason },
            Next::Outage { reason, .. } => Disposition::Outage { reason },
            Next::DeadLetter { reason } => Disposition::DeadLetter { reason },
            // AWS referrals: the record is handed over to its invitation's reconcile.
            Next::Referral(invitation) => {
                match self
                    .queue
                    .enqueue(vec![OutgoingMessage::from(&invitation)])
                    .await
                {
                    Ok(()) => Disposition::Done,
                    Err(e) => Disposition::Retry {
                        after: Duration::ZERO,
                        reason: format!(
                            "handing the referral over failed: {}",
                            crate::telemetry::error_chain(&e)
                        ),
                    },
                }
            }
            Next::CheckAgain(after) => {
                let Some(next) = self.next_check(&job, after, now) else {
                    tracing::info!(
                        checks = self.check_again.max_checks,
                        "still waiting after the last check in a row; the next trigger (an ACE event, the sweep) looks again"
                    );
                    return Disposition::Done;
                };
                match self.queue.enqueue(vec![OutgoingMessage::from(&next)]).await {
                    Ok(()) => Disposition::Done,
                    // Keep this message instead: running it again is the same check.
                    Err(e) => Disposition::Retry {
                        after,
                        reason: format!(
                            "queueing the next check failed: {}",
                            crate::telemetry::error_chain(&e)
                        ),
                    },
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "changes"
    }

    /// The job failed on every receive the queue allows: the record says so (when it can be
    /// written) before the job is parked.
    async fn exhausted(&self, message: &ReceivedMessage, reason: &str) {
        let Some(job) = Job::decode(&message.body)
            .ok()
            .and_then(Job::into_reconcile)
        else {
            return;
        };
        let Ok(id) = SfOpportunityId::try_from(&job.record_id) else {
            return;
        };
        let text = format!(
            "ace-sync gave up syncing this opportunity after {} attempts: {reason}. The change is parked in the dead-letter queue; once the cause is fixed, an administrator replays it (ace-sync dlq replay).",
            message.receive_count
        );
        if let Err(e) = self.reconciler.record_error(&id, &text).await {
            tracing::warn!(sf_opportunity_id = %id, error = %crate::telemetry::error_chain(&e), "the record could not be told that its change is parked");
        }
    }

    /// Every job of a group names the same record, and a reconcile reads it as it is now: one
    /// reconcile covers every job received with it, however many a burst of events or a mass
    /// update queued. The newest job that is due stands for them (a check-again not yet due is
    /// covered by the reconcile that runs now, which asks again if it still needs to).
    fn coalesce(&self, group: &[ReceivedMessage]) -> Option<usize> {
        let now = OffsetDateTime::now_utc();
        let due = |message: &ReceivedMessage| match Job::decode(&message.body).map(Job::into_target)
        {
            Ok(Target::Record(job)) => !matches!(
                job.reason,
                Reason::CheckAgain { not_before, .. } if not_before > now
            ),
            // AWS referrals: a group is one invitation's, and its jobs coalesce the same way.
            Ok(Target::Invitation(job)) => !matches!(
                job.reason,
                InvitationReason::CheckAgain { not_before, .. } if not_before > now
            ),
            // Processed on its own, to be refused on its own.
            Err(_) => false,
        };
        // Jobs that cannot be read, or that claim different orgs, are each processed (and
        // refused) on their own.
        let mut orgs = Vec::new();
        for message in group {
            match Job::decode(&message.body) {
                Ok(job) => orgs.push(job.org_id().clone()),
                Err(_) => return None,
            }
        }
        if orgs.iter().any(|org| !org.matches(&orgs[0])) {
            return None;
        }
        Some(group.iter().rposition(due).unwrap_or(0))
    }
}
