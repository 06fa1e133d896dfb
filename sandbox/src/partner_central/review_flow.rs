//! AWS's review as it runs: a submission is checked and enters it, timers (automatic timing)
//! or the control API move it on (`Submitted → In review → decision`), and the decision lands
//! on the partner's opportunity, on AWS's side and on the invitation the submission sent
//! (ace-api.md §8, §9).

use ace_sync::ace::model::{Violation, ViolationCode};

use super::events::DetailType;
use super::review::{self, ReviewDecision, ReviewTiming};
use super::rules;
use super::service::Sim;
use super::store::{self, AwsSide, Opportunity, ReviewStatus, State, Submission};
use super::timers::TimerAction;

/// One review step taken: the opportunity moved `from → to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewTransition {
    pub opportunity_id: String,
    pub from: String,
    pub to: String,
}

impl Sim {
    /// Why `opportunity` cannot be submitted, if it cannot: its state, then the rules.
    pub fn submission_problems(
        &self,
        opportunity: &Opportunity,
        involvement_type: &str,
        visibility: &str,
    ) -> Result<(), SubmissionRefusal> {
        if !matches!(
            opportunity.review_status,
            ReviewStatus::PendingSubmission | ReviewStatus::ActionRequired
        ) {
            return Err(SubmissionRefusal::State(Violation::new(
                "LifeCycle.ReviewStatus",
                ViolationCode::InvalidResourceState,
                format!(
                    "Cannot transition opportunity from status '{}' to 'Submitted'.",
                    opportunity.review_status.as_str()
                ),
            )));
        }
        let violations = rules::submission_rules(
            opportunity,
            involvement_type,
            visibility,
            &self.rule_context(false),
        );
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SubmissionRefusal::Rules(violations))
        }
    }

    /// Puts a checked opportunity into AWS's review.
    pub fn mark_submitted(
        &self,
        state: &mut State,
        id: &str,
        submission: Submission,
        schedule: bool,
    ) {
        let Some(o) = state.opportunities.get_mut(id) else {
            return;
        };
        o.review_status = ReviewStatus::Submitted;
        o.review_comments = None;
        o.review_status_reason = None;
        o.submission = Some(submission);
        o.review_round += 1;
        o.last_modified = store::next_modified(o.last_modified);
        let (catalog, round) = (o.catalog.clone(), o.review_round);
        self.publish_opportunity(state, DetailType::OpportunityUpdated, &catalog, id);
        if schedule
            && let ReviewTiming::Automatic {
                in_review_after, ..
            } = self.review.timing
        {
            self.schedule(
                in_review_after,
                TimerAction::ReviewStep {
                    opportunity_id: id.to_owned(),
                    round,
                },
            );
        }
    }

    /// Moves one review on by a step: `Submitted → In review`, `In review → decision`. With
    /// `round`, only if the review is still that round (a timer of an earlier submission is
    /// void).
    pub fn step_review(&self, id: &str, round: Option<u64>) -> Option<ReviewTransition> {
        let mut state = self.state();
        let o = state.opportunities.get(id)?;
        if round.is_some_and(|r| r != o.review_round) {
            return None;
        }
        match o.review_status {
            ReviewStatus::Submitted => {
                let o = state.opportunities.get_mut(id)?;
                o.review_status = ReviewStatus::InReview;
                o.last_modified = store::next_modified(o.last_modified);
                let (catalog, round) = (o.catalog.clone(), o.review_round);
                self.publish_opportunity(&mut state, DetailType::OpportunityUpdated, &catalog, id);
                if let ReviewTiming::Automatic { decision_after, .. } = self.review.timing {
                    self.schedule(
                        decision_after,
                        TimerAction::ReviewStep {
                            opportunity_id: id.to_owned(),
                            round,
                        },
                    );
                }
                Some(ReviewTransition {
                    opportunity_id: id.to_owned(),
                    from: ReviewStatus::Submitted.as_str().to_owned(),
                    to: ReviewStatus::InReview.as_str().to_owned(),
                })
            }
            ReviewStatus::InReview => {
                let decision = self.review.policy.decide(o);
                let to = self.apply_decision(&mut state, id, decision)?;
                Some(ReviewTransition {
                    opportunity_id: id.to_owned(),
                    from: ReviewStatus::InReview.as_str().to_owned(),
                    to: to.as_str().to_owned(),
                })
            }
            _ => None,
        }
    }

    /// Every opportunity whose review can move on.
    pub fn reviews_in_progress(&self) -> Vec<String> {
        self.state()
            .opportunities
            .values()
            .filter(|o| o.review_status.in_validation())
            .map(|o| o.id.clone())
            .collect()
    }

    /// AWS's decision, as the partner and AWS's side see it afterwards.
    pub fn apply_decision(
        &self,
        state: &mut State,
        id: &str,
        decision: ReviewDecision,
    ) -> Option<ReviewStatus> {
        let now = store::now();
        let o = state.opportunities.get_mut(id)?;
        let to = match decision {
            ReviewDecision::Approve => {
                o.review_status = ReviewStatus::Approved;
                o.review_comments = None;
                o.review_status_reason = None;
                let next_steps = "AWS seller assigned; schedule the introduction call with the AWS account team.".to_owned();
                let aws_stage = o
                    .body_str("LifeCycle.Stage")
                    .filter(|s| {
                        self.model
                            .enum_values("AwsOpportunityStage")
                            .is_some_and(|v| v.iter().any(|x| x == s))
                    })
                    .unwrap_or("Prospect")
                    .to_owned();
                o.aws = Some(AwsSide {
                    stage: Some(aws_stage),
                    closed_lost_reason: None,
                    next_steps: Some(next_steps.clone()),
                    next_steps_history: vec![(next_steps, now)],
                    team: review::aws_team(),
                    insights: Some(review::insights(o)),
                });
                ReviewStatus::Approved
            }
            ReviewDecision::Reject { reason, comments } => {
                o.review_status = ReviewStatus::Rejected;
                o.review_comments = Some(comments);
                o.review_status_reason = Some(reason);
                o.aws = Some(AwsSide {
                    stage: Some("Closed Lost".to_owned()),
                    closed_lost_reason: Some("Failed Vetting".to_owned()),
                    ..AwsSide::default()
                });
                ReviewStatus::Rejected
            }
            ReviewDecision::ActionRequired { reason, comments } => {
                o.review_status = ReviewStatus::ActionRequired;
                o.review_comments = Some(comments);
                o.review_status_reason = Some(reason);
                ReviewStatus::ActionRequired
            }
        };
        o.last_modified = store::next_modified(o.last_modified);
        let catalog = o.catalog.clone();
        let invitation_id = o.submission.as_ref().and_then(|s| s.invitation_id.clone());
        // The invitation the submission sent to AWS is answered with the decision
        // (ace-api.md §9: AWS approves → Invitation Accepted; rejects → Invitation Rejected).
        let invitation_event = match to {
            ReviewStatus::Approved => Some(("ACCEPTED", DetailType::EngagementInvitationAccepted)),
            ReviewStatus::Rejected => Some(("REJECTED", DetailType::EngagementInvitationRejected)),
            _ => None,
        };
        if let (Some(inv_id), Some((status, detail_type))) = (invitation_id, invitation_event)
            && let Some(inv) = state.invitations.get_mut(&inv_id)
        {
            inv.status = status.to_owned();
            let inv = inv.clone();
            self.publish_invitation(state, detail_type, &inv);
        }
        self.publish_opportunity(state, DetailType::OpportunityUpdated, &catalog, id);
        Some(to)
    }

    /// Decides an in-flight review with a given outcome (control API).
    pub(super) fn decide_review(&self, id: &str, decision: ReviewDecision) -> Option<ReviewStatus> {
        let mut state = self.state();
        let o = state.opportunities.get(id)?;
        if !o.review_status.in_validation() {
            return None;
        }
        self.apply_decision(&mut state, id, decision)
    }
}

/// Why a submission was refused.
#[derive(Debug)]
pub(super) enum SubmissionRefusal {
    State(Violation),
    Rules(Vec<Violation>),
}

impl SubmissionRefusal {
    pub fn violations(self) -> Vec<Violation> {
        match self {
            Self::State(v) => vec![v],
            Self::Rules(v) => v,
        }
    }
}
