//! "ACE status": `GET /api/v1/opportunities/{opportunityId}/status`. Both sides as they are
//! now, the last sync, and what the reconciler would do next, from the reconciler's own steps
//! ([`Reconciler::preview`](crate::worker::reconcile::Reconciler::preview) with ACE asked):
//! one Salesforce read and at most two ACE reads, nothing written.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::body::{Finding, SyncPhase};
use super::params;
use super::problem::{ApiError, Problem};
use super::{ApiState, answer};
use crate::ace::mapping::Mapping;
use crate::config::ApiScope;
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::partner_central::AwsTeamMember;
use crate::worker::reconcile::Preview;
use crate::worker::reconcile::fields;
use crate::worker::reconcile::observe::AceView;
use crate::worker::reconcile::plan::{Action, Note, Then};

/// An opportunity on both sides, and what comes next.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    pub opportunity_id: String,
    pub opportunity_name: Option<String>,
    /// The Salesforce stage.
    pub stage: Option<String>,
    pub phase: SyncPhase,
    /// Both sides agree: the reconciler would change nothing, in ACE or on the record.
    pub in_sync: bool,
    /// One line for a screen.
    pub summary: String,
    /// When ace-sync last wrote the record (`ACE_Last_Synced__c`).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_synced: Option<OffsetDateTime>,
    pub salesforce: SalesforceSide,
    pub ace: AceSide,
    /// What a reconcile would do in ACE, in order; empty when nothing.
    pub next_actions: Vec<PlannedAction>,
    /// After acting, the reconciler would look again this many seconds later (a submission
    /// task running); 0 when it would wait for the next change.
    pub check_again_after_seconds: i32,
    /// What the rep or an administrator would be told beyond the findings.
    pub notes: Vec<String>,
    /// The record's fields a reconcile would change to show ACE's side, with their values.
    pub record_changes: Vec<FieldChange>,
    pub ace_would_accept: bool,
    pub findings: Vec<Finding>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: OffsetDateTime,
}

/// What the Salesforce record shows of ACE (the fields ace-sync writes).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SalesforceSide {
    pub ace_opportunity_id: Option<String>,
    /// `Synced`, `Needs attention`, `Waiting for AWS review` or `Error`.
    pub sync_status: Option<String>,
    pub review_status: Option<String>,
    pub ace_stage: Option<String>,
    pub findings: Option<String>,
    pub previous_ace_ids: Option<String>,
}

/// Whether the record has an ACE opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AceLink {
    /// The record names no ACE opportunity (yet).
    Unlinked,
    /// The record's ACE opportunity, read now.
    Linked,
    /// The record names an opportunity ACE does not have (deleted, or of the other catalog).
    Gone,
}

/// What ACE holds now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AceSide {
    pub link: AceLink,
    pub ace_opportunity_id: Option<String>,
    pub review_status: Option<String>,
    pub review_status_reason: Option<String>,
    pub review_comments: Option<String>,
    /// The partner's ACE stage.
    pub stage: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_modified: Option<OffsetDateTime>,
    /// AWS's involvement, once approved.
    pub involvement_type: Option<String>,
    /// AWS's next steps, once approved.
    pub next_steps: Option<String>,
    /// The AWS team, one member per item ("AWSSalesRep: Jane Doe <jane@amazon.com>").
    pub aws_team: Vec<String>,
    /// The latest submission task's status while a submission is pending (`IN_PROGRESS`,
    /// `COMPLETE`, `FAILED`).
    pub submission_task: Option<String>,
    /// Unlinked: opportunities found in ACE carrying the record's id (a create whose id never
    /// reached the record), newest first.
    pub found_for_record: Vec<String>,
}

/// One step a reconcile would take in ACE.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    /// The Partner Central operation, e.g. `UpdateOpportunity`.
    pub operation: String,
    pub description: String,
}

/// A field of the record and the value a reconcile would write (empty: cleared).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: String,
    pub value: Option<String>,
}

