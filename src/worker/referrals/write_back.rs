//! Write back: what a referral's record should show, from the plan and what acting did; a
//! pure function ([`desired`]). The caller creates the record with it (an upsert on the
//! invitation id) or sends only what differs from the record.
//!
//! An acceptance is written whole or not at all: the ACE id goes on the record only with
//! the account and the values AWS withheld, so a record that names its ACE opportunity
//! always has them.

use super::Failure;
use super::act::Acted;
use super::fields::{self, InvitationStatus, datetime, text};
use super::plan::{Plan, Shown, failed_acceptance, rank};
use crate::domain::disposition::Classify;
use crate::domain::sobject::FieldValue;
use crate::ports::partner_central::AceError;
use crate::worker::reconcile::fields::{self as sync_fields, SyncStatus};
use crate::worker::reconcile::write_back::Desired;

/// The fields to write.
pub fn desired(plan: &Plan, acted: &Acted) -> Desired {
    let mut desired = plan.create.clone().unwrap_or_default();
    let Some(shown) = &plan.shown else {
        return desired;
    };
    let mut shown = shown.clone();
    if let Some(reason) = acted.rejected {
        shown = Shown {
            status: Some(InvitationStatus::Rejected),
            sync: SyncStatus::Synced,
            lines: vec![format!("• The referral was rejected at AWS ({reason}).")],
            ..shown
        };
    }
    if let Some(task) = &acted.task {
        if task.failed() && !task.failed_transiently() {
            raise(&mut shown, SyncStatus::NeedsAttention);
            shown.lines = vec![format!(
                "• {} Save the record again to try once more.",
                failed_acceptance(task)
            )];
        } else {
            shown.lines = vec![
                "• Accepting the referral: AWS is creating its ACE opportunity; the customer's details follow.".to_owned(),
            ];
        }
    }
    match &acted.failure {
        Some(failure) => {
            let (to, line) = refusal(failure);
            raise(&mut shown, to);
            shown.lines.push(line);
        }
        None => {
            if let Some(acceptance) = &plan.acceptance {
                desired.extend(acceptance.values.clone());
                desired.insert(
                    sync_fields::ACE_ID.to_owned(),
                    text(acceptance.ace_id.as_str()),
                );
                if let Some(account) = &acted.account {
                    desired.insert(
                        "AccountId".to_owned(),
                        Some(FieldValue::Text(account.to_string())),
                    );
                }
                // The record reconciler writes the sync status and findings from here on.
                shown = Shown {
                    status: Some(InvitationStatus::Accepted),
                    sync: SyncStatus::Synced,
                    lines: Vec::new(),
                    ..shown
                };
            }
        }
    }
    if let Some(status) = shown.status {
        desired.insert(fields::INVITATION_STATUS.to_owned(), text(status.as_str()));
    }
    if let Some(expires) = shown.expires {
        desired.insert(fields::INVITATION_EXPIRES.to_owned(), datetime(expires));
    }
    desired.insert(
        sync_fields::SYNC_STATUS.to_owned(),
        text(shown.sync.as_str()),
    );
    desired.insert(
        sync_fields::FINDINGS.to_owned(),
        text(shown.lines.join("\n")),
    );
    desired
}

fn raise(shown: &mut Shown, to: SyncStatus) {
    if rank(to) > rank(shown.sync) {
        shown.sync = to;
    }
}

/// A failure the record shows (one worth retrying is retried instead, and not written).
fn refusal(failure: &Failure) -> (SyncStatus, String) {
    match failure {
        Failure::Ace(
            e @ (AceError::Validation { .. }
            | AceError::Conflict { .. }
            | AceError::NotFound { .. }),
        ) => (
            SyncStatus::NeedsAttention,
            format!(
                "• AWS refused the answer to the referral: {}.",
                e.to_string().trim_end_matches('.')
            ),
        ),
        other => (
            SyncStatus::Error,
            format!(
                "• ace-sync could not complete the referral: {}. An administrator has to look at it.",
                crate::telemetry::error_chain(other).trim_end_matches('.')
            ),
        ),
    }
}

/// Whether acting stopped on a failure worth retrying (nothing is written then: the retry
/// observes again and plans anew).
pub fn retryable(failure: &Failure) -> bool {
    match failure {
        Failure::Ace(e) => e.is_retryable(),
        Failure::Salesforce(e) => e.is_retryable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::partner_central::TaskStatus;
    use crate::worker::referrals::fixtures::*;
    #[test]
    fn what_acting_did_is_what_the_record_shows() {
        let mapping = mapping();
        let reject = Row {
            record: Some(record(&[
                (fields::DECISION, "Reject"),
                (fields::REJECTION_REASON, "Other"),
            ])),
            ..row(&mapping)
        }
        .plan();
        let d = desired(
            &reject,
            &Acted {
                rejected: Some("Other"),
                ..Acted::default()
            },
        );
        assert_eq!(
            text_of(&d, fields::INVITATION_STATUS).as_deref(),
            Some("Rejected")
        );
        assert_eq!(
            text_of(&d, sync_fields::FINDINGS).as_deref(),
            Some("• The referral was rejected at AWS (Other).")
        );
        let refused = desired(
            &reject,
            &Acted {
                failure: Some(Failure::Ace(AceError::Conflict {
                    operation: "RejectEngagementInvitation",
                    message: "Engagement invitation is ACCEPTED and cannot be rejected".into(),
                })),
                ..Acted::default()
            },
        );
        assert_eq!(
            text_of(&refused, fields::INVITATION_STATUS).as_deref(),
            Some("Pending")
        );
        assert_eq!(
            text_of(&refused, sync_fields::SYNC_STATUS).as_deref(),
            Some("Needs attention")
        );
        assert!(
            text_of(&refused, sync_fields::FINDINGS)
                .unwrap()
                .contains("AWS refused the answer to the referral"),
        );

        let accept = Row {
            record: Some(record(&[(fields::DECISION, "Accept")])),
            ..row(&mapping)
        }
        .plan();
        let started = desired(
            &accept,
            &Acted {
                task: Some(task(TaskStatus::InProgress, None)),
                ..Acted::default()
            },
        );
        assert!(
            text_of(&started, sync_fields::FINDINGS)
                .unwrap()
                .contains("Accepting the referral")
        );
        let failed = desired(
            &accept,
            &Acted {
                task: Some(task(TaskStatus::Failed, Some("InvitationAccessDenied"))),
                ..Acted::default()
            },
        );
        assert_eq!(
            text_of(&failed, sync_fields::SYNC_STATUS).as_deref(),
            Some("Needs attention")
        );
        assert!(
            text_of(&failed, sync_fields::FINDINGS)
                .unwrap()
                .contains("(InvitationAccessDenied)")
        );

        // An acceptance that could not be completed (the account refused) is not written.
        let complete = Row {
            invitation: Some(invitation("ACCEPTED")),
            record: Some(record(&[(fields::DECISION, "Accept")])),
            task: Some(task(TaskStatus::Complete, None)),
            opportunity: Some(accepted_opportunity()),
            ..row(&mapping)
        }
        .plan();
        let half = desired(
            &complete,
            &Acted {
                failure: Some(Failure::Salesforce(
                    crate::ports::salesforce::SalesforceError::Config {
                        problem: "Account: REQUIRED_FIELD_MISSING".into(),
                    },
                )),
                ..Acted::default()
            },
        );
        assert!(!half.contains_key(sync_fields::ACE_ID), "{half:?}");
        assert_eq!(
            text_of(&half, sync_fields::SYNC_STATUS).as_deref(),
            Some("Error")
        );
    }
}
