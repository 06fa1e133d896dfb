//! The plan as a table: review status × Salesforce stage × kind of change → actions, what
//! comes next, and what the rep is told.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::ace::opportunity::RelatedEntities;
use crate::domain::ids::SfRecordId;
use crate::domain::sobject::FieldValue;
use crate::ports::partner_central::EngagementTask;

const RECORD: &str = "0065g00000QrStUAAV";
const ACE_ID: &str = "O1000001";

/// What the record maps to at `phase`, with these changes to the base body.
fn mapped(phase: Phase, change: Change) -> MappedOpportunity {
    let mut body = json!({
        "PartnerOpportunityIdentifier": RECORD,
        "Customer": {"Account": {"CompanyName": "Acme", "Industry": "Retail",
            "WebsiteUrl": "https://acme.example", "Address": {"CountryCode": "US", "PostalCode": "98109"}}},
        "Project": {"Title": "Data platform", "CustomerBusinessProblem": "A problem of twenty-plus characters",
            "DeliveryModels": ["SaaS or PaaS"]},
        "LifeCycle": {"Stage": stage_of(phase), "NextSteps": "Kick-off", "TargetCloseDate": "2027-06-30"}
    });
    let mut aws_products = vec!["AmazonS3".to_owned()];
    match change {
        Change::None => {}
        Change::NextSteps => body["LifeCycle"]["NextSteps"] = json!("Pricing call"),
        Change::ClearedNextSteps => {
            body["LifeCycle"]
                .as_object_mut()
                .unwrap()
                .remove("NextSteps");
        }
        Change::Products => aws_products = vec!["AmazonTextract".to_owned()],
        Change::Title => body["Project"]["Title"] = json!("Data platform, phase 2"),
    }
    MappedOpportunity {
        body: Opportunity::from_json(body).unwrap(),
        phase,
        salesforce_stage: None,
        solutions: vec!["S-1234567".to_owned()],
        aws_products,
        submission: (phase >= Phase::Submit).then(|| Submission {
            involvement_type: "Co-Sell".to_owned(),
            visibility: "Full".to_owned(),
        }),
        aws_field_contact: None,
        sources: BTreeMap::new(),
    }
}

fn stage_of(phase: Phase) -> &'static str {
    match phase {
        Phase::NotYet => "Prospect",
        Phase::Share | Phase::Submit => "Qualified",
        Phase::Won => "Launched",
        Phase::Lost => "Closed Lost",
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    /// The record says what ACE has.
    None,
    /// A mapped field changed.
    NextSteps,
    /// A mapped field was cleared.
    ClearedNextSteps,
    /// The AWS products changed.
    Products,
    /// A field ACE locks after approval changed.
    Title,
}

/// ACE's opportunity as the base record would have created it, at `review` and `stage`.
fn ace(review: Option<&str>, stage: &str) -> AceOpportunity {
    let mut body: Value = mapped(Phase::Share, Change::None).body.to_json();
    body["LifeCycle"]["Stage"] = json!(stage);
    if let Some(review) = review {
        body["LifeCycle"]["ReviewStatus"] = json!(review);
    }
    AceOpportunity {
        id: AceOpportunityId::parse(ACE_ID).unwrap(),
        arn: None,
        created_date: datetime!(2026-11-01 10:00 UTC),
        last_modified_date: datetime!(2026-11-02 10:00 UTC),
        related: RelatedEntities {
            solutions: vec!["S-1234567".to_owned()],
            aws_products: vec!["AmazonS3".to_owned()],
            ..RelatedEntities::default()
        },
        opportunity_team: Vec::new(),
        body: Opportunity::from_json(body).unwrap(),
    }
}

fn linked(opportunity: AceOpportunity, task: Option<EngagementTask>) -> AceView {
    AceView::Linked(Box::new(Linked {
        opportunity,
        summary: None,
        task,
        successors: Vec::new(),
    }))
}

fn task(status: TaskStatus, reason: Option<&str>, started: OffsetDateTime) -> EngagementTask {
    EngagementTask {
        task_id: Some("task-0123456789abc".to_owned()),
        status,
        start_time: Some(started),
        reason_code: reason.map(str::to_owned),
        message: reason.map(|r| format!("AWS says {r}")),
        opportunity_id: Some(ACE_ID.to_owned()),
        engagement_id: None,
        engagement_invitation_id: None,
    }
}

