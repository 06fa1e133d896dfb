//! Which lane a reconcile job travels in. Partner Central's write quota (1 write/s, 10,000 per
//! rolling 24 hours, ace-api.md §10) is shared by everything ace-sync does, so work a rep is
//! waiting for must never queue behind work nobody is waiting for:
//!
//! - **interactive**: a rep's change (an outbound message), an ACE event, a check-again, a
//!   manual request. The changes queue; first call on the quota.
//! - **bulk**: the periodic sweep, a backfill, and a Salesforce mass update. Their own queue
//!   and worker; they get only the quota the interactive lane leaves, and stop first when the
//!   daily budget runs low.
//!
//! A mass update reaches ace-sync as ordinary outbound messages, so it is recognised by its
//! shape: Salesforce stamps every record one transaction (a Data Loader or API batch, a list
//! view mass edit, a Flow over many records) changes with the same `SystemModstamp`, and its
//! outbound-message queue bundles what is pending, up to 100 notifications a message. A
//! notification is bulk when at least `threshold` notifications of its message were changed
//! within [`TRANSACTION_SPREAD`] of it. A rep's own save is one record in its own transaction:
//! it stays interactive even when Salesforce happens to bundle it with a mass update's
//! notifications.

use std::time::Duration;

use time::OffsetDateTime;

use super::job::{Reason, Reconcile};

/// The lanes, in the order they are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    Interactive,
    Bulk,
}

impl Lane {
    /// A label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Lane::Interactive => "interactive",
            Lane::Bulk => "bulk",
        }
    }
}

/// How far apart the `SystemModstamp`s of one transaction's records may be. Salesforce gives
/// them one timestamp; the margin covers stamps taken record by record.
pub const TRANSACTION_SPREAD: Duration = Duration::from_secs(1);

impl Reason {
    /// The lane a job with this reason travels in, on its own (a mass update's outbound
    /// messages are told apart by [`lanes_of_message`]).
    pub fn lane(&self) -> Lane {
        match self {
            Reason::OutboundMessage { .. }
            | Reason::AceEvent { .. }
            | Reason::CheckAgain { .. }
            | Reason::Manual { .. }
            | Reason::Referral { .. } => Lane::Interactive,
            Reason::Sweep { .. } | Reason::Backfill => Lane::Bulk,
        }
    }
}

/// The lane of each job of one outbound message (or of any set of jobs queued together):
/// a job's reason decides, except that an outbound-message notification changed in the same
/// transaction as at least `threshold - 1` others of the message is bulk. A job with no
/// `changed_at` counts as changed with all the others (a message is bulk when it is large).
/// `threshold` 0 turns the recognition off.
pub fn lanes_of_message(jobs: &[Reconcile], threshold: usize) -> Vec<Lane> {
    let outbound = |job: &Reconcile| matches!(job.reason, Reason::OutboundMessage { .. });
    let candidates = jobs.iter().filter(|j| outbound(j)).count();
    if threshold == 0 || candidates < threshold {
        return jobs.iter().map(|j| j.reason.lane()).collect();
    }
    let spread = time::Duration::try_from(TRANSACTION_SPREAD).unwrap_or(time::Duration::SECOND);
    let near = |a: Option<OffsetDateTime>, b: Option<OffsetDateTime>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= spread,
        _ => true,
    };
    jobs.iter()
        .map(|job| {
            if !outbound(job) {
                return job.reason.lane();
            }
            let together = jobs
                .iter()
                .filter(|other| outbound(other) && near(job.changed_at, other.changed_at))
                .count();
            if together >= threshold {
                Lane::Bulk
            } else {
                Lane::Interactive
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ActionId, NotificationId, SfOrgId, SfRecordId};
    use crate::domain::sobject::parse_datetime;

    fn job(reason: Reason, changed_at: Option<&str>) -> Reconcile {
        Reconcile {
            org_id: SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            record_id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
            reason,
            changed_at: changed_at.map(|at| parse_datetime(at).unwrap()),
            queued_at: parse_datetime("2026-08-14T18:27:03Z").unwrap(),
        }
    }

    fn outbound(changed_at: Option<&str>) -> Reconcile {
        job(
            Reason::OutboundMessage {
                notification_id: NotificationId::parse("04l5g00000AbCdEAAV").unwrap(),
                action_id: ActionId::parse("04k5g000000XYZaAAO").unwrap(),
            },
            changed_at,
        )
    }

    #[test]
    fn reasons_choose_their_lane() {
        let at = parse_datetime("2026-08-14T18:27:03Z").unwrap();
        let table = [
            (outbound(None).reason, Lane::Interactive),
            (
                Reason::AceEvent {
                    event_id: "e".into(),
                    detail_type: "Opportunity Updated".into(),
                    ace_id: crate::domain::ids::AceOpportunityId::parse("O1234567").unwrap(),
                },
                Lane::Interactive,
            ),
            (
                Reason::CheckAgain {
                    attempt: 1,
                    not_before: at,
                },
                Lane::Interactive,
            ),
            (
                Reason::Manual {
                    request_id: "r".into(),
                },
                Lane::Interactive,
            ),
            (Reason::Sweep { bucket: 1 }, Lane::Bulk),
            (Reason::Backfill, Lane::Bulk),
        ];
        for (reason, lane) in table {
            assert_eq!(reason.lane(), lane, "{reason:?}");
        }
    }

    #[test]
    fn one_transactions_notifications_are_bulk_and_a_reps_save_beside_them_is_not() {
        let mut jobs: Vec<Reconcile> = (0..12)
            .map(|i| outbound(Some(&format!("2026-08-14T18:27:02.{:03}Z", i * 10))))
            .collect();
        // A rep's save, bundled into the same message by Salesforce's outbound queue.
        jobs.push(outbound(Some("2026-08-14T18:27:09.500Z")));
        // A sweep job queued with them keeps its own lane.
        jobs.push(job(Reason::Sweep { bucket: 3 }, None));
        let lanes = lanes_of_message(&jobs, 10);
        assert_eq!(lanes[..12], [Lane::Bulk; 12]);
        assert_eq!(lanes[12], Lane::Interactive, "the rep's save");
        assert_eq!(lanes[13], Lane::Bulk, "the sweep");
    }

    #[test]
    fn small_messages_and_a_threshold_of_zero_stay_interactive() {
        let same = "2026-08-14T18:27:02Z";
        let nine: Vec<Reconcile> = (0..9).map(|_| outbound(Some(same))).collect();
        assert_eq!(lanes_of_message(&nine, 10), vec![Lane::Interactive; 9]);
        let ten: Vec<Reconcile> = (0..10).map(|_| outbound(Some(same))).collect();
        assert_eq!(lanes_of_message(&ten, 10), vec![Lane::Bulk; 10]);
        assert_eq!(lanes_of_message(&ten, 0), vec![Lane::Interactive; 10]);
        // Without modstamps, a large message is bulk.
        let unstamped: Vec<Reconcile> = (0..10).map(|_| outbound(None)).collect();
        assert_eq!(lanes_of_message(&unstamped, 10), vec![Lane::Bulk; 10]);
    }

    #[test]
    fn changes_spread_over_minutes_are_separate_saves() {
        let jobs: Vec<Reconcile> = (0..20)
            .map(|i| outbound(Some(&format!("2026-08-14T18:{:02}:00Z", i))))
            .collect();
        assert_eq!(lanes_of_message(&jobs, 10), vec![Lane::Interactive; 20]);
    }
}
