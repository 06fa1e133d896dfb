//! Engagement invitations: AWS's referrals to this partner (created through the control API)
//! and the invitations our submissions send to AWS. Creating one (with its `Engagement
//! Invitation Created` event and its expiry), ListEngagementInvitations,
//! GetEngagementInvitation and RejectEngagementInvitation (ace-api.md §3, §8, §9). What AWS
//! shares before acceptance is the payload; the rest of its opportunity stays withheld until
//! the partner accepts (`acceptance`).

use std::time::Duration;

use serde_json::{Value, json};

use super::error::ApiError;
use super::events::{DetailType, InvitationFacts, SimEvent};
use super::service::{Sim, descending, filter_list, object, page, str_of, text};
use super::store::{self, Invitation, State};
use super::timers::TimerAction;

/// A person on an invitation: one of AWS's senders, or a customer contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSpec {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub business_title: Option<String>,
    /// `+` and up to 15 digits.
    pub phone: Option<String>,
}

impl ContactSpec {
    fn to_json(&self) -> Value {
        object(vec![
            ("Email", text(&self.email)),
            ("FirstName", self.first_name.clone().map(Value::String)),
            ("LastName", self.last_name.clone().map(Value::String)),
            (
                "BusinessTitle",
                self.business_title.clone().map(Value::String),
            ),
            ("Phone", self.phone.clone().map(Value::String)),
        ])
    }
}

/// An AWS referral to create with the control API: what AWS shares in the invitation, and what
/// it withholds until the partner accepts (the customer's address beyond its country, the
/// customer's contacts and AWS account; ace-api.md §3 GetEngagementInvitation). The defaults
/// describe a plausible one.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationSpec {
    pub catalog: String,
    /// The project's title; the engagement's title is its first 40 characters.
    pub title: String,
    pub customer_company_name: String,
    /// An `Industry` value of the model.
    pub industry: String,
    pub website_url: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub business_problem: String,
    /// `YYYY-MM-DD`.
    pub target_completion_date: String,
    /// Expected monthly AWS spend in USD, as a decimal string.
    pub expected_monthly_spend_usd: String,
    pub sender_company_name: String,
    /// One to three of AWS's people.
    pub sender_contacts: Vec<ContactSpec>,
    pub message: String,
    /// Withheld until acceptance.
    pub street_address: Option<String>,
    pub city: Option<String>,
    pub state_or_region: Option<String>,
    pub postal_code: Option<String>,
    pub customer_contacts: Vec<ContactSpec>,
    pub customer_aws_account_id: Option<String>,
    /// How long the partner has to accept or reject; `None` is the simulator's
    /// `SimConfig::invitation_expiry`.
    pub expires_in: Option<Duration>,
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
            sender_contacts: vec![ContactSpec {
                email: "dana.whitfield@aws-sales.example".to_owned(),
                first_name: Some("Dana".to_owned()),
                last_name: Some("Whitfield".to_owned()),
                business_title: Some("AWS Account Manager".to_owned()),
                phone: Some("+12065550142".to_owned()),
            }],
            message: "AWS would like to co-sell this opportunity with you.".to_owned(),
            street_address: Some("2200 Harbor Way".to_owned()),
            city: Some("Seattle".to_owned()),
            state_or_region: Some("Washington".to_owned()),
            postal_code: Some("98121".to_owned()),
            customer_contacts: vec![ContactSpec {
                email: "ops.director@northwind.example".to_owned(),
                first_name: Some("Priya".to_owned()),
                last_name: Some("Raman".to_owned()),
                business_title: Some("Director of Customer Operations".to_owned()),
                phone: Some("+12065550199".to_owned()),
            }],
            customer_aws_account_id: Some("210987654321".to_owned()),
            expires_in: None,
        }
    }
}

impl InvitationSpec {
    /// What the invitation shares (`Payload.OpportunityInvitation`).
    fn payload(&self) -> Value {
        json!({"OpportunityInvitation": {
            "SenderContacts": self.sender_contacts.iter().map(ContactSpec::to_json).collect::<Vec<_>>(),
            "ReceiverResponsibilities": ["Co-Sell Facilitator"],
            "Customer": {"Industry": self.industry, "CompanyName": self.customer_company_name,
                "WebsiteUrl": self.website_url, "CountryCode": self.country_code},
            "Project": {"BusinessProblem": self.business_problem, "Title": self.title,
                "TargetCompletionDate": self.target_completion_date,
                "ExpectedCustomerSpend": [{"Amount": self.expected_monthly_spend_usd, "CurrencyCode": "USD",
                    "Frequency": "Monthly", "TargetCompany": "AWS"}]},
        }})
    }

    /// AWS's opportunity behind the referral, as the partner's opportunity will hold it once
    /// accepted (ace-api.md §3: Stage `Prospect` when shared).
    fn opportunity_body(&self) -> Value {
        let address = object(vec![
            ("CountryCode", text(&self.country_code)),
            (
                "StreetAddress",
                self.street_address.clone().map(Value::String),
            ),
            ("City", self.city.clone().map(Value::String)),
            (
                "StateOrRegion",
                self.state_or_region.clone().map(Value::String),
            ),
            ("PostalCode", self.postal_code.clone().map(Value::String)),
        ]);
        let account = object(vec![
            ("CompanyName", text(&self.customer_company_name)),
            ("Industry", text(&self.industry)),
            ("WebsiteUrl", text(&self.website_url)),
            (
                "AwsAccountId",
                self.customer_aws_account_id.clone().map(Value::String),
            ),
            ("Address", Some(address)),
        ]);
        let contacts: Vec<Value> = self
            .customer_contacts
            .iter()
            .map(ContactSpec::to_json)
            .collect();
        json!({
            "Customer": object(vec![
                ("Account", Some(account)),
                ("Contacts", (!contacts.is_empty()).then_some(Value::Array(contacts))),
            ]),
            "Project": {"Title": self.title, "CustomerBusinessProblem": self.business_problem,
                "ExpectedCustomerSpend": [{"Amount": self.expected_monthly_spend_usd, "CurrencyCode": "USD",
                    "Frequency": "Monthly", "TargetCompany": "AWS"}]},
            "LifeCycle": {"Stage": "Prospect", "TargetCloseDate": self.target_completion_date},
        })
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

    /// An invitation from AWS to this partner (`RECEIVER`, `PENDING`), if the model takes
    /// what `spec` would share; otherwise what breaks it.
    pub(super) fn create_aws_invitation(
        &self,
        spec: &InvitationSpec,
    ) -> Result<String, Vec<String>> {
        let payload = spec.payload();
        let mut problems: Vec<String> = self
            .model
            .validate_shape("Payload", &payload)
            .into_iter()
            .chain(
                self.model
                    .validate_shape("Customer", &spec.opportunity_body()["Customer"]),
            )
            .map(|v| v.to_string())
            .collect();
        if spec.title.trim().is_empty() {
            problems.push("the title is empty".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let now = store::now();
        let expires_in = spec.expires_in.unwrap_or(self.invitation_expiry);
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
                + time::Duration::try_from(expires_in).unwrap_or(time::Duration::days(15)),
            sender_account_id: "AWS".to_owned(),
            sender_company_name: spec.sender_company_name.clone(),
            receiver_account_id: self.account_id.clone(),
            message: Some(spec.message.clone()),
            rejection_reason: None,
            payload,
            withheld: Some(spec.opportunity_body()),
            opportunity_id: None,
        };
        // AWS withdraws a referral nobody acted on (ace-api.md §8: PENDING → EXPIRED).
        self.schedule(
            expires_in,
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
        Ok(id)
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
