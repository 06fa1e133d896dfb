//! Table tests of the referral plan (and of what the record then shows, `write_back`): every
//! invitation status × record × decision × acceptance task that matters.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::*;
use crate::ace::mapping::Mapping;
use crate::ace::opportunity::{
    Account, Address, Contact, Customer, ExpectedCustomerSpend, Opportunity, Project,
};
use crate::domain::ids::SfRecordId;
use crate::domain::sobject::{parse_date, parse_datetime};
use crate::ports::partner_central::{AceError, InvitationSummary};
use crate::worker::referrals::Failure;
use crate::worker::referrals::act::Acted;
use crate::worker::referrals::write_back::desired;

const INVITATION: &str = "engi-v7p8z56whnauo";

fn at(raw: &str) -> OffsetDateTime {
    parse_datetime(raw).unwrap()
}

fn mapping() -> ReferralMapping {
    Mapping::default_mapping().referrals.unwrap()
}

fn invitation(status: &str) -> Invitation {
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

fn record(fields: &[(&str, &str)]) -> SObject {
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

fn task(status: TaskStatus, reason_code: Option<&str>) -> EngagementTask {
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

fn accepted_opportunity() -> AceOpportunity {
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
struct Row<'a> {
    invitation: Option<Invitation>,
    record: Option<SObject>,
    task: Option<EngagementTask>,
    opportunity: Option<AceOpportunity>,
    changed_since_task: bool,
    mapping: &'a ReferralMapping,
}

impl Row<'_> {
    fn plan(&self) -> Plan {
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

fn row(mapping: &ReferralMapping) -> Row<'_> {
    Row {
        invitation: Some(invitation("PENDING")),
        record: Some(record(&[])),
        task: None,
        opportunity: None,
        changed_since_task: false,
        mapping,
    }
}

fn text_of(desired: &Desired, field: &str) -> Option<String> {
    desired.get(field).cloned().flatten().map(|v| v.to_text())
}

/// What the record shows after `plan` with nothing done at ACE.
fn shown(plan: &Plan) -> (Option<String>, Option<String>, String) {
    let d = desired(plan, &Acted::default());
    (
        text_of(&d, fields::INVITATION_STATUS),
        text_of(&d, sync_fields::SYNC_STATUS),
        text_of(&d, sync_fields::FINDINGS).unwrap_or_default(),
    )
}

use crate::worker::reconcile::fields as sync_fields;

#[test]
fn a_new_referral_becomes_a_record_with_what_the_invitation_shares() {
    let mapping = mapping();
    let plan = Row {
        record: None,
        ..row(&mapping)
    }
    .plan();
    let create = plan.create.clone().expect("a record to create");
    let expected: &[(&str, &str)] = &[
        ("Name", "Contact center modernization"),
        ("CloseDate", "2026-11-30"),
        ("StageName", "Prospecting"),
        (
            "ACE_Business_Problem__c",
            "Northwind's contact center cannot scale for seasonal peaks.",
        ),
        ("ACE_Expected_Monthly_Spend__c", "8000"),
        ("ACE_Customer_Company__c", "Northwind Traders"),
        ("ACE_Customer_Industry__c", "Retail"),
        ("ACE_Customer_Country__c", "US"),
        (
            "ACE_AWS_Contact__c",
            "Dana Whitfield <dana@aws.example>, AWS Account Manager",
        ),
        ("Description", "AWS would like to co-sell this with you."),
        (fields::ORIGIN, "AWS Referral"),
    ];
    for (field, value) in expected {
        assert_eq!(text_of(&create, field).as_deref(), Some(*value), "{field}");
    }
    assert!(
        !create.contains_key("ACE_Customer_Contacts__c"),
        "withheld until acceptance"
    );
    assert!(!create.contains_key("OwnerId") && !create.contains_key("RecordTypeId"));
    assert_eq!(plan.action, None);
    assert_eq!(plan.then, Then::Done);
    let d = desired(&plan, &Acted::default());
    assert_eq!(
        text_of(&d, fields::INVITATION_STATUS).as_deref(),
        Some("Pending")
    );
    assert_eq!(
        d.get(fields::INVITATION_EXPIRES),
        Some(&Some(FieldValue::Datetime(at("2026-08-16T09:00:00Z"))))
    );
    assert!(
        text_of(&d, sync_fields::FINDINGS)
            .unwrap()
            .contains("Accept or reject it by 2026-08-16 09:00 UTC"),
        "{d:?}"
    );
    assert_eq!(
        text_of(&d, "Name").as_deref(),
        Some("Contact center modernization")
    );
}

#[test]
fn creation_falls_back_for_the_close_date_and_takes_the_configured_owner() {
    let mut mapping = mapping();
    mapping.owner_id = Some(crate::domain::ids::SfUserId::parse("0055g00000AbCdE").unwrap());
    mapping.record_type_id = Some(SfRecordId::parse("0125g000000AbCd").unwrap());
    let mut no_date = invitation("PENDING");
    no_date.target_completion_date = None;
    let long = "x".repeat(300);
    no_date.project_title = Some(long.clone());
    let create = Row {
        invitation: Some(no_date),
        record: None,
        ..row(&mapping)
    }
    .plan()
    .create
    .unwrap();
    assert_eq!(
        create["CloseDate"],
        Some(FieldValue::Date(parse_date("2026-10-30").unwrap())),
        "90 days after the invitation"
    );
    assert_eq!(
        text_of(&create, "OwnerId"),
        mapping.owner_id.as_ref().map(ToString::to_string)
    );
    assert!(text_of(&create, "RecordTypeId").is_some());
    assert_eq!(text_of(&create, "Name").unwrap().chars().count(), 120);
}

#[test]
fn only_open_referrals_of_opportunities_get_a_record() {
    let mapping = mapping();
    for status in ["ACCEPTED", "REJECTED", "EXPIRED", "SOMETHING_NEW"] {
        let plan = Row {
            invitation: Some(invitation(status)),
            record: None,
            ..row(&mapping)
        }
        .plan();
        assert_eq!(plan, Plan::nothing(), "{status}");
    }
    let mut lead = invitation("PENDING");
    lead.summary.payload_type = Some("LeadInvitation".into());
    let plan = Row {
        invitation: Some(lead),
        record: None,
        ..row(&mapping)
    }
    .plan();
    assert_eq!(plan, Plan::nothing());
    let gone = Row {
        invitation: None,
        record: None,
        ..row(&mapping)
    }
    .plan();
    assert_eq!(gone, Plan::nothing());
}

#[test]
fn the_decision_on_a_pending_referral_decides_the_action() {
    let mapping = mapping();
    let decided = |fields: &[(&str, &str)], task: Option<EngagementTask>, changed: bool| {
        Row {
            record: Some(record(fields)),
            task,
            changed_since_task: changed,
            ..row(&mapping)
        }
        .plan()
    };
    let accept = [(fields::DECISION, "Accept")];
    let failed = |code| Some(task(TaskStatus::Failed, Some(code)));
    // Name, plan, then the action, what follows, the sync status and a line of the findings.
    type Expected<'a> = (
        &'a str,
        Plan,
        Option<Action>,
        Then,
        Option<&'a str>,
        &'a str,
    );
    let rows: Vec<Expected> = vec![
        (
            "no decision",
            decided(&[], None, false),
            None,
            Then::Done,
            Some("Synced"),
            "Accept or reject it",
        ),
        (
            "reject without a reason",
            decided(&[(fields::DECISION, "Reject")], None, false),
            None,
            Then::Done,
            Some("Needs attention"),
            "choose an ACE Invitation Rejection Reason",
        ),
        (
            "reject with a reason AWS does not know",
            decided(
                &[
                    (fields::DECISION, "Reject"),
                    (fields::REJECTION_REASON, "Too busy"),
                ],
                None,
                false,
            ),
            None,
            Then::Done,
            Some("Needs attention"),
            "choose an ACE Invitation Rejection Reason",
        ),
        (
            "reject with a reason",
            decided(
                &[
                    (fields::DECISION, "Reject"),
                    (fields::REJECTION_REASON, "unable to support"),
                ],
                None,
                false,
            ),
            Some(Action::Reject {
                reason: "Unable to support",
            }),
            Then::Done,
            Some("Synced"),
            "",
        ),
        (
            "accept, no task yet",
            decided(&accept, None, false),
            Some(Action::Accept { after_task: None }),
            Then::CheckAgain(TASK_POLL),
            Some("Synced"),
            "",
        ),
        (
            "accept, task running",
            decided(&accept, Some(task(TaskStatus::InProgress, None)), false),
            None,
            Then::CheckAgain(TASK_POLL),
            Some("Synced"),
            "Accepting the referral",
        ),
        (
            "accept, task failed for the invitation's reason",
            decided(&accept, failed("InvitationAccessDenied"), false),
            None,
            Then::Done,
            Some("Needs attention"),
            "AWS did not accept the referral: The invitation cannot be accepted now. (InvitationAccessDenied). Save the record again",
        ),
        (
            "accept, task failed, then the rep saved the record again",
            decided(&accept, failed("InvitationAccessDenied"), true),
            Some(Action::Accept {
                after_task: Some("task-0123456789abc".into()),
            }),
            Then::CheckAgain(TASK_POLL),
            Some("Synced"),
            "",
        ),
        (
            "accept, task failed because AWS was throttling",
            decided(&accept, failed("RequestThrottled"), false),
            Some(Action::Accept {
                after_task: Some("task-0123456789abc".into()),
            }),
            Then::CheckAgain(TASK_POLL),
            Some("Synced"),
            "",
        ),
        (
            "an unknown decision is no decision",
            decided(&[(fields::DECISION, "Maybe")], None, false),
            None,
            Then::Done,
            Some("Synced"),
            "Accept or reject it",
        ),
    ];
    for (name, plan, action, then, sync, findings) in rows {
        assert_eq!(plan.action, action, "{name}");
        assert_eq!(plan.then, then, "{name}");
        assert_eq!(plan.create, None, "{name}");
        let (status, shown_sync, shown_findings) = shown(&plan);
        assert_eq!(status.as_deref(), Some("Pending"), "{name}");
        assert_eq!(shown_sync.as_deref(), sync, "{name}");
        assert!(
            shown_findings.contains(findings),
            "{name}: {shown_findings:?} lacks {findings:?}"
        );
    }
}

#[test]
fn a_completed_acceptance_is_written_with_what_aws_withheld_and_an_account() {
    let mapping = mapping();
    for status in ["ACCEPTED", "PENDING"] {
        let plan = Row {
            invitation: Some(invitation(status)),
            record: Some(record(&[(fields::DECISION, "Accept")])),
            task: Some(task(TaskStatus::Complete, None)),
            opportunity: Some(accepted_opportunity()),
            ..row(&mapping)
        }
        .plan();
        assert_eq!(plan.action, None, "{status}");
        assert_eq!(plan.then, Then::ReconcileRecord, "{status}");
        let acceptance = plan.acceptance.clone().expect("the acceptance");
        assert_eq!(acceptance.ace_id.as_str(), "O1000042");
        assert_eq!(
            text_of(&acceptance.values, "ACE_Customer_Contacts__c").as_deref(),
            Some(
                "Priya Raman <ops.director@northwind.example>, Director of Customer Operations, +12065550199"
            )
        );
        let account = acceptance.account.clone().expect("an account to link");
        assert_eq!(account.match_field, "Name");
        assert_eq!(account.name, "Northwind Traders");
        let create = account.create.expect("created when none matches");
        for (field, value) in [
            ("Name", "Northwind Traders"),
            ("Website", "https://northwind.example"),
            ("Industry", "Retail"),
            ("BillingStreet", "2200 Harbor Way"),
            ("BillingCity", "Seattle"),
            ("BillingStateCode", "WA"),
            ("BillingPostalCode", "98121"),
            ("BillingCountryCode", "US"),
        ] {
            assert_eq!(
                create.get(field).map(FieldValue::to_text).as_deref(),
                Some(value),
                "{field}"
            );
        }
        let account_id = SfRecordId::parse("0015g00000LmNoPAAV").unwrap();
        let d = desired(
            &plan,
            &Acted {
                account: Some(account_id.clone()),
                ..Acted::default()
            },
        );
        assert_eq!(
            text_of(&d, sync_fields::ACE_ID).as_deref(),
            Some("O1000042")
        );
        assert_eq!(
            text_of(&d, "AccountId").as_deref(),
            Some(account_id.as_str())
        );
        assert_eq!(
            text_of(&d, fields::INVITATION_STATUS).as_deref(),
            Some("Accepted")
        );
        assert_eq!(
            text_of(&d, sync_fields::SYNC_STATUS).as_deref(),
            Some("Synced")
        );
        assert_eq!(
            d.get(sync_fields::FINDINGS),
            Some(&None),
            "findings cleared"
        );
    }
}

#[test]
fn an_acceptance_waits_for_its_opportunity_and_keeps_a_linked_account() {
    let mapping = mapping();
    let base = || Row {
        invitation: Some(invitation("ACCEPTED")),
        record: Some(record(&[(fields::DECISION, "Accept")])),
        task: Some(task(TaskStatus::Complete, None)),
        opportunity: Some(accepted_opportunity()),
        ..row(&mapping)
    };
    let not_yet = Row {
        opportunity: None,
        ..base()
    }
    .plan();
    assert_eq!(not_yet.acceptance, None);
    assert_eq!(not_yet.then, Then::CheckAgain(TASK_POLL));

    let linked = Row {
        record: Some(record(&[
            (fields::DECISION, "Accept"),
            ("AccountId", "0015g00000LmNoPAAV"),
        ])),
        ..base()
    }
    .plan();
    assert_eq!(linked.acceptance.unwrap().account, None);

    let mut no_create = mapping.clone();
    no_create.account.as_mut().unwrap().create = false;
    let found_only = Row {
        mapping: &no_create,
        ..base()
    }
    .plan();
    assert_eq!(found_only.acceptance.unwrap().account.unwrap().create, None);

    let elsewhere = Row {
        task: None,
        ..base()
    }
    .plan();
    assert_eq!(elsewhere.acceptance, None);
    let (status, sync, findings) = shown(&elsewhere);
    assert_eq!(status.as_deref(), Some("Accepted"));
    assert_eq!(sync.as_deref(), Some("Error"));
    assert!(findings.contains("Set ACE Opportunity Id"), "{findings}");

    let unnamed = Row {
        task: Some(EngagementTask {
            opportunity_id: None,
            ..task(TaskStatus::Complete, None)
        }),
        ..base()
    }
    .plan();
    assert_eq!(unnamed.acceptance, None);
    assert_eq!(shown(&unnamed).1.as_deref(), Some("Error"));
}

#[test]
fn ended_referrals_are_shown_as_such() {
    let mapping = mapping();
    let mut rejected = invitation("REJECTED");
    rejected.rejection_reason = Some("Duplicate of partner referral".into());
    let plan = Row {
        invitation: Some(rejected),
        ..row(&mapping)
    }
    .plan();
    assert_eq!(plan.action, None);
    let (status, sync, findings) = shown(&plan);
    assert_eq!(status.as_deref(), Some("Rejected"));
    assert_eq!(sync.as_deref(), Some("Synced"));
    assert!(
        findings.contains("Duplicate of partner referral"),
        "{findings}"
    );

    let expired = |task| {
        Row {
            invitation: Some(invitation("EXPIRED")),
            record: Some(record(&[(fields::DECISION, "Accept")])),
            task,
            ..row(&mapping)
        }
        .plan()
    };
    let (status, sync, findings) = shown(&expired(None));
    assert_eq!(status.as_deref(), Some("Expired"));
    assert_eq!(sync.as_deref(), Some("Synced"));
    assert!(
        findings.contains("expired on 2026-08-16 09:00 UTC"),
        "{findings}"
    );
    assert_eq!(expired(None).action, None);
    let (_, sync, findings) = shown(&expired(Some(task(
        TaskStatus::Failed,
        Some("InvitationValidationFailed"),
    ))));
    assert_eq!(sync.as_deref(), Some("Needs attention"));
    assert!(
        findings.contains("(InvitationValidationFailed)"),
        "{findings}"
    );

    let gone = Row {
        invitation: None,
        record: Some(record(&[(fields::INVITATION_STATUS, "Pending")])),
        ..row(&mapping)
    }
    .plan();
    let (status, sync, findings) = shown(&gone);
    assert_eq!(status.as_deref(), Some("Pending"));
    assert_eq!(sync.as_deref(), Some("Error"));
    assert!(
        findings.contains("AWS no longer has the referral"),
        "{findings}"
    );
}

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
