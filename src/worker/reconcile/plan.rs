//! Plan: what to do, given the record as the mapping and the pre-flight check make it and
//! ACE's side as observed. A pure function, so every combination of review status,
//! Salesforce stage and kind of change is a table row in the tests (`plan_tests.rs`).
//!
//! The plan only ever moves ACE towards what the record says, from what ACE holds now; it
//! never replays a remembered change. A change ACE cannot take now (AWS is reviewing) is left
//! for the next reconcile, which any later trigger brings.

use std::time::Duration;

use time::OffsetDateTime;

use super::fields;
use super::observe::{AceView, Linked};
use crate::ace::mapping::{MappedOpportunity, Phase, Submission};
use crate::ace::opportunity::{AceOpportunity, Opportunity, ReviewStatus};
use crate::ace::update::{self, Editability};
use crate::domain::ids::AceOpportunityId;
use crate::domain::sobject::SObject;
use crate::ports::partner_central::{OpportunitySummary, RelatedEntity, TaskStatus};

/// What the plan works from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub record: &'a SObject,
    /// What the record maps to.
    pub mapped: &'a MappedOpportunity,
    /// The request that passed the pre-flight check; `None` when the check found errors, and
    /// then nothing is sent to ACE.
    pub checked: Option<&'a MappedOpportunity>,
    pub ace: &'a AceView,
    /// The ACE fields the mapping fills (cleared in ACE when the record no longer fills them).
    pub owned: &'a [String],
    /// Whether the mapping fills the AWS products (and so owns their associations).
    pub owns_aws_products: bool,
}

/// One step of a plan, in the order it is carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The record points at this opportunity from now on: one created for it earlier whose id
    /// never reached the record.
    Adopt(AceOpportunityId),
    /// AWS rejected the record's opportunity and the record changed since: keep its id among
    /// the previous ones, and create the next generation.
    Retire {
        rejected: AceOpportunityId,
        previous_ids: Vec<String>,
    },
    /// CreateOpportunity, with the ClientToken of this generation of the record.
    Create {
        body: Opportunity,
        generation: u32,
    },
    /// UpdateOpportunity with ACE's record and our changes laid over it.
    Update {
        payload: Opportunity,
        last_modified_date: OffsetDateTime,
        changed: Vec<String>,
    },
    Associate(RelatedEntity),
    Disassociate(RelatedEntity),
    /// StartEngagementFromOpportunityTask. `after_task` is the failed task this one follows,
    /// if any: with the opportunity's version it makes the ClientToken, so a fixed
    /// resubmission is a new task and a repeat of this one is the same task.
    Submit {
        submission: Submission,
        generation: u32,
        after_task: Option<String>,
    },
}

/// What a reconcile asks for after acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Converged, or waiting for something only a trigger will bring (a rep's change, the
    /// end of AWS's review).
    Done,
    /// Look again soon: a submission task is running, or the record was just linked.
    CheckAgain(Duration),
}

/// How soon to look at a running submission task again (it usually completes in seconds;
/// the worker backs off from here).
pub const TASK_POLL: Duration = Duration::from_secs(1);

/// What the rep (or an administrator) is told beyond the pre-flight findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Something the rep must fix before the sync can go on.
    Blocking(String),
    /// Something only an administrator can fix.
    Admin(String),
    /// Worth knowing; nothing to fix.
    Info(String),
    /// Our value for this ACE field (data-model notation) was not sent: ACE locks the field
    /// at this point of AWS's review.
    Withheld(String),
}

/// The plan for one reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub then: Then,
    pub notes: Vec<Note>,
}

impl Plan {
    /// A plan that does nothing and says nothing.
    pub fn empty() -> Plan {
        Plan::nothing()
    }