fn record(previous_ids: Option<&str>) -> SObject {
    let mut fields = BTreeMap::new();
    if let Some(ids) = previous_ids {
        fields.insert(
            fields::PREVIOUS_IDS.to_owned(),
            FieldValue::Text(ids.to_owned()),
        );
    }
    SObject {
        sobject_type: "Opportunity".to_owned(),
        id: SfRecordId::parse(RECORD).unwrap(),
        fields,
    }
}

fn owned() -> Vec<String> {
    [
        "LifeCycle.NextSteps",
        "LifeCycle.Stage",
        "Project.Title",
        "Project.CustomerBusinessProblem",
        "Project.DeliveryModels",
        "PartnerOpportunityIdentifier",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A plan in a line: its actions, then what comes next, then the notes' kinds.
fn summary(plan: &Plan) -> String {
    let mut parts: Vec<String> = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::Adopt(id) => format!("Adopt({id})"),
            Action::Retire { previous_ids, .. } => format!("Retire({})", previous_ids.join(";")),
            Action::Create { generation, .. } => format!("Create(g{generation})"),
            Action::Update { changed, .. } => format!("Update({})", changed.join(",")),
            Action::Associate(e) => format!("Associate({e})"),
            Action::Disassociate(e) => format!("Disassociate({e})"),
            Action::Submit { after_task, .. } => match after_task {
                Some(_) => "Submit(after failed task)".to_owned(),
                None => "Submit".to_owned(),
            },
        })
        .collect();
    parts.push(match plan.then {
        Then::Done => "Done".to_owned(),
        Then::CheckAgain(after) if after.is_zero() => "CheckAgainNow".to_owned(),
        Then::CheckAgain(_) => "CheckAgain".to_owned(),
    });
    for note in &plan.notes {
        parts.push(
            match note {
                Note::Blocking(_) => "!blocking",
                Note::Admin(_) => "!admin",
                Note::Info(_) => "!info",
                Note::Withheld(_) => "!withheld",
            }
            .to_owned(),
        );
    }
    parts.join(" ")
}

fn plan_for(
    phase: Phase,
    change: Change,
    view: &AceView,
    preflight_ok: bool,
    previous_ids: Option<&str>,
) -> String {
    let mapped = mapped(phase, change);
    let record = record(previous_ids);
    let owned = owned();
    let input = Input {
        record: &record,
        mapped: &mapped,
        checked: preflight_ok.then_some(&mapped),
        ace: view,
        owned: &owned,
        owns_aws_products: true,
    };
    summary(&plan(&input))
}

fn unlinked() -> AceView {
    AceView::Unlinked {
        candidates: Vec::new(),
    }
}

const CREATE_SHARE: &str =
    "Create(g0) Associate(solution S-1234567) Associate(AWS product AmazonS3) Done";
const CREATE_SUBMIT: &str =
    "Create(g0) Associate(solution S-1234567) Associate(AWS product AmazonS3) Submit CheckAgain";

#[test]
fn an_unlinked_record_is_created_once_it_reaches_its_stage() {
    use Phase::*;
    let rows: &[(Phase, bool, &str)] = &[
        (NotYet, true, "Done"),
        (Share, true, CREATE_SHARE),
        (Submit, true, CREATE_SUBMIT),
        (Won, true, "Done !info"),
        (Lost, true, "Done !info"),
        // Pre-flight errors: nothing goes to ACE.
        (Share, false, "Done"),
        (Submit, false, "Done"),
    ];
    for (phase, ok, expected) in rows {
        assert_eq!(
            plan_for(*phase, Change::None, &unlinked(), *ok, None),
            *expected,
            "{phase:?}, pre-flight {ok}"
        );
    }
}

fn summary_of(id: &str, review: Option<ReviewStatus>) -> OpportunitySummary {
    OpportunitySummary {
        id: AceOpportunityId::parse(id).unwrap(),
        partner_opportunity_identifier: Some(RECORD.to_owned()),
        last_modified_date: None,
        created_date: None,
        stage: None,
        review_status: review,
        company_name: None,
    }
}

#[test]
fn an_opportunity_created_earlier_for_the_record_is_adopted_not_created_again() {
    let found = |candidates| AceView::Unlinked { candidates };
    // Newest first: a live one is adopted (even if the account was renamed since: the lookup
    // does not go by name).
    let view = found(vec![summary_of(
        "O1000002",
        Some(ReviewStatus::PendingSubmission),
    )]);
    assert_eq!(
        plan_for(Phase::Submit, Change::None, &view, true, None),
        "Adopt(O1000002) CheckAgainNow"
    );
    // A rejected one, or one the record already retired, is not the record's any more.
    let view = found(vec![
        summary_of("O1000003", Some(ReviewStatus::Rejected)),
        summary_of("O1000001", None),
    ]);
    assert_eq!(
        plan_for(Phase::Share, Change::None, &view, true, Some("O1000001")),
        "Create(g1) Associate(solution S-1234567) Associate(AWS product AmazonS3) Done"
    );
}

