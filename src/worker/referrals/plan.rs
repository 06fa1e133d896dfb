//! Plan: what to do about one AWS referral, given the invitation, its Salesforce record, the
//! latest acceptance task and the accepted opportunity as observed. A pure function, so
//! every invitation status × record state × decision × task state is a table row in the
//! tests (`plan_tests.rs`).
//!
//! The plan moves the record towards what AWS says and AWS towards what the rep decided,
//! from what both hold now; it never replays a remembered answer.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::fields::{self, Decision, InvitationStatus, rule_value};
use crate::ace::opportunity::AceOpportunity;
use crate::ace::referrals::{ReferralMapping, Source};
use crate::domain::ids::{AceOpportunityId, InvitationId};
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{EngagementTask, Invitation, TaskStatus};
use crate::worker::reconcile::fields::SyncStatus;
use crate::worker::reconcile::write_back::Desired;

/// What the plan works from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub invitation_id: &'a InvitationId,
    /// `None`: ACE does not know the invitation (any more, or in this catalog).
    pub invitation: Option<&'a Invitation>,
    /// The record holding the invitation's id, if there is one.
    pub record: Option<&'a SObject>,
    /// The latest acceptance task, when an acceptance is wanted or done.
    pub task: Option<&'a EngagementTask>,
    /// The opportunity the acceptance created, once it completed.
    pub opportunity: Option<&'a AceOpportunity>,
    /// A rep changed the record after the latest acceptance task started: a failed
    /// acceptance is tried again.
    pub changed_since_task: bool,
    pub mapping: &'a ReferralMapping,
    pub now: OffsetDateTime,
}

/// A write to ACE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// StartEngagementByAcceptingInvitationTask; `after_task` is the failed task this attempt
    /// follows, if any (it keys the ClientToken, so a retry of this attempt is the same task).
    Accept { after_task: Option<String> },
    /// RejectEngagementInvitation with one of AWS's reasons.
    Reject { reason: &'static str },
}

/// The account the accepted record is linked to: the first one whose `match_field` is
/// `name`, or a new one with `create`'s values.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountPlan {
    pub match_field: String,
    pub name: String,
    pub create: Option<BTreeMap<String, FieldValue>>,
}

/// The acceptance, to write to the record: the ACE id, what AWS withheld until now, and the
/// account.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    pub ace_id: AceOpportunityId,
    pub values: Desired,
    pub account: Option<AccountPlan>,
}

/// What the record says of the invitation, before acting.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub status: Option<InvitationStatus>,
    pub expires: Option<OffsetDateTime>,
    pub sync: SyncStatus,
    /// Findings, one a line.
    pub lines: Vec<String>,
}

/// What comes after acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Done,
    /// Look again: the acceptance task is running.
    CheckAgain(Duration),
    /// The record names its ACE opportunity now: reconcile it as any other record.
    ReconcileRecord,
}

/// How soon to look at a running acceptance task again (the worker backs off from here).
pub const TASK_POLL: Duration = Duration::from_secs(1);

/// The plan for one invitation reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Create the record (an upsert on the invitation id) with these values.
    pub create: Option<Desired>,
    pub action: Option<Action>,
    pub acceptance: Option<Acceptance>,
    /// `None`: the record is left as it is.
    pub shown: Option<Shown>,
    pub then: Then,
}

impl Plan {
    fn nothing() -> Plan {
        Plan {
            create: None,
            action: None,
            acceptance: None,
            shown: None,
            then: Then::Done,
        }
    }

    fn showing(shown: Shown) -> Plan {
        Plan {
            shown: Some(shown),
            ..Plan::nothing()
        }
    }
}

impl Shown {
    fn new(status: Option<InvitationStatus>, expires: Option<OffsetDateTime>) -> Shown {
        Shown {
            status,
            expires,
            sync: SyncStatus::Synced,
            lines: Vec::new(),
        }
    }

    fn line(mut self, sync: SyncStatus, line: String) -> Shown {
        if rank(sync) > rank(self.sync) {
            self.sync = sync;
        }
        self.lines.push(format!("• {line}"));
        self
    }
}

pub fn rank(status: SyncStatus) -> u8 {
    match status {
        SyncStatus::Synced => 0,
        SyncStatus::WaitingForReview => 1,
        SyncStatus::NeedsAttention => 2,
        SyncStatus::Error => 3,
    }
}

