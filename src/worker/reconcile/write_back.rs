//! Write back: what the record should show, from the pre-flight findings, ACE's side as
//! observed, the plan and what acting did; a pure function ([`desired`]), of which only the
//! difference with the record is sent (the adapter skips the call when nothing differs).
//!
//! When acting stopped on a failure worth retrying, only the progress is written (the id of
//! an opportunity just created, the retired ids), so the retry resumes from there and the
//! record does not show a state ACE has not reached.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::act::Acted;
use super::fields::{self, SyncStatus, text, truncate};
use super::observe::AceView;
use super::plan::{Action, Note, Plan};
use crate::ace::mapping::Mapping;
use crate::ace::opportunity::{LifeCycle, ReviewStatus, strip_indices};
use crate::ace::preflight::Finding;
use crate::domain::disposition::Classify;
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::{AceError, AwsSummary, TaskStatus};

/// Field → value to write (`None` clears it).
pub type Desired = BTreeMap<String, Option<FieldValue>>;

/// Everything the write-back is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub record: &'a SObject,
    pub ace: &'a AceView,
    pub plan: &'a Plan,
    pub acted: &'a Acted,
    /// The pre-flight findings: errors (then nothing went to ACE) or suggestions.
    pub findings: &'a [Finding],
    pub mapping: &'a Mapping,
    pub now: OffsetDateTime,
}

/// What ACE holds after acting, as far as the record shows it.
struct AceState<'a> {
    review: Option<ReviewStatus>,
    stage: Option<String>,
    life_cycle: Option<&'a LifeCycle>,
    summary: Option<&'a AwsSummary>,
    /// A submission task is running (started now, or seen running).
    submitting: bool,
}

/// The fields to write.
pub fn desired(o: &Outcome<'_>) -> Desired {
    let mut desired = Desired::new();
    let acted = o.acted;
    if let Some(id) = &acted.linked {
        desired.insert(fields::ACE_ID.into(), text(id.as_str()));
    }
    if let Some(previous) = &acted.previous_ids {
        desired.insert(fields::PREVIOUS_IDS.into(), text(join_ids(previous)));
    }
    let retry = acted.failure.as_ref().is_some_and(retryable);
    let adopted = o.plan.actions.iter().any(|a| matches!(a, Action::Adopt(_)));
    if retry || adopted {
        // Progress only: the next reconcile (the retry, or the check that follows an
        // adoption) writes the rest from ACE's full state.
        return desired;
    }

    let state = ace_state(o);
    let mut status = SyncStatus::Synced;
    let raise = |to: SyncStatus, status: &mut SyncStatus| {
        if rank(to) > rank(*status) {
            *status = to;
        }
    };
    let mut lines: Vec<String> = Vec::new();

    let errors: Vec<&Finding> = o.findings.iter().filter(|f| f.is_error()).collect();
    if !errors.is_empty() {
        raise(SyncStatus::NeedsAttention, &mut status);
        lines.extend(errors.iter().map(|f| format!("• {}", f.message)));
    }
    if let Some(failure) = &acted.failure {
        let (to, line) = refusal(failure, o.mapping);
        raise(to, &mut status);
        lines.push(line);
    }
    for note in &o.plan.notes {
        match note {
            Note::Blocking(message) => {
                raise(SyncStatus::NeedsAttention, &mut status);
                lines.push(format!("• {message}"));
            }
            Note::Admin(message) => {
                raise(SyncStatus::Error, &mut status);
                lines.push(format!("• {message}"));
            }
            Note::Info(message) => lines.push(format!("• {message}")),
            Note::Withheld(path) => lines.push(format!(
                "• {} can no longer change in ACE at this point of AWS's review; the new value was not sent.",
                label(o.mapping, path)
            )),
        }
    }
    if let Some(task) = &acted.task
        && task.failed()
        && !task.failed_transiently()
    {
        raise(SyncStatus::NeedsAttention, &mut status);
        lines.push(format!(
            "• ACE did not accept the submission: {}",
            task.message
                .clone()
                .or_else(|| task.reason_code.clone())
                .unwrap_or_else(|| "no reason given".to_owned())
        ));
    }
    if let Some(state) = &state {
        review_fields(&mut desired, state, o.acted.created.is_some());
        let life_cycle = state.life_cycle.cloned().unwrap_or_default();
        match &state.review {
            Some(ReviewStatus::Rejected) => {
                raise(SyncStatus::NeedsAttention, &mut status);
                let why = [life_cycle.review_status_reason, life_cycle.review_comments]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                lines.push(format!("• AWS rejected the opportunity ({why}). Fix what AWS asks for and save the record: ace-sync resubmits it as a new ACE opportunity."));
            }
            Some(ReviewStatus::ActionRequired) => {
                raise(SyncStatus::NeedsAttention, &mut status);
                let why = life_cycle.review_comments.unwrap_or_default();
                lines.push(format!("• AWS needs more information: {why}. Update the record: ace-sync sends the change and AWS reviews it again."));
            }
            Some(ReviewStatus::Submitted | ReviewStatus::InReview) => {
                raise(SyncStatus::WaitingForReview, &mut status);
            }
            _ if state.submitting => raise(SyncStatus::WaitingForReview, &mut status),
            _ => {}
        }
    }
    if errors.is_empty() {
        lines.extend(
            o.findings
                .iter()
                .filter(|f| !f.is_error())
                .map(|f| format!("• Suggestion: {}", f.message)),
        );
    }
    if let Some(task) = &acted.task
        && !task.failed()
    {
        desired.insert(
            fields::SUBMITTED_AT.into(),
            Some(FieldValue::Datetime(o.now)),
        );
    }
    desired.insert(fields::SYNC_STATUS.into(), text(status.as_str()));
    desired.insert(fields::FINDINGS.into(), text(lines.join("\n")));
    desired
}

