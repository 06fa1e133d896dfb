//! Engagement invitations: AWS-originated referrals (created through the control API) and the
//! invitations our submissions send to AWS; listing, reading, accepting through
//! StartEngagementByAcceptingInvitationTask (which creates the opportunity) and rejecting
//! (ace-api.md §3, §8, §9).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::ApiError;
use super::events::{DetailType, InvitationFacts, SimEvent};
use super::review;
use super::service::{Sim, descending, filter_list, object, page, str_of, text};
use super::store::{
    self, Invitation, Opportunity, ReviewStatus, State, Submission, Task, TaskKind, TaskStatus,
};
use super::timers::TimerAction;

/// An AWS referral to create with the control API. The defaults describe a plausible one.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationSpec {
    pub catalog: String,
    pub title: String,
    pub customer_company_name: String,
    pub industry: String,
    pub website_url: String,
    pub country_code: String,
    pub business_problem: String,
    /// `YYYY-MM-DD`.
    pub target_completion_date: String,
    /// Expected monthly AWS spend in USD, as a decimal string.
    pub expected_monthly_spend_usd: String,
    pub sender_company_name: String,
    pub sender_contact_email: String,
    pub message: String,
    pub expires_in: Duration,
}

impl Default for InvitationSpec {
    fn default() -> Self {
        let in_90_days = (time::OffsetDateTime::now_utc() + time::Duration::days(90)).date();
        InvitationSpec {
            catalog: "Sandbox".to_owned(),
            title: "Contact center modernization".to_owned(),
            customer_company_name: "Northwind Traders".to_owned(),
            industry: "Retail".to_owned(),
            website_url: "https://northwind.example".to_owned(),
            country_code: "US".to_owned(),
            business_problem: "Northwind's on-premises contact center cannot scale for seasonal peaks; they want to move 300 agents to Amazon Connect before Q4.".to_owned(),
            target_completion_date: in_90_days.to_string(),
            expected_monthly_spend_usd: "8000".to_owned(),
            sender_company_name: "Amazon Web Services".to_owned(),
            sender_contact_email: "referrals@aws-sales.example".to_owned(),
            message: "AWS would like to co-sell this opportunity with you.".to_owned(),
            expires_in: Duration::from_secs(15 * 24 * 60 * 60),
        }
    }
}

impl Sim {
    pub(super) fn publish_invitation(
        &self,
        state: &mut State,
        detail_type: DetailType,
        inv: &Invitation,
    ) {
        let time = store::format_time(store::now());
        let expiration = store::format_time(inv.expiration_date);
        let payload_type = payload_type(inv);
        let facts = InvitationFacts {
            arn: &inv.arn,
            id: &inv.id,
            engagement_id: &inv.engagement_id,
            sender_account_id: &inv.sender_account_id,
            receiver_account_id: &inv.receiver_account_id,
            sender_company_name: &inv.sender_company_name,
            expiration_date: &expiration,
            participant_type: if inv.participant_type == "SENDER" {
                "Sender"
            } else {
                "Receiver"
            },
            payload_type,
        };
        let event =
            SimEvent::invitation(self.event_context(&time), detail_type, &inv.catalog, &facts);
        self.publish(state, event);
    }