/// `2026-09-12 18:00 UTC`.
pub fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// Plans one invitation reconcile.
pub fn plan(input: &Input<'_>) -> Plan {
    let Some(invitation) = input.invitation else {
        return match input.record {
            // Nothing to answer and nowhere to say so.
            None => Plan::nothing(),
            Some(record) => Plan::showing(
                Shown::new(InvitationStatus::of(record), None).line(
                    SyncStatus::Error,
                    format!(
                        "AWS no longer has the referral {} in this catalog (withdrawn, or of the other catalog); nothing was sent to AWS.",
                        input.invitation_id
                    ),
                ),
            ),
        };
    };
    // Leads (LeadInvitation) are not opportunities: not brought in.
    if invitation
        .summary
        .payload_type
        .as_deref()
        .is_some_and(|p| p != "OpportunityInvitation")
    {
        return Plan::nothing();
    }
    let Some(status) = invitation
        .summary
        .status
        .as_deref()
        .and_then(InvitationStatus::from_ace)
    else {
        return Plan::nothing();
    };
    // Salesforce keeps datetimes to the millisecond: compared at that precision, an
    // unchanged expiry is not written again.
    let expires = invitation
        .summary
        .expiration_date
        .map(|at| at.replace_millisecond(at.millisecond()).unwrap_or(at));
    let Some(record) = input.record else {
        // Only an open referral gets a record: one that ended before it was brought in
        // has nothing left to answer.
        if status != InvitationStatus::Pending {
            return Plan::nothing();
        }
        return Plan {
            create: Some(creation(input, invitation)),
            ..Plan::showing(pending(invitation, expires))
        };
    };
    let decision = Decision::of(record);
    match status {
        InvitationStatus::Pending => plan_pending(input, decision, expires, invitation),
        InvitationStatus::Accepted => plan_accepted(input, expires),
        InvitationStatus::Rejected => {
            let why = invitation
                .rejection_reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned());
            Plan::showing(Shown::new(Some(status), expires).line(
                SyncStatus::Synced,
                format!("The referral was rejected at AWS ({why})."),
            ))
        }
        InvitationStatus::Expired => {
            let mut shown = Shown::new(Some(status), expires).line(
                SyncStatus::Synced,
                format!(
                    "The referral expired{} before it was answered; AWS no longer takes an answer to it.",
                    expires.map(|at| format!(" on {}", when(at))).unwrap_or_default()
                ),
            );
            if let Some(task) = input.task.filter(|t| t.failed()) {
                shown = shown.line(SyncStatus::NeedsAttention, failed_acceptance(task));
            }
            Plan::showing(shown)
        }
    }
}

fn pending(invitation: &Invitation, expires: Option<OffsetDateTime>) -> Shown {
    let from = invitation
        .summary
        .sender_company_name
        .clone()
        .unwrap_or_else(|| "AWS".to_owned());
    Shown::new(Some(InvitationStatus::Pending), expires).line(
        SyncStatus::Synced,
        format!(
            "{from} referred this opportunity to you. Accept or reject it{}: set ACE Invitation Decision (and, to reject, ACE Invitation Rejection Reason).",
            expires.map(|at| format!(" by {}", when(at))).unwrap_or_default()
        ),
    )
}

fn plan_pending(
    input: &Input<'_>,
    decision: Option<Decision>,
    expires: Option<OffsetDateTime>,
    invitation: &Invitation,
) -> Plan {
    let shown = Shown::new(Some(InvitationStatus::Pending), expires);
    match decision {
        None => Plan::showing(pending(invitation, expires)),
        Some(Decision::Reject { reason: None }) => Plan::showing(shown.line(
            SyncStatus::NeedsAttention,
            format!(
                "To reject the referral, choose an ACE Invitation Rejection Reason ({}).",
                fields::REJECTION_REASONS.join(", ")
            ),
        )),
        Some(Decision::Reject {
            reason: Some(reason),
        }) => Plan {
            action: Some(Action::Reject { reason }),
            ..Plan::showing(shown)
        },
        Some(Decision::Accept) => {
            let accept = |after_task: Option<String>| Plan {
                action: Some(Action::Accept { after_task }),
                then: Then::CheckAgain(TASK_POLL),
                ..Plan::showing(shown.clone())
            };
            match input.task {
                None => accept(None),
                Some(task) => match task.status {
                    TaskStatus::Failed => {
                        if task.failed_transiently() || input.changed_since_task {
                            accept(task.task_id.clone())
                        } else {
                            Plan::showing(shown.clone().line(
                                SyncStatus::NeedsAttention,
                                format!(
                                    "{} Save the record again to try once more.",
                                    failed_acceptance(task)
                                ),
                            ))
                        }
                    }
                    TaskStatus::Complete => completed(input, task, shown.clone()),
                    TaskStatus::InProgress | TaskStatus::Other(_) => Plan {
                        then: Then::CheckAgain(TASK_POLL),
                        ..Plan::showing(shown.clone().line(SyncStatus::Synced, accepting()))
                    },
                },
            }
        }
    }
}

fn plan_accepted(input: &Input<'_>, expires: Option<OffsetDateTime>) -> Plan {
    let shown = Shown::new(Some(InvitationStatus::Accepted), expires);
    match input.task {
        Some(task) if task.status == TaskStatus::Complete => completed(input, task, shown),
        Some(task) if matches!(task.status, TaskStatus::InProgress | TaskStatus::Other(_)) => {
            Plan {
                then: Then::CheckAgain(TASK_POLL),
                ..Plan::showing(shown.line(SyncStatus::Synced, accepting()))
            }
        }
        // Accepted, and no acceptance of ours says which opportunity it became (accepted in
        // Partner Central itself, or our task is no longer listed).
        _ => Plan::showing(shown.line(
            SyncStatus::Error,
            "AWS has the referral as accepted, but did not say which ACE opportunity it became (it was accepted outside ace-sync?). Set ACE Opportunity Id to it: the record then syncs with it.".to_owned(),
        )),
    }
}