/// Whether anything in `desired` differs from the record.
pub fn differs(record: &SObject, desired: &Desired) -> bool {
    desired
        .iter()
        .any(|(field, value)| record.get(field) != value.as_ref())
}

fn ace_state<'a>(o: &Outcome<'a>) -> Option<AceState<'a>> {
    let submitting = o
        .acted
        .task
        .as_ref()
        .is_some_and(|t| !t.failed() || t.failed_transiently());
    // A task that completed at once has submitted the opportunity (ace-api.md §3).
    let submitted = o
        .acted
        .task
        .as_ref()
        .is_some_and(|t| t.status == TaskStatus::Complete);
    let pending = if submitted {
        ReviewStatus::Submitted
    } else {
        ReviewStatus::PendingSubmission
    };
    if let Some(created) = &o.acted.created {
        return Some(AceState {
            review: Some(pending),
            stage: created.stage().map(str::to_owned),
            life_cycle: None,
            summary: None,
            submitting,
        });
    }
    let linked = o.ace.linked()?;
    if o.acted.previous_ids.is_some() {
        // Retired, and the next generation not created: nothing new to show of ACE.
        return None;
    }
    let body = &linked.opportunity.body;
    let stage = o
        .acted
        .updated
        .as_ref()
        .and_then(|p| p.stage())
        .or_else(|| body.stage())
        .map(str::to_owned);
    let seen_running = linked
        .task
        .as_ref()
        .is_some_and(|t| matches!(t.status, TaskStatus::InProgress | TaskStatus::Complete));
    let review = match body.review_status() {
        None | Some(ReviewStatus::PendingSubmission) if submitted => Some(pending),
        review => review,
    };
    Some(AceState {
        review,
        stage,
        life_cycle: body.life_cycle.as_ref(),
        summary: linked.summary.as_ref(),
        submitting: submitting || seen_running,
    })
}