    fn nothing() -> Plan {
        Plan {
            actions: Vec::new(),
            then: Then::Done,
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: Note) -> Plan {
        self.notes.push(note);
        self
    }

    /// Whether the plan writes to ACE.
    pub fn writes(&self) -> bool {
        self.actions
            .iter()
            .any(|a| !matches!(a, Action::Adopt(_) | Action::Retire { .. }))
    }
}

/// Plans one reconcile.
pub fn plan(input: &Input<'_>) -> Plan {
    let phase = input.mapped.phase;
    let previous = fields::previous_ids(input.record);
    match input.ace {
        AceView::Gone { id } => Plan::nothing().note(Note::Admin(format!(
            "ACE has no opportunity {id} in this catalog (it was deleted, or it belongs to the other catalog). Clear ACE Opportunity Id on the record to share it with ACE again."
        ))),
        AceView::Unlinked { candidates } => {
            if phase == Phase::NotYet {
                return Plan::nothing();
            }
            if let Some(found) = adoptable(candidates, &previous) {
                return adopt(found);
            }
            let Some(request) = input.checked else {
                return Plan::nothing();
            };
            if matches!(phase, Phase::Won | Phase::Lost) {
                return Plan::nothing().note(Note::Info(
                    "The opportunity closed before it was shared with ACE; ACE does not take closed opportunities, so nothing was sent.".to_owned(),
                ));
            }
            create(request, previous.len() as u32, input.owns_aws_products)
        }
        AceView::Linked(linked) => plan_linked(input, linked, previous),
    }
}

fn plan_linked(input: &Input<'_>, linked: &Linked, previous: Vec<String>) -> Plan {
    let opportunity = &linked.opportunity;
    let review = opportunity.body.review_status();
    if review == Some(ReviewStatus::Rejected) {
        return plan_rejected(input, linked, previous);
    }
    let Some(request) = input.checked else {
        return Plan::nothing();
    };
    let editable = update::editability(review.as_ref(), opportunity.body.stage());
    match editable {
        Editability::Deferred => {
            // ACE refuses every change while AWS reviews (ace-api.md §8): the change waits for
            // the reconcile that the review's end triggers.
            let pending = !update::merge(
                &opportunity.body,
                &request.body,
                &Editability::All,
                input.owned,
            )
            .changed
            .is_empty()
                || !associations(opportunity, request, input.owns_aws_products).is_empty();
            let mut plan = Plan::nothing();
            if pending {
                plan.notes.push(Note::Info(
                    "AWS is reviewing the opportunity; your latest changes will be sent to ACE when the review ends.".to_owned(),
                ));
            }
            return plan;
        }
        Editability::Closed => return Plan::nothing(),
        _ => {}
    }
    let mut plan = Plan::nothing();
    let merge = update::merge(&opportunity.body, &request.body, &editable, input.owned);
    plan.notes
        .extend(merge.withheld.iter().cloned().map(Note::Withheld));
    if !merge.changed.is_empty() {
        plan.actions.push(Action::Update {
            payload: merge.payload,
            last_modified_date: opportunity.last_modified_date,
            changed: merge.changed,
        });
    }
    plan.actions
        .extend(associations(opportunity, request, input.owns_aws_products));

    // The submission, once the record reached its stage and until AWS has it.
    let pending_submission = matches!(review, None | Some(ReviewStatus::PendingSubmission));
    if let Some(submission) = &request.submission
        && pending_submission
        && request.phase == Phase::Submit
    {
        let generation = previous.len() as u32;
        let submit = |after_task: Option<String>| Action::Submit {
            submission: submission.clone(),
            generation,
            after_task,
        };
        match &linked.task {
            None => {
                plan.actions.push(submit(None));
                plan.then = Then::CheckAgain(TASK_POLL);
            }
            Some(task) => match task.status {
                // Running, or done and ACE's review status not caught up yet.
                TaskStatus::InProgress | TaskStatus::Complete | TaskStatus::Other(_) => {
                    plan.then = Then::CheckAgain(TASK_POLL);
                }
                TaskStatus::Failed => {
                    let changed_since = plan.writes()
                        || task
                            .start_time
                            .is_none_or(|started| opportunity.last_modified_date > started);
                    if task.failed_transiently() || changed_since {
                        plan.actions.push(submit(task.task_id.clone()));
                        plan.then = Then::CheckAgain(TASK_POLL);
                    } else {
                        plan.notes.push(Note::Blocking(format!(
                            "ACE did not accept the submission: {}",
                            task.message
                                .clone()
                                .or_else(|| task.reason_code.clone())
                                .unwrap_or_else(|| "no reason given".to_owned())
                        )));
                    }
                }
            },
        }
    }
    plan
}

/// AWS rejected the opportunity: read-only from now on. A record changed since is resubmitted
/// as a new opportunity (ace-lifecycle.md stage 2: "Rejections come with a reason and can be
/// resubmitted").
fn plan_rejected(input: &Input<'_>, linked: &Linked, previous: Vec<String>) -> Plan {
    let opportunity = &linked.opportunity;
    let mut retired = previous.clone();
    if !retired.iter().any(|id| id == opportunity.id.as_str()) {
        retired.push(opportunity.id.to_string());
    }
    // A resubmission created before, whose id never reached the record: the rejected
    // opportunity is retired and the resubmission adopted.
    if let Some(found) = adoptable(&linked.successors, &retired) {
        let mut plan = adopt(found);
        plan.actions.insert(
            0,
            Action::Retire {
                rejected: opportunity.id.clone(),
                previous_ids: retired,
            },
        );
        return plan;
    }
    let Some(request) = input.checked else {
        return Plan::nothing();
    };
    if !matches!(request.phase, Phase::Share | Phase::Submit) {
        return Plan::nothing();
    }
    let changed = !update::merge(
        &opportunity.body,
        &request.body,
        &Editability::All,
        input.owned,
    )
    .changed
    .is_empty()
        || !associations(opportunity, request, input.owns_aws_products).is_empty();
    if !changed {
        return Plan::nothing();
    }
    let mut plan = Plan::nothing();
    plan.actions.push(Action::Retire {
        rejected: opportunity.id.clone(),
        previous_ids: retired.clone(),
    });
    let next = create(request, retired.len() as u32, input.owns_aws_products);
    plan.actions.extend(next.actions);
    plan.then = next.then;
    plan
}

/// A first opportunity for the record (or the next generation after a rejection).
fn create(request: &MappedOpportunity, generation: u32, owns_aws_products: bool) -> Plan {
    let mut plan = Plan::nothing();
    plan.actions.push(Action::Create {
        body: request.body.clone(),
        generation,
    });
    for solution in &request.solutions {
        plan.actions
            .push(Action::Associate(RelatedEntity::Solution(solution.clone())));
    }
    if owns_aws_products {
        for product in &request.aws_products {
            plan.actions
                .push(Action::Associate(RelatedEntity::AwsProduct(
                    product.clone(),
                )));
        }
    }
    if request.phase == Phase::Submit
        && let Some(submission) = &request.submission
    {
        plan.actions.push(Action::Submit {
            submission: submission.clone(),
            generation,
            after_task: None,
        });
        plan.then = Then::CheckAgain(TASK_POLL);
    }
    plan
}

/// The record is linked to `found`; the next reconcile plans from its full state.
fn adopt(found: &OpportunitySummary) -> Plan {
    Plan {
        actions: vec![Action::Adopt(found.id.clone())],
        then: Then::CheckAgain(Duration::ZERO),
        notes: Vec::new(),
    }
}

/// The newest candidate that is not a retired generation and not rejected.
fn adoptable<'c>(
    candidates: &'c [OpportunitySummary],
    retired: &[String],
) -> Option<&'c OpportunitySummary> {
    candidates.iter().find(|c| {
        c.review_status != Some(ReviewStatus::Rejected)
            && !retired.iter().any(|id| id == c.id.as_str())
    })
}

/// Associations to make and undo so that ACE's solutions and AWS products are the record's:
/// additions first, so a submitted opportunity never goes without a solution.
fn associations(
    opportunity: &AceOpportunity,
    request: &MappedOpportunity,
    owns_aws_products: bool,
) -> Vec<Action> {
    let mut add = Vec::new();
    let mut remove = Vec::new();
    let mut diff = |want: &[String], have: &[String], entity: fn(String) -> RelatedEntity| {
        for id in want.iter().filter(|id| !have.contains(id)) {
            add.push(Action::Associate(entity(id.clone())));
        }
        for id in have.iter().filter(|id| !want.contains(id)) {
            remove.push(Action::Disassociate(entity(id.clone())));
        }
    };
    if !request.solutions.is_empty() {
        diff(
            &request.solutions,
            &opportunity.related.solutions,
            RelatedEntity::Solution,
        );
    }
    if owns_aws_products {
        diff(
            &request.aws_products,
            &opportunity.related.aws_products,
            RelatedEntity::AwsProduct,
        );
    }
    add.extend(remove);
    add
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