/// "ACE status": what Salesforce and ACE hold, the last sync and the reconciler's next
/// actions. One Salesforce read and at most two ACE reads; nothing written.
#[utoipa::path(
    tag = "api",
    operation_id = "getOpportunityStatus",
    params(
        ("opportunityId" = String, Path, description = "The Salesforce opportunity id (15 or 18 characters, 006…)."),
    ),
    responses(
        (status = 200, description = "Both sides and the next actions.", body = StatusResult),
        (status = 400, description = "The id is not an opportunity id.", body = Problem),
        (status = 401, description = "No API key, or not one of this service's.", body = Problem),
        (status = 403, description = "The key may not call this operation (scope `status`).", body = Problem),
        (status = 404, description = "No such opportunity visible to ace-sync's integration user.", body = Problem),
        (status = 502, description = "Salesforce or Partner Central refused ace-sync: an administrator must act.", body = Problem),
        (status = 503, description = "Salesforce or Partner Central did not answer in time; try again.", body = Problem),
    ),
    security(("apiKey" = [])),
)]
#[get("/api/v1/opportunities/{opportunityId}/status")]
pub async fn status(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    answer(
        &state,
        &request,
        "status",
        Some(ApiScope::Status),
        || async {
            let id = params::path_opportunity_id(&request)?;
            params::query(&request, &[])?;
            let Some(preview) = state.reconciler.preview(&id, true).await? else {
                return Err(ApiError::NotFound(id));
            };
            Ok((StatusCode::OK, result(&preview, state.reconciler.mapping())))
        },
    )
    .await
}

fn result(preview: &Preview, mapping: &Mapping) -> StatusResult {
    let assessment = &preview.assessment;
    let record = &assessment.record;
    let findings: Vec<Finding> = assessment
        .findings
        .iter()
        .map(|f| Finding::from_preflight(f, mapping))
        .collect();
    let next_actions: Vec<PlannedAction> = preview.plan.actions.iter().map(planned).collect();
    let in_sync = !preview.drifts();
    let summary = if in_sync {
        "In sync: ACE and the record agree.".to_owned()
    } else if next_actions.is_empty() {
        "ACE has what the record says; the record has not caught up with ACE yet.".to_owned()
    } else {
        format!(
            "Out of sync: a reconcile would {}.",
            next_actions
                .iter()
                .map(|a| a.operation.as_str())
                .collect::<Vec<_>>()
                .join(", then ")
        )
    };
    StatusResult {
        opportunity_id: record.id.to_string(),
        opportunity_name: record.text("Name"),
        stage: record.text("StageName"),
        phase: assessment.mapped.phase.into(),
        in_sync,
        summary,
        last_synced: record
            .get(fields::LAST_SYNCED)
            .and_then(FieldValue::as_datetime),
        salesforce: salesforce_side(record),
        ace: ace_side(preview.ace.as_ref()),
        next_actions,
        check_again_after_seconds: match preview.plan.then {
            Then::CheckAgain(after) => i32::try_from(after.as_secs()).unwrap_or(i32::MAX),
            Then::Done => 0,
        },
        notes: preview.plan.notes.iter().map(note).collect(),
        record_changes: preview
            .record_drift
            .iter()
            .map(|(field, value)| FieldChange {
                field: field.clone(),
                value: value.as_ref().map(FieldValue::to_text),
            })
            .collect(),
        ace_would_accept: assessment.checked.is_some(),
        findings,
        checked_at: assessment.now,
    }
}

fn salesforce_side(record: &SObject) -> SalesforceSide {
    SalesforceSide {
        ace_opportunity_id: record.text(fields::ACE_ID),
        sync_status: record.text(fields::SYNC_STATUS),
        review_status: record.text(fields::REVIEW_STATUS),
        ace_stage: record.text(fields::STAGE),
        findings: record.text(fields::FINDINGS),
        previous_ace_ids: record.text(fields::PREVIOUS_IDS),
    }
}