/// ACE's view of the review and AWS's side, on the record.
fn review_fields(desired: &mut Desired, state: &AceState<'_>, created: bool) {
    desired.insert(
        fields::REVIEW_STATUS.into(),
        state.review.as_ref().and_then(|r| text(r.as_str())),
    );
    desired.insert(fields::STAGE.into(), state.stage.clone().and_then(text));
    if let Some(life_cycle) = state.life_cycle.or(created.then_some(&EMPTY_LIFE_CYCLE)) {
        desired.insert(
            fields::REVIEW_REASON.into(),
            life_cycle
                .review_status_reason
                .as_deref()
                .and_then(|r| text(truncate(r, fields::MAX_REVIEW_REASON))),
        );
        desired.insert(
            fields::REVIEW_COMMENTS.into(),
            life_cycle.review_comments.clone().and_then(text),
        );
    }
    if let Some(summary) = state.summary {
        desired.insert(fields::AWS_TEAM.into(), text(aws_team(summary)));
        desired.insert(
            fields::INVOLVEMENT_TYPE.into(),
            summary.involvement_type.clone().and_then(text),
        );
        desired.insert(
            fields::NEXT_STEPS.into(),
            summary.next_steps.clone().and_then(text),
        );
        desired.insert(
            fields::ENGAGEMENT_SCORE.into(),
            summary.engagement_score.clone().and_then(text),
        );
    }
}

static EMPTY_LIFE_CYCLE: LifeCycle = LifeCycle {
    stage: None,
    closed_lost_reason: None,
    next_steps: None,
    target_close_date: None,
    review_status: None,
    review_comments: None,
    review_status_reason: None,
    next_steps_history: None,
};

/// The AWS team, one member a line: "AWSSalesRep: Jane Doe <jane@amazon.com>".
fn aws_team(summary: &AwsSummary) -> String {
    summary
        .team
        .iter()
        .map(|m| {
            let name = [m.first_name.clone(), m.last_name.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let mut line = format!(
                "{}: {}",
                m.business_title.clone().unwrap_or_else(|| "AWS".to_owned()),
                if name.is_empty() {
                    "(unnamed)".to_owned()
                } else {
                    name
                }
            );
            if let Some(email) = &m.email {
                line.push_str(&format!(" <{email}>"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ids, newest last, cut from the oldest to fit the field.
fn join_ids(ids: &[String]) -> String {
    let mut keep: Vec<&str> = ids.iter().map(String::as_str).collect();
    while keep.join(";").len() > fields::MAX_PREVIOUS_IDS && keep.len() > 1 {
        keep.remove(0);
    }
    keep.join(";")
}

/// Whether a failure is worth retrying (the reconcile is run again).
pub fn retryable(error: &AceError) -> bool {
    error.is_retryable() || create_conflict(error)
}

/// CreateOpportunity answered that the ClientToken was used with another body: we created the
/// opportunity before (with older data) and the lookup has not found it yet (ListOpportunities
/// may lag a fresh create). The retry's lookup finds it.
pub fn create_conflict(error: &AceError) -> bool {
    matches!(
        error,
        AceError::Conflict {
            operation: "CreateOpportunity",
            ..
        }
    )
}

/// ACE's refusal in words a rep (or an administrator) can act on.
fn refusal(error: &AceError, mapping: &Mapping) -> (SyncStatus, String) {
    match error {
        AceError::Validation {
            errors, message, ..
        } => {
            let mut lines: Vec<String> = errors
                .iter()
                .map(|e| match &e.field_name {
                    Some(field) => match mapping.salesforce_source(&strip_indices(field)) {
                        Some(sf) => {
                            format!("• {}: {} (ACE: {field})", mapping.label(sf), e.message)
                        }
                        None => format!("• {} (ACE: {field})", e.message),
                    },
                    None => format!("• {}", e.message),
                })
                .collect();
            if lines.is_empty() {
                lines.push(format!("• {message}"));
            }
            (
                SyncStatus::NeedsAttention,
                format!("ACE refused the opportunity:\n{}", lines.join("\n")),
            )
        }
        other => (
            SyncStatus::Error,
            format!(
                "• ace-sync could not sync this opportunity with ACE: {}. An administrator has to look at it.",
                other.to_string().trim_end_matches('.')
            ),
        ),
    }
}

/// How an ACE field is named to a rep: the label of the Salesforce field that fills it.
fn label(mapping: &Mapping, path: &str) -> String {
    mapping
        .salesforce_source(path)
        .map(|sf| mapping.label(sf))
        .unwrap_or_else(|| path.to_owned())
}

fn rank(status: SyncStatus) -> u8 {
    match status {
        SyncStatus::Synced => 0,
        SyncStatus::WaitingForReview => 1,
        SyncStatus::NeedsAttention => 2,
        SyncStatus::Error => 3,
    }
}
