//! Accepting an AWS referral: StartEngagementByAcceptingInvitationTask starts a task that, when
//! it runs, accepts the invitation and creates the partner's opportunity with everything AWS
//! withheld until then (Origin `AWS Referral`), with their events; and the task list
//! (ace-api.md §3, §9).

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::ApiError;
use super::events::DetailType;
use super::review;
use super::service::{Sim, str_of};
use super::store::{
    self, Invitation, Opportunity, ReviewStatus, State, Submission, Task, TaskKind, TaskStatus,
};

impl Sim {
    /// Starts the task that accepts the invitation and creates the partner's opportunity; an
    /// unknown invitation is refused at once, everything else is the task's to find out.
    pub(super) fn start_engagement_by_accepting_invitation(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        self.start_or_replay(TaskKind::EngagementByAcceptingInvitation, input, |state| {
            self.expire_due(state);
            let key = state.invitation_key(catalog, str_of(input, "Identifier"))?;
            Ok(self.start_task(
                state,
                TaskKind::EngagementByAcceptingInvitation,
                input,
                None,
                Some(key),
            ))
        })
    }

    /// The task's work, on the invitation as it is now: accepted, the partner's opportunity
    /// created from it, and their events (ace-api.md §9 "accept AWS invitation"); or FAILED
    /// when the invitation cannot be accepted any more.
    pub(super) fn run_engagement_by_accepting_invitation(&self, state: &mut State, task_id: &str) {
        let kind = TaskKind::EngagementByAcceptingInvitation;
        let Some(task) = state.task(kind, task_id).cloned() else {
            return;
        };
        self.expire_due(state);
        let key = task.engagement_invitation_id.clone().unwrap_or_default();
        let Some(inv) = state.invitations.get(&key).cloned() else {
            if let Some(t) = state.task_mut(kind, task_id) {
                t.fail(
                    "InvitationValidationFailed",
                    format!("Engagement invitation {key} does not exist."),
                );
            }
            return;
        };
        let refusal = match (inv.participant_type.as_str(), inv.status.as_str()) {
            ("SENDER", _) => Some((
                "InvitationValidationFailed",
                "Only invitations you received can be accepted.".to_owned(),
            )),
            (_, "PENDING") => None,
            (_, "EXPIRED") => Some((
                "InvitationValidationFailed",
                format!("Engagement invitation {key} has expired."),
            )),
            (_, status) => Some((
                "EngagementInvitationConflict",
                format!("Engagement invitation {key} is already {status}."),
            )),
        };
        if let Some((reason, message)) = refusal {
            if let Some(t) = state.task_mut(kind, task_id) {
                t.fail(reason, message);
            }
            return;
        }
        let catalog = inv.catalog.clone();
        let opportunity_id = self.opportunity_from_invitation(state, &inv, &task.request);
        if let Some(i) = state.invitations.get_mut(&key) {
            i.status = "ACCEPTED".to_owned();
            i.opportunity_id = Some(opportunity_id.clone());
        }
        let accepted = state.invitations[&key].clone();
        self.publish_invitation(state, DetailType::EngagementInvitationAccepted, &accepted);
        self.publish_opportunity(
            state,
            DetailType::OpportunityCreated,
            &catalog,
            &opportunity_id,
        );
        self.publish_opportunity(
            state,
            DetailType::OpportunityUpdated,
            &catalog,
            &opportunity_id,
        );
        if let Some(t) = state.task_mut(kind, task_id) {
            t.status = TaskStatus::Complete;
            t.engagement_id = Some(inv.engagement_id.clone());
            t.opportunity_id = Some(opportunity_id);
            t.resource_snapshot_job_id = Some(format!("job-{}", store::random_id(13)));
            t.message = Some("The invitation was accepted and the opportunity created.".to_owned());
        }
    }

    /// The partner's copy of an AWS referral, with what AWS withheld until acceptance: Origin
    /// `AWS Referral`, stage `Prospect` (as shared, Opportunity-Fields.csv), already validated
    /// by AWS.
    fn opportunity_from_invitation(
        &self,
        state: &mut State,
        inv: &Invitation,
        input: &Value,
    ) -> String {
        let id = state.next_opportunity_id();
        let now = store::now();
        let body = inv
            .withheld
            .clone()
            .unwrap_or_else(|| shared_body(&inv.payload));
        let mut opportunity = Opportunity {
            arn: self.opportunity_arn(&inv.catalog, &id),
            id: id.clone(),
            catalog: inv.catalog.clone(),
            origin: "AWS Referral".to_owned(),
            created: now,
            last_modified: now,
            body: body.as_object().cloned().unwrap_or_default(),
            review_status: ReviewStatus::Approved,
            review_comments: None,
            review_status_reason: None,
            next_steps_history: Vec::new(),
            related: BTreeMap::new(),
            team: Vec::new(),
            tags: input
                .get("Tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            submission: Some(Submission {
                involvement_type: "Co-Sell".to_owned(),
                visibility: "Full".to_owned(),
                engagement_id: Some(inv.engagement_id.clone()),
                invitation_id: Some(inv.id.clone()),
            }),
            review_round: 0,
            aws: None,
        };
        opportunity.aws = Some(store::AwsSide {
            stage: Some("Prospect".to_owned()),
            next_steps: Some(
                "Accept the referral and contact the customer within two business days.".to_owned(),
            ),
            next_steps_history: Vec::new(),
            team: review::aws_team(),
            insights: Some(review::insights(&opportunity)),
            closed_lost_reason: None,
        });
        state.opportunities.insert(id.clone(), opportunity);
        id
    }

    pub(super) fn list_engagement_by_accepting_invitation_tasks(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        self.list_tasks(
            TaskKind::EngagementByAcceptingInvitation,
            input,
            &[
                ("OpportunityIdentifier", |t: &Task| t.opportunity_id.clone()),
                ("EngagementInvitationIdentifier", |t: &Task| {
                    t.engagement_invitation_id.clone()
                }),
            ],
        )
    }
}

/// An opportunity body from what an invitation shares, for one that carries nothing withheld.
fn shared_body(payload: &Value) -> Value {
    let p = &payload["OpportunityInvitation"];
    serde_json::json!({
        "Customer": {"Account": {
            "CompanyName": p["Customer"]["CompanyName"], "Industry": p["Customer"]["Industry"],
            "WebsiteUrl": p["Customer"]["WebsiteUrl"], "Address": {"CountryCode": p["Customer"]["CountryCode"]}}},
        "Project": {"Title": p["Project"]["Title"], "CustomerBusinessProblem": p["Project"]["BusinessProblem"],
            "ExpectedCustomerSpend": p["Project"]["ExpectedCustomerSpend"]},
        "LifeCycle": {"Stage": "Prospect", "TargetCloseDate": p["Project"]["TargetCompletionDate"]},
    })
}