    /// An invitation from AWS to this partner (`RECEIVER`), `PENDING`.
    pub(super) fn create_aws_invitation(&self, spec: &InvitationSpec) -> String {
        let now = store::now();
        let id = format!("engi-{}", store::random_id(13));
        let engagement_id = format!("eng-{}", store::random_id(14));
        let invitation = Invitation {
            arn: self.arn(&spec.catalog, "engagement-invitation", &id),
            id: id.clone(),
            catalog: spec.catalog.clone(),
            engagement_id,
            engagement_title: spec.title.chars().take(40).collect(),
            engagement_description: Some(spec.business_problem.chars().take(255).collect()),
            status: "PENDING".to_owned(),
            participant_type: "RECEIVER".to_owned(),
            invitation_date: now,
            expiration_date: now
                + time::Duration::try_from(spec.expires_in).unwrap_or(time::Duration::days(15)),
            sender_account_id: "AWS".to_owned(),
            sender_company_name: spec.sender_company_name.clone(),
            receiver_account_id: self.account_id.clone(),
            message: Some(spec.message.clone()),
            rejection_reason: None,
            payload: json!({"OpportunityInvitation": {
                "SenderContacts": [{"Email": spec.sender_contact_email, "BusinessTitle": "AWS Account Manager"}],
                "ReceiverResponsibilities": ["Co-Sell Facilitator"],
                "Customer": {"Industry": spec.industry, "CompanyName": spec.customer_company_name,
                    "WebsiteUrl": spec.website_url, "CountryCode": spec.country_code},
                "Project": {"BusinessProblem": spec.business_problem, "Title": spec.title,
                    "TargetCompletionDate": spec.target_completion_date,
                    "ExpectedCustomerSpend": [{"Amount": spec.expected_monthly_spend_usd, "CurrencyCode": "USD",
                        "Frequency": "Monthly", "TargetCompany": "AWS"}]},
            }}),
            opportunity_id: None,
        };
        // AWS withdraws a referral nobody acted on (ace-api.md §8: PENDING → EXPIRED).
        self.schedule(
            spec.expires_in,
            TimerAction::ExpireInvitation {
                invitation_id: id.clone(),
            },
        );
        let mut state = self.state();
        state.invitations.insert(id.clone(), invitation.clone());
        self.publish_invitation(
            &mut state,
            DetailType::EngagementInvitationCreated,
            &invitation,
        );
        id
    }

    /// A pending invitation past its date (or told to) turns `EXPIRED`.
    pub(super) fn expire_invitation(&self, state: &mut State, id: &str) -> bool {
        let Some(inv) = state.invitations.get_mut(id) else {
            return false;
        };
        if inv.status != "PENDING" {
            return false;
        }
        inv.status = "EXPIRED".to_owned();
        let inv = inv.clone();
        self.publish_invitation(state, DetailType::EngagementInvitationExpired, &inv);
        true
    }

    pub(super) fn expire_due(&self, state: &mut State) {
        let now = store::now();
        let due: Vec<String> = state
            .invitations
            .values()
            .filter(|i| i.status == "PENDING" && i.expiration_date <= now)
            .map(|i| i.id.clone())
            .collect();
        for id in due {
            self.expire_invitation(state, &id);
        }
    }

    pub(super) fn list_engagement_invitations(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let participant = str_of(input, "ParticipantType");
        let mut state = self.state();
        self.expire_due(&mut state);
        let payload_types = filter_list(input, "PayloadType");
        let statuses = filter_list(input, "Status");
        let engagements = filter_list(input, "EngagementIdentifier");
        let senders = filter_list(input, "SenderAwsAccountId");
        let keep =
            |f: &Option<Vec<String>>, v: &str| f.as_ref().is_none_or(|f| f.iter().any(|x| x == v));
        let mut invitations: Vec<&Invitation> = state
            .invitations
            .values()
            .filter(|i| i.catalog == catalog && i.participant_type == participant)
            .filter(|i| keep(&payload_types, payload_type(i)) && keep(&statuses, &i.status))
            .filter(|i| {
                keep(&engagements, &i.engagement_id) && keep(&senders, &i.sender_account_id)
            })
            .collect();
        invitations.sort_by_key(|i| (i.invitation_date, i.id.clone()));
        if descending(input, true) {
            invitations.reverse();
        }
        let (items, next) = page(invitations, input, 20)?;
        let summaries = items
            .into_iter()
            .map(|i| {
                self.model
                    .project("EngagementInvitationSummary", &invitation_document(i))
            })
            .collect();
        Ok(object(vec![
            (
                "EngagementInvitationSummaries",
                Some(Value::Array(summaries)),
            ),
            ("NextToken", next.map(Value::String)),
        ]))
    }