#[test]
fn a_linked_opportunity_converges_by_review_status_stage_and_kind_of_change() {
    use Change as C;
    use Phase::*;
    let pending = Some("Pending Submission");
    let rows: &[(Option<&str>, &str, Phase, Change, &str)] = &[
        // Pending Submission: every change goes; the submission follows at its stage.
        (pending, "Qualified", Share, C::None, "Done"),
        (
            pending,
            "Qualified",
            Share,
            C::NextSteps,
            "Update(LifeCycle.NextSteps) Done",
        ),
        (
            pending,
            "Qualified",
            Share,
            C::ClearedNextSteps,
            "Update(LifeCycle.NextSteps) Done",
        ),
        (
            pending,
            "Qualified",
            Share,
            C::Products,
            "Associate(AWS product AmazonTextract) Disassociate(AWS product AmazonS3) Done",
        ),
        (pending, "Qualified", Submit, C::None, "Submit CheckAgain"),
        (
            pending,
            "Qualified",
            Submit,
            C::NextSteps,
            "Update(LifeCycle.NextSteps) Submit CheckAgain",
        ),
        // AWS reviewing: nothing is sent; a pending change is said to wait.
        (Some("Submitted"), "Qualified", Submit, C::None, "Done"),
        (
            Some("Submitted"),
            "Qualified",
            Submit,
            C::NextSteps,
            "Done !info",
        ),
        (
            Some("In review"),
            "Qualified",
            Submit,
            C::Products,
            "Done !info",
        ),
        (Some("In review"), "Qualified", Won, C::None, "Done !info"),
        // Approved: changes go, except what ACE locks after approval.
        (Some("Approved"), "Qualified", Submit, C::None, "Done"),
        (
            Some("Approved"),
            "Qualified",
            Submit,
            C::NextSteps,
            "Update(LifeCycle.NextSteps) Done",
        ),
        (
            Some("Approved"),
            "Qualified",
            Submit,
            C::Title,
            "Done !withheld",
        ),
        (
            Some("Approved"),
            "Qualified",
            Won,
            C::None,
            "Update(LifeCycle.Stage) Done",
        ),
        (
            Some("Approved"),
            "Qualified",
            Lost,
            C::None,
            "Update(LifeCycle.Stage) Done",
        ),
        // Launched: only what still counts is sent; Closed Lost takes nothing.
        (Some("Approved"), "Launched", Won, C::None, "Done"),
        (Some("Approved"), "Closed Lost", Lost, C::NextSteps, "Done"),
        // Action Required: what AWS asks about may change (and goes back to review).
        (
            Some("Action Required"),
            "Qualified",
            Submit,
            C::None,
            "Done",
        ),
        (
            Some("Action Required"),
            "Qualified",
            Submit,
            C::Title,
            "Done !withheld",
        ),
        (
            Some("Action Required"),
            "Qualified",
            Submit,
            C::NextSteps,
            "Done !withheld",
        ),
        // Rejected: read-only; a changed record is resubmitted as a new generation.
        (Some("Rejected"), "Qualified", Submit, C::None, "Done"),
        (
            Some("Rejected"),
            "Qualified",
            Submit,
            C::NextSteps,
            "Retire(O1000001) Create(g1) Associate(solution S-1234567) Associate(AWS product AmazonS3) Submit CheckAgain",
        ),
        (Some("Rejected"), "Qualified", Won, C::NextSteps, "Done"),
    ];
    for (review, stage, phase, change, expected) in rows {
        let view = linked(ace(*review, stage), None);
        assert_eq!(
            plan_for(*phase, *change, &view, true, None),
            *expected,
            "{review:?} / ACE stage {stage} / {phase:?} / {change:?}"
        );
    }
}

#[test]
fn pre_flight_errors_keep_everything_from_ace_whatever_its_state() {
    for review in [
        Some("Pending Submission"),
        Some("Approved"),
        Some("Action Required"),
        Some("Rejected"),
    ] {
        let view = linked(ace(review, "Qualified"), None);
        assert_eq!(
            plan_for(Phase::Submit, Change::NextSteps, &view, false, None),
            "Done",
            "{review:?}"
        );
    }
}

