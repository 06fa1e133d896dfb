//! Submitting an opportunity to AWS: SubmitOpportunity and StartEngagementFromOpportunityTask
//! (the engagement, its invitation to AWS, the submission) with its task list (ace-api.md §3,
//! §7, §9).

use serde_json::{Value, json};

use super::error::ApiError;
use super::events::{DetailType, SimEvent};
use super::review_flow::SubmissionRefusal;
use super::rules::{self, get_str};
use super::service::{Sim, business, object, str_of};
use super::store::{self, Opportunity, State, Submission, Task, TaskKind, TaskStatus};

impl Sim {
    pub(super) fn submit_opportunity(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "Identifier");
        let involvement = str_of(input, "InvolvementType");
        let visibility = input
            .get("Visibility")
            .and_then(Value::as_str)
            .unwrap_or("Full");
        let mut state = self.state();
        let o = state.opportunity(catalog, id)?;
        if let Err(refusal) = self.submission_problems(o, involvement, visibility) {
            return Err(business(refusal.violations()));
        }
        let previous = o.submission.clone();
        let submission = Submission {
            involvement_type: involvement.to_owned(),
            visibility: visibility.to_owned(),
            engagement_id: previous.as_ref().and_then(|s| s.engagement_id.clone()),
            invitation_id: previous.and_then(|s| s.invitation_id),
        };
        self.mark_submitted(&mut state, id, submission, true);
        Ok(json!({}))
    }

    /// Starts the task that submits the opportunity; a missing opportunity is refused at once,
    /// everything else is the task's to find out when it runs.
    pub(super) fn start_engagement_from_opportunity(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let id = str_of(input, "Identifier");
        self.start_or_replay(TaskKind::EngagementFromOpportunity, input, |state| {
            state.opportunity(catalog, id)?;
            Ok(self.start_task(
                state,
                TaskKind::EngagementFromOpportunity,
                input,
                Some(id.to_owned()),
                None,
            ))
        })
    }

    /// The task's work, on the opportunity as it is now: the engagement, the snapshot job, the
    /// invitation to AWS and the submission. A refused submission is not an error but a
    /// FAILED task with its reason (ace-api.md §7).
    pub(super) fn run_engagement_from_opportunity(&self, state: &mut State, task_id: &str) {
        let kind = TaskKind::EngagementFromOpportunity;
        let Some(task) = state.task(kind, task_id).cloned() else {
            return;
        };
        let involvement =
            get_str(&task.request, "AwsSubmission.InvolvementType").unwrap_or_default();
        let visibility = get_str(&task.request, "AwsSubmission.Visibility").unwrap_or("Full");
        let id = task.opportunity_id.clone().unwrap_or_default();
        let Ok(o) = state.opportunity(&task.catalog, &id).cloned() else {
            if let Some(t) = state.task_mut(kind, task_id) {
                t.fail(
                    "OpportunityValidationFailed",
                    format!("Opportunity {id} does not exist."),
                );
            }
            return;
        };
        let injected = state.task_failures.pop_front();
        let checked = match injected {
            Some(failure) => Err(failure),
            None => Ok(self.submission_problems(&o, involvement, visibility)),
        };
        let outcome = match checked {
            Err(failure) => Err(failure),
            Ok(Err(refusal)) => {
                let (reason, violations) = match refusal {
                    SubmissionRefusal::State(v) => ("OpportunitySubmissionFailed", vec![v]),
                    SubmissionRefusal::Rules(v) => ("OpportunityValidationFailed", v),
                };
                let message = violations
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Err((reason.to_owned(), message))
            }
            Ok(Ok(())) => {
                let engagement_id = o
                    .submission
                    .as_ref()
                    .and_then(|s| s.engagement_id.clone())
                    .unwrap_or_else(|| format!("eng-{}", store::random_id(14)));
                let invitation_id = self.invite_aws(state, &o, &engagement_id);
                let submission = Submission {
                    involvement_type: involvement.to_owned(),
                    visibility: visibility.to_owned(),
                    engagement_id: Some(engagement_id.clone()),
                    invitation_id: Some(invitation_id.clone()),
                };
                self.mark_submitted(state, &id, submission, true);
                Ok((engagement_id, invitation_id))
            }
        };
        let Some(t) = state.task_mut(kind, task_id) else {
            return;
        };
        match outcome {
            Err((reason, message)) => t.fail(&reason, message),
            Ok((engagement_id, invitation_id)) => {
                t.status = TaskStatus::Complete;
                t.engagement_id = Some(engagement_id);
                t.engagement_invitation_id = Some(invitation_id);
                t.resource_snapshot_job_id = Some(format!("job-{}", store::random_id(13)));
                t.message = Some("The opportunity was submitted to AWS for review.".to_owned());
            }
        }
    }

    /// The engagement of a first submission and its invitation to AWS (`SENDER` on our side).
    fn invite_aws(&self, state: &mut State, o: &Opportunity, engagement_id: &str) -> String {
        let now = store::now();
        let time = store::format_time(now);
        let engagement_arn = self.arn(&o.catalog, "engagement", engagement_id);
        if o.submission
            .as_ref()
            .and_then(|s| s.engagement_id.as_ref())
            .is_none()
        {
            let event = SimEvent::engagement_created(
                self.event_context(&time),
                &o.catalog,
                engagement_id,
                &engagement_arn,
            );
            self.publish(state, event);
        }
        let invitation_id = format!("engi-{}", store::random_id(13));
        let title: String = o
            .body_str("Project.Title")
            .unwrap_or("Opportunity")
            .chars()
            .take(40)
            .collect();
        let invitation = store::Invitation {
            arn: self.arn(&o.catalog, "engagement-invitation", &invitation_id),
            id: invitation_id.clone(),
            catalog: o.catalog.clone(),
            engagement_id: engagement_id.to_owned(),
            engagement_title: title,
            engagement_description: None,
            status: "PENDING".to_owned(),
            participant_type: "SENDER".to_owned(),
            invitation_date: now,
            expiration_date: now + time::Duration::days(15),
            sender_account_id: self.account_id.clone(),
            sender_company_name: "Simulated Partner".to_owned(),
            receiver_account_id: "AWS".to_owned(),
            message: Some("Opportunity submitted for AWS review.".to_owned()),
            rejection_reason: None,
            payload: json!({"OpportunityInvitation": self.invitation_payload(o)}),
            withheld: None,
            opportunity_id: Some(o.id.clone()),
        };
        state
            .invitations
            .insert(invitation_id.clone(), invitation.clone());
        self.publish_invitation(state, DetailType::EngagementInvitationCreated, &invitation);
        invitation_id
    }

    /// What an invitation shares of an opportunity (ace-api.md §3 ListEngagementInvitations).
    fn invitation_payload(&self, o: &Opportunity) -> Value {
        let body = Value::Object(o.body.clone());
        let s = |p: &str| get_str(&body, p).map(str::to_owned);
        json!({
            "ReceiverResponsibilities": ["Co-Sell Facilitator"],
            "Customer": object(vec![
                ("Industry", s("Customer.Account.Industry").map(Value::String)),
                ("CompanyName", s("Customer.Account.CompanyName").map(Value::String)),
                ("WebsiteUrl", s("Customer.Account.WebsiteUrl").map(Value::String)),
                ("CountryCode", s("Customer.Account.Address.CountryCode").map(Value::String)),
            ]),
            "Project": object(vec![
                ("BusinessProblem", s("Project.CustomerBusinessProblem").map(Value::String)),
                ("Title", s("Project.Title").map(Value::String)),
                ("TargetCompletionDate", s("LifeCycle.TargetCloseDate").map(Value::String)),
                ("ExpectedCustomerSpend", Some(rules::get(&body, "Project.ExpectedCustomerSpend").cloned().unwrap_or(json!([])))),
            ]),
        })
    }

    pub(super) fn list_engagement_from_opportunity_tasks(
        &self,
        input: &Value,
    ) -> Result<Value, ApiError> {
        self.list_tasks(
            TaskKind::EngagementFromOpportunity,
            input,
            &[
                ("OpportunityIdentifier", |t: &Task| t.opportunity_id.clone()),
                ("EngagementIdentifier", |t: &Task| t.engagement_id.clone()),
            ],
        )
    }
}