/// The acceptance completed: write it, once the opportunity is readable.
fn completed(input: &Input<'_>, task: &EngagementTask, shown: Shown) -> Plan {
    let Some(ace_id) = task
        .opportunity_id
        .as_deref()
        .and_then(|id| AceOpportunityId::parse(id).ok())
    else {
        return Plan::showing(shown.line(
            SyncStatus::Error,
            "AWS completed the acceptance without naming the ACE opportunity it created; set ACE Opportunity Id by hand.".to_owned(),
        ));
    };
    let Some(opportunity) = input.opportunity.filter(|o| o.id == ace_id) else {
        // Not readable yet: AWS creates it as the task ends.
        return Plan {
            then: Then::CheckAgain(TASK_POLL),
            ..Plan::showing(shown.line(SyncStatus::Synced, accepting()))
        };
    };
    let mut values = Desired::new();
    for rule in &input.mapping.fields {
        if matches!(rule.source, Source::Accepted(_)) {
            values.insert(
                rule.salesforce.clone(),
                rule_value(rule, input.invitation, Some(opportunity), None),
            );
        }
    }
    let account = input.mapping.account.as_ref().and_then(|rule| {
        // A record the rep already linked keeps its account.
        if input.record.is_some_and(|r| r.get("AccountId").is_some()) {
            return None;
        }
        let company = opportunity
            .body
            .customer
            .as_ref()
            .and_then(|c| c.account.as_ref())
            .and_then(|a| a.company_name.clone())
            .or_else(|| {
                input
                    .invitation
                    .and_then(|i| i.customer_company_name.clone())
            })?;
        let country = opportunity
            .body
            .customer
            .as_ref()
            .and_then(|c| c.account.as_ref())
            .and_then(|a| a.address.as_ref())
            .and_then(|a| a.country_code.clone());
        let create = rule.create.then(|| {
            rule.fields
                .iter()
                .filter_map(|field| {
                    rule_value(
                        field,
                        input.invitation,
                        Some(opportunity),
                        country.as_deref(),
                    )
                    .map(|v| (field.salesforce.clone(), v))
                })
                .collect()
        });
        Some(AccountPlan {
            match_field: rule.match_field.clone(),
            name: company,
            create,
        })
    });
    Plan {
        acceptance: Some(Acceptance {
            ace_id,
            values,
            account,
        }),
        then: Then::ReconcileRecord,
        ..Plan::showing(shown)
    }
}

fn accepting() -> String {
    "Accepting the referral: AWS is creating its ACE opportunity; the customer's details follow."
        .to_owned()
}

/// A failed acceptance task, in words a rep can act on.
pub fn failed_acceptance(task: &EngagementTask) -> String {
    let message = task
        .message
        .clone()
        .unwrap_or_else(|| "no reason given".to_owned());
    match &task.reason_code {
        Some(code) => format!("AWS did not accept the referral: {message} ({code})."),
        None => format!("AWS did not accept the referral: {message}."),
    }
}

/// The new record: what the invitation shares, and what ace-sync fills itself.
fn creation(input: &Input<'_>, invitation: &Invitation) -> Desired {
    let mapping = input.mapping;
    let mut values = Desired::new();
    for rule in &mapping.fields {
        if matches!(rule.source, Source::Invitation(_)) {
            values.insert(
                rule.salesforce.clone(),
                rule_value(rule, Some(invitation), None, None),
            );
        }
    }
    // Salesforce requires a Close Date.
    if !matches!(values.get("CloseDate"), Some(Some(_))) {
        let from = invitation.summary.invitation_date.unwrap_or(input.now);
        values.insert(
            "CloseDate".to_owned(),
            Some(FieldValue::Date(
                (from + time::Duration::days(i64::from(mapping.close_days))).date(),
            )),
        );
    }
    values.insert(
        "StageName".to_owned(),
        Some(FieldValue::Text(mapping.stage.clone())),
    );
    if let Some(owner) = &mapping.owner_id {
        values.insert(
            "OwnerId".to_owned(),
            Some(FieldValue::Text(owner.to_string())),
        );
    }
    if let Some(record_type) = &mapping.record_type_id {
        values.insert(
            "RecordTypeId".to_owned(),
            Some(FieldValue::Text(record_type.to_string())),
        );
    }
    values.insert(
        fields::ORIGIN.to_owned(),
        Some(FieldValue::Text(fields::AWS_REFERRAL.to_owned())),
    );
    // Fields the invitation leaves empty are not sent: a create has nothing to clear.
    values.retain(|_, v| v.is_some());
    values
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
