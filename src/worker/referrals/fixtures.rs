//! Fixtures of the referral tests: an invitation as AWS shares it, its record, acceptance
//! tasks, the opportunity an acceptance creates, and a row of observations to plan from.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::fields;
use super::plan::{Input, Plan, plan};
use super::write_back::desired;
use crate::ace::mapping::Mapping;
use crate::ace::opportunity::{
    Account, AceOpportunity, Address, Contact, Customer, ExpectedCustomerSpend, Opportunity,
    Project,
};
use crate::ace::referrals::ReferralMapping;
use crate::domain::ids::{AceOpportunityId, InvitationId, SfRecordId};
use crate::domain::sobject::{FieldValue, SObject, parse_datetime};
use crate::ports::partner_central::{EngagementTask, Invitation, InvitationSummary, TaskStatus};
use crate::worker::reconcile::fields as sync_fields;
use crate::worker::reconcile::write_back::Desired;
use crate::worker::referrals::act::Acted;

pub(crate) const INVITATION: &str = "engi-v7p8z56whnauo";

pub(crate) fn at(raw: &str) -> OffsetDateTime {
    parse_datetime(raw).unwrap()
}

pub(crate) fn mapping() -> ReferralMapping {
    Mapping::default_mapping().referrals.unwrap()
}

pub(crate) fn invitation(status: &str) -> Invitation {
    Invitation {
        summary: InvitationSummary {
            id: INVITATION.into(),
            arn: None,
            status: Some(status.into()),
            payload_type: Some("OpportunityInvitation".into()),
            engagement_title: Some("Contact center modernization".into()),
            sender_company_name: Some("Amazon Web Services".into()),
            invitation_date: Some(at("2026-08-01T09:00:00Z")),
            expiration_date: Some(at("2026-08-16T09:00:00Z")),
        },
        invitation_message: Some("AWS would like to co-sell this with you.".into()),
        rejection_reason: None,
        customer_company_name: Some("Northwind Traders".into()),
        customer_industry: Some("Retail".into()),
        customer_website_url: Some("https://northwind.example".into()),
        customer_country_code: Some("US".into()),
        project_title: Some("Contact center modernization".into()),
        business_problem: Some(
            "Northwind's contact center cannot scale for seasonal peaks.".into(),
        ),
        target_completion_date: Some("2026-11-30".into()),
        sender_contacts: vec![Contact {
            email: Some("dana@aws.example".into()),
            first_name: Some("Dana".into()),
            last_name: Some("Whitfield".into()),
            business_title: Some("AWS Account Manager".into()),
            phone: None,
        }],
        expected_customer_spend: vec![ExpectedCustomerSpend {
            amount: Some("8000".into()),
            currency_code: Some("USD".into()),
            frequency: Some("Monthly".into()),
            target_company: Some("AWS".into()),
            estimation_url: None,
        }],
    }
}

pub(crate) fn record(fields: &[(&str, &str)]) -> SObject {
    let mut values: BTreeMap<String, FieldValue> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), FieldValue::Text((*v).to_owned())))
        .collect();
    values.insert(
        fields::INVITATION_ID.into(),
        FieldValue::Text(INVITATION.into()),
    );
    SObject {
        sobject_type: "Opportunity".into(),
        id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
        fields: values,
    }
}

pub(crate) fn task(status: TaskStatus, reason_code: Option<&str>) -> EngagementTask {
    EngagementTask {
        task_id: Some("task-0123456789abc".into()),
        status: status.clone(),
        start_time: Some(at("2026-08-02T10:00:00Z")),
        reason_code: reason_code.map(str::to_owned),
        message: reason_code.map(|_| "The invitation cannot be accepted now.".to_owned()),
        opportunity_id: (status == TaskStatus::Complete).then(|| "O1000042".to_owned()),
        engagement_id: None,
        engagement_invitation_id: Some(INVITATION.into()),
    }
}

pub(crate) fn accepted_opportunity() -> AceOpportunity {
    AceOpportunity {
        id: AceOpportunityId::parse("O1000042").unwrap(),
        arn: None,
        created_date: at("2026-08-02T10:00:03Z"),
        last_modified_date: at("2026-08-02T10:00:03Z"),
        related: Default::default(),
        opportunity_team: Vec::new(),
        body: Opportunity {
            customer: Some(Customer {
                account: Some(Account {
                    company_name: Some("Northwind Traders".into()),
                    industry: Some("Retail".into()),
                    website_url: Some("https://northwind.example".into()),
                    address: Some(Address {
                        street_address: Some("2200 Harbor Way".into()),
                        city: Some("Seattle".into()),
                        state_or_region: Some("Washington".into()),
                        postal_code: Some("98121".into()),
                        country_code: Some("US".into()),
                    }),
                    ..Account::default()
                }),
                contacts: Some(vec![Contact {
                    email: Some("ops.director@northwind.example".into()),
                    first_name: Some("Priya".into()),
                    last_name: Some("Raman".into()),
                    business_title: Some("Director of Customer Operations".into()),
                    phone: Some("+12065550199".into()),
                }]),
            }),
            project: Some(Project {
                title: Some("Contact center modernization".into()),
                ..Project::default()
            }),
            ..Opportunity::default()
        },
    }
}

/// One row: what is observed.
pub(crate) struct Row<'a> {
    pub(crate) invitation: Option<Invitation>,
    pub(crate) record: Option<SObject>,
    pub(crate) task: Option<EngagementTask>,
    pub(crate) opportunity: Option<AceOpportunity>,
    pub(crate) changed_since_task: bool,
    pub(crate) mapping: &'a ReferralMapping,
}

impl Row<'_> {
    pub(crate) fn plan(&self) -> Plan {
        plan(&Input {
            invitation_id: &InvitationId::parse(INVITATION).unwrap(),
            invitation: self.invitation.as_ref(),
            record: self.record.as_ref(),
            task: self.task.as_ref(),
            opportunity: self.opportunity.as_ref(),
            changed_since_task: self.changed_since_task,
            mapping: self.mapping,
            now: at("2026-08-03T12:00:00Z"),
        })
    }
}

pub(crate) fn row(mapping: &ReferralMapping) -> Row<'_> {
    Row {
        invitation: Some(invitation("PENDING")),
        record: Some(record(&[])),
        task: None,
        opportunity: None,
        changed_since_task: false,
        mapping,
    }
}

pub(crate) fn text_of(desired: &Desired, field: &str) -> Option<String> {
    desired.get(field).cloned().flatten().map(|v| v.to_text())
}

/// What the record shows after `plan` with nothing done at ACE.
pub(crate) fn shown(plan: &Plan) -> (Option<String>, Option<String>, String) {
    let d = desired(plan, &Acted::default());
    (
        text_of(&d, fields::INVITATION_STATUS),
        text_of(&d, sync_fields::SYNC_STATUS),
        text_of(&d, sync_fields::FINDINGS).unwrap_or_default(),
    )
}