#[test]
fn the_submission_task_is_followed_until_it_ends() {
    let pending = || ace(Some("Pending Submission"), "Qualified");
    let before = datetime!(2026-11-01 12:00 UTC);
    let after = datetime!(2026-11-03 12:00 UTC);
    let rows: &[(EngagementTask, Change, &str)] = &[
        (
            task(TaskStatus::InProgress, None, after),
            Change::None,
            "CheckAgain",
        ),
        // Complete, and ACE's review status not caught up yet.
        (
            task(TaskStatus::Complete, None, after),
            Change::None,
            "CheckAgain",
        ),
        // Failed on the opportunity as it is: the rep must fix something; no resubmission.
        (
            task(
                TaskStatus::Failed,
                Some("OpportunityValidationFailed"),
                after,
            ),
            Change::None,
            "Done !blocking",
        ),
        // The opportunity changed since (the rep fixed it): a new submission.
        (
            task(
                TaskStatus::Failed,
                Some("OpportunityValidationFailed"),
                before,
            ),
            Change::None,
            "Submit(after failed task) CheckAgain",
        ),
        (
            task(
                TaskStatus::Failed,
                Some("OpportunityValidationFailed"),
                after,
            ),
            Change::NextSteps,
            "Update(LifeCycle.NextSteps) Submit(after failed task) CheckAgain",
        ),
        // AWS failed for its own reasons: try again.
        (
            task(TaskStatus::Failed, Some("RequestThrottled"), after),
            Change::None,
            "Submit(after failed task) CheckAgain",
        ),
    ];
    for (task, change, expected) in rows {
        let view = linked(pending(), Some(task.clone()));
        assert_eq!(
            plan_for(Phase::Submit, *change, &view, true, None),
            *expected,
            "{task:?} / {change:?}"
        );
    }
}

#[test]
fn a_rejected_opportunity_is_retired_once_and_its_successor_adopted() {
    // Retried after a failure: the retired id is kept once, and the generation is the same.
    let view = linked(ace(Some("Rejected"), "Qualified"), None);
    assert_eq!(
        plan_for(
            Phase::Submit,
            Change::NextSteps,
            &view,
            true,
            Some("O1000001")
        ),
        "Retire(O1000001) Create(g1) Associate(solution S-1234567) Associate(AWS product AmazonS3) Submit CheckAgain"
    );
    assert_eq!(
        plan_for(
            Phase::Share,
            Change::NextSteps,
            &view,
            true,
            Some("O0999999;O1000001;O1000001")
        ),
        "Retire(O0999999;O1000001) Create(g2) Associate(solution S-1234567) Associate(AWS product AmazonS3) Done"
    );
    // The resubmission was created but its id never reached the record: adopted.
    let AceView::Linked(mut with_successor) = view else {
        unreachable!()
    };
    with_successor.successors = vec![summary_of("O1000009", Some(ReviewStatus::Submitted))];
    assert_eq!(
        plan_for(
            Phase::Submit,
            Change::NextSteps,
            &AceView::Linked(with_successor),
            true,
            Some("O1000001")
        ),
        "Retire(O1000001) Adopt(O1000009) CheckAgainNow"
    );
}

#[test]
fn an_opportunity_ace_does_not_know_is_for_an_administrator() {
    let view = AceView::Gone {
        id: AceOpportunityId::parse(ACE_ID).unwrap(),
    };
    assert_eq!(
        plan_for(Phase::Submit, Change::None, &view, true, None),
        "Done !admin"
    );
}

#[test]
fn only_the_mappings_fields_are_cleared() {
    // ACE holds a value the mapping does not fill (AWS's own, say): it is kept.
    let mut opportunity = ace(Some("Pending Submission"), "Qualified");
    let mut body = opportunity.body.to_json();
    body["Project"]["AdditionalComments"] = json!("From AWS");
    opportunity.body = Opportunity::from_json(body).unwrap();
    let view = linked(opportunity, None);
    assert_eq!(
        plan_for(Phase::Share, Change::ClearedNextSteps, &view, true, None),
        "Update(LifeCycle.NextSteps) Done"
    );
    let mapped = mapped(Phase::Share, Change::ClearedNextSteps);
    let record = record(None);
    let owned = owned();
    let planned = plan(&Input {
        record: &record,
        mapped: &mapped,
        checked: Some(&mapped),
        ace: &view,
        owned: &owned,
        owns_aws_products: true,
    });
    let Action::Update { payload, .. } = &planned.actions[0] else {
        panic!("{planned:?}")
    };
    let payload = payload.to_json();
    assert!(payload["LifeCycle"].get("NextSteps").is_none(), "{payload}");
    assert_eq!(payload["Project"]["AdditionalComments"], "From AWS");
}
