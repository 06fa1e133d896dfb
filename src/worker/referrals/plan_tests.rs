//! Table tests of the referral plan (and of what the record then shows, `write_back`): every
//! invitation status × record × decision × acceptance task that matters.

use super::*;
use crate::domain::ids::SfRecordId;
use crate::domain::sobject::parse_date;
use crate::worker::reconcile::fields as sync_fields;
use crate::worker::referrals::act::Acted;
use crate::worker::referrals::fixtures::*;
use crate::worker::referrals::write_back::desired;

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