    pub(super) fn get_engagement_invitation(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let mut state = self.state();
        self.expire_due(&mut state);
        let key = state.invitation_key(catalog, str_of(input, "Identifier"))?;
        let inv = state
            .invitations
            .get(&key)
            .ok_or_else(|| ApiError::not_found(&key))?;
        Ok(self
            .model
            .project("GetEngagementInvitationResponse", &invitation_document(inv)))
    }

    pub(super) fn reject_engagement_invitation(&self, input: &Value) -> Result<Value, ApiError> {
        let catalog = str_of(input, "Catalog");
        let mut state = self.state();
        self.expire_due(&mut state);
        let key = state.invitation_key(catalog, str_of(input, "Identifier"))?;
        let Some(inv) = state.invitations.get_mut(&key) else {
            return Err(ApiError::not_found(&key));
        };
        if inv.participant_type != "RECEIVER" || inv.status != "PENDING" {
            return Err(ApiError::Conflict(format!(
                "Engagement invitation {key} is {} and cannot be rejected; only pending invitations you received can.",
                inv.status
            )));
        }
        inv.status = "REJECTED".to_owned();
        inv.rejection_reason = input
            .get("RejectionReason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let inv = inv.clone();
        self.publish_invitation(&mut state, DetailType::EngagementInvitationRejected, &inv);
        Ok(json!({}))
    }

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

    /// The partner's copy of an AWS referral: Origin `AWS Referral`, stage `Prospect` (as
    /// shared, Opportunity-Fields.csv), already validated by AWS.
    fn opportunity_from_invitation(
        &self,
        state: &mut State,
        inv: &Invitation,
        input: &Value,
    ) -> String {
        let p = &inv.payload["OpportunityInvitation"];
        let id = state.next_opportunity_id();
        let now = store::now();
        let body = json!({
            "Customer": {"Account": {
                "CompanyName": p["Customer"]["CompanyName"], "Industry": p["Customer"]["Industry"],
                "WebsiteUrl": p["Customer"]["WebsiteUrl"], "Address": {"CountryCode": p["Customer"]["CountryCode"]}}},
            "Project": {"Title": p["Project"]["Title"], "CustomerBusinessProblem": p["Project"]["BusinessProblem"],
                "ExpectedCustomerSpend": p["Project"]["ExpectedCustomerSpend"]},
            "LifeCycle": {"Stage": "Prospect", "TargetCloseDate": p["Project"]["TargetCompletionDate"]},
        });
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

fn payload_type(inv: &Invitation) -> &'static str {
    if inv.payload.get("LeadInvitation").is_some() {
        "LeadInvitation"
    } else {
        "OpportunityInvitation"
    }
}

/// An invitation as GetEngagementInvitation's document (summaries are projected from it).
fn invitation_document(inv: &Invitation) -> Value {
    object(vec![
        ("Arn", text(&inv.arn)),
        ("PayloadType", text(payload_type(inv))),
        ("Id", text(&inv.id)),
        ("EngagementId", text(&inv.engagement_id)),
        ("EngagementTitle", text(&inv.engagement_title)),
        ("Status", text(&inv.status)),
        (
            "InvitationDate",
            text(store::format_time(inv.invitation_date)),
        ),
        (
            "ExpirationDate",
            text(store::format_time(inv.expiration_date)),
        ),
        ("SenderAwsAccountId", text(&inv.sender_account_id)),
        ("SenderCompanyName", text(&inv.sender_company_name)),
        (
            "Receiver",
            Some(json!({"Account": {"AwsAccountId": inv.receiver_account_id}})),
        ),
        ("Catalog", text(&inv.catalog)),
        ("ParticipantType", text(&inv.participant_type)),
        (
            "RejectionReason",
            inv.rejection_reason.clone().map(Value::String),
        ),
        ("Payload", Some(inv.payload.clone())),
        ("InvitationMessage", inv.message.clone().map(Value::String)),
        (
            "EngagementDescription",
            inv.engagement_description.clone().map(Value::String),
        ),
    ])
}