fn ace_side(view: Option<&AceView>) -> AceSide {
    let mut side = AceSide {
        link: AceLink::Unlinked,
        ace_opportunity_id: None,
        review_status: None,
        review_status_reason: None,
        review_comments: None,
        stage: None,
        last_modified: None,
        involvement_type: None,
        next_steps: None,
        aws_team: Vec::new(),
        submission_task: None,
        found_for_record: Vec::new(),
    };
    match view {
        None => {}
        Some(AceView::Unlinked { candidates }) => {
            side.found_for_record = candidates.iter().map(|c| c.id.to_string()).collect();
        }
        Some(AceView::Gone { id }) => {
            side.link = AceLink::Gone;
            side.ace_opportunity_id = Some(id.to_string());
        }
        Some(AceView::Linked(linked)) => {
            let opportunity = &linked.opportunity;
            let life_cycle = opportunity.body.life_cycle.as_ref();
            side.link = AceLink::Linked;
            side.ace_opportunity_id = Some(opportunity.id.to_string());
            side.review_status = life_cycle.and_then(|l| l.review_status.clone());
            side.review_status_reason = life_cycle.and_then(|l| l.review_status_reason.clone());
            side.review_comments = life_cycle.and_then(|l| l.review_comments.clone());
            side.stage = opportunity.body.stage().map(str::to_owned);
            side.last_modified = Some(opportunity.last_modified_date);
            if let Some(summary) = &linked.summary {
                side.involvement_type = summary.involvement_type.clone();
                side.next_steps = summary.next_steps.clone();
                side.aws_team = summary.team.iter().map(team_member).collect();
            }
            side.submission_task = linked.task.as_ref().map(|t| match &t.status {
                crate::ports::partner_central::TaskStatus::InProgress => "IN_PROGRESS".to_owned(),
                crate::ports::partner_central::TaskStatus::Complete => "COMPLETE".to_owned(),
                crate::ports::partner_central::TaskStatus::Failed => "FAILED".to_owned(),
                crate::ports::partner_central::TaskStatus::Other(other) => other.clone(),
            });
            side.found_for_record = linked.successors.iter().map(|c| c.id.to_string()).collect();
        }
    }
    side
}

fn team_member(member: &AwsTeamMember) -> String {
    let name = [member.first_name.as_deref(), member.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut line = format!(
        "{}: {}",
        member.business_title.as_deref().unwrap_or("AWS"),
        if name.is_empty() { "(unnamed)" } else { &name }
    );
    if let Some(email) = &member.email {
        line.push_str(&format!(" <{email}>"));
    }
    line
}

fn planned(action: &Action) -> PlannedAction {
    let (operation, description) = match action {
        Action::Adopt(id) => (
            "Adopt",
            format!(
                "Link the record to {id}, created in ACE for it earlier; its id never reached the record."
            ),
        ),
        Action::Retire { rejected, .. } => (
            "Resubmit",
            format!(
                "AWS rejected {rejected}: keep its id among the previous ones and create the next opportunity."
            ),
        ),
        Action::Create { .. } => (
            "CreateOpportunity",
            "Create the opportunity in ACE (review status Pending Submission).".to_owned(),
        ),
        Action::Update { changed, .. } => (
            "UpdateOpportunity",
            format!("Change in ACE: {}.", changed.join(", ")),
        ),
        Action::Associate(entity) => ("AssociateOpportunity", format!("Associate {entity}.")),
        Action::Disassociate(entity) => {
            ("DisassociateOpportunity", format!("Disassociate {entity}."))
        }
        Action::Submit { submission, .. } => (
            "StartEngagementFromOpportunityTask",
            format!(
                "Submit to AWS for review ({}, {} visibility).",
                submission.involvement_type, submission.visibility
            ),
        ),
    };
    PlannedAction {
        operation: operation.to_owned(),
        description,
    }
}

fn note(note: &Note) -> String {
    match note {
        Note::Blocking(text) => format!("To fix: {text}"),
        Note::Admin(text) => format!("For an administrator: {text}"),
        Note::Info(text) => text.clone(),
        Note::Withheld(path) => format!(
            "{path} can no longer change in ACE at this point of AWS's review; the new value would not be sent."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_team_reads_one_member_per_line() {
        let member = AwsTeamMember {
            email: Some("jane@amazon.com".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            business_title: Some("AWSSalesRep".into()),
        };
        assert_eq!(
            team_member(&member),
            "AWSSalesRep: Jane Doe <jane@amazon.com>"
        );
        let nobody = AwsTeamMember {
            email: None,
            first_name: None,
            last_name: None,
            business_title: None,
        };
        assert_eq!(team_member(&nobody), "AWS: (unnamed)");
    }

    #[test]
    fn an_empty_view_is_unlinked() {
        let side = ace_side(None);
        assert_eq!(side.link, AceLink::Unlinked);
        assert!(side.ace_opportunity_id.is_none() && side.found_for_record.is_empty());
    }
}
