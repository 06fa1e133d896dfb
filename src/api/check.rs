//! "Check with ACE": `GET /api/v1/opportunities/{opportunityId}/check[?stage=…]`. Reads the
//! record, maps it and runs the pre-flight check, at its own stage or at the one the rep is
//! about to move it to, and answers the findings (each naming the Salesforce field to fix) and
//! the request ACE would get. No ACE call, no write: a rep can press it as often as they like.
//!
//! Nothing is written back, not even on request. Findings reach the record through a
//! reconcile ("Sync now", or the next change), the one writer of a record: a second writer
//! here could race a running reconcile and put older findings over newer ones, and a check at
//! a stage the record is not at would leave findings the record does not deserve.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::body::{self, Finding, SyncPhase};
use super::params;
use super::problem::{ApiError, Problem};
use super::{ApiState, answer};
use crate::config::ApiScope;
use crate::domain::sobject::FieldValue;
use crate::worker::reconcile::Assessment;

/// What ACE would make of an opportunity.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The opportunity's 18-character id.
    pub opportunity_id: String,
    pub opportunity_name: Option<String>,
    /// The stage the check was made at: the one asked for, or the record's own.
    pub stage: String,
    /// Whether `stage` is the record's own stage (false when another was asked for).
    pub stage_is_current: bool,
    pub phase: SyncPhase,
    /// What ace-sync does with the opportunity at that stage.
    pub what_happens: String,
    /// No finding is an error: ACE would take the request.
    pub ace_would_accept: bool,
    pub error_count: i32,
    pub warning_count: i32,
    /// One line for a screen: whether ACE would take it, and how much there is to fix.
    pub summary: String,
    pub findings: Vec<Finding>,
    /// The findings one per line, as the record's findings field would show them.
    pub findings_text: String,
    /// The ACE opportunity the record maps to (JSON, the body of CreateOpportunity, or the
    /// fields ace-sync fills in UpdateOpportunity). Sent only once `aceWouldAccept`.
    pub ace_request: String,
    /// Partner solutions associated with it.
    pub solutions: Vec<String>,
    /// AWS products associated with it.
    pub aws_products: Vec<String>,
    /// The submission to AWS at this stage (`Co-Sell, Full visibility`); empty before the
    /// submission stage.
    pub submission: String,
    /// The ACE opportunity the record names already, if any.
    pub ace_opportunity_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: OffsetDateTime,
}

/// "Check with ACE": the pre-flight findings and the request ACE would get, at the record's
/// stage or at `stage`. Reads Salesforce once; no ACE call, nothing written.
#[utoipa::path(
    tag = "api",
    operation_id = "checkOpportunity",
    params(
        ("opportunityId" = String, Path, description = "The Salesforce opportunity id (15 or 18 characters, 006…)."),
        ("stage" = Option<String>, Query, description = "Check as if the opportunity were at this Salesforce stage, e.g. the one the rep is about to move it to. The record's own stage when empty."),
    ),
    responses(
        (status = 200, description = "The findings and the request ACE would get.", body = CheckResult),
        (status = 400, description = "The id is not an opportunity id, or the stage is not one the mapping knows.", body = Problem),
        (status = 401, description = "No API key, or not one of this service's.", body = Problem),
        (status = 403, description = "The key may not call this operation (scope `check`).", body = Problem),
        (status = 404, description = "No such opportunity visible to ace-sync's integration user.", body = Problem),
        (status = 502, description = "Salesforce refused ace-sync (its connected app or user): an administrator must act.", body = Problem),
        (status = 503, description = "Salesforce did not answer in time; try again.", body = Problem),
    ),
    security(("apiKey" = [])),
)]
#[get("/api/v1/opportunities/{opportunityId}/check")]
pub async fn check(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    answer(&state, &request, "check", Some(ApiScope::Check), || async {
        let id = params::path_opportunity_id(&request)?;
        let asked = params::query(&request, &["stage"])?.remove("stage");
        let reconciler = &state.reconciler;
        let mapping = reconciler.mapping();
        // The stage as the mapping spells it.
        let stage = match asked {
            None => None,
            Some(asked) => {
                let rule = mapping
                    .stages
                    .iter()
                    .find(|s| s.salesforce.eq_ignore_ascii_case(&asked));
                let Some(rule) = rule else {
                    let known: Vec<&str> = mapping
                        .stages
                        .iter()
                        .map(|s| s.salesforce.as_str())
                        .collect();
                    return Err(ApiError::InvalidParameter(format!(
                        "the mapping has no stage {asked:?}; its stages are: {}",
                        known.join(", ")
                    )));
                };
                Some(rule.salesforce.clone())
            }
        };
        let Some(mut record) = reconciler.read(&id).await? else {
            return Err(ApiError::NotFound(id));
        };
        let current = record.text("StageName");
        if let Some(stage) = &stage {
            record
                .fields
                .insert("StageName".to_owned(), FieldValue::Text(stage.clone()));
        }
        let assessment = reconciler.assess(record);
        let stage_is_current = match (&stage, &current) {
            (Some(asked), Some(current)) => asked.eq_ignore_ascii_case(current),
            (Some(_), None) => false,
            (None, _) => true,
        };
        Ok((
            StatusCode::OK,
            result(&assessment, reconciler.mapping(), stage_is_current),
        ))
    })
    .await
}

fn result(
    assessment: &Assessment,
    mapping: &crate::ace::mapping::Mapping,
    stage_is_current: bool,
) -> CheckResult {
    let findings: Vec<Finding> = assessment
        .findings
        .iter()
        .map(|f| Finding::from_preflight(f, mapping))
        .collect();
    let errors = findings
        .iter()
        .filter(|f| f.severity == body::FindingSeverity::Error);
    let error_count = errors.count();
    let mapped = &assessment.mapped;
    let stage = mapped.salesforce_stage.clone().unwrap_or_default();
    CheckResult {
        opportunity_id: assessment.record.id.to_string(),
        opportunity_name: assessment.record.text("Name"),
        phase: mapped.phase.into(),
        what_happens: body::what_happens(mapped.phase, &stage, mapping),
        stage,
        stage_is_current,
        ace_would_accept: assessment.checked.is_some(),
        error_count: count(error_count),
        warning_count: count(findings.len() - error_count),
        summary: body::findings_summary(&findings),
        findings_text: body::findings_text(&findings),
        findings,
        ace_request: serde_json::to_string_pretty(&mapped.body).unwrap_or_default(),
        solutions: mapped.solutions.clone(),
        aws_products: mapped.aws_products.clone(),
        submission: mapped
            .submission
            .as_ref()
            .map(|s| format!("{}, {} visibility", s.involvement_type, s.visibility))
            .unwrap_or_default(),
        ace_opportunity_id: assessment.stored.as_ref().map(|id| id.to_string()),
        checked_at: assessment.now,
    }
}

/// A count as the 32-bit integer Flow's Number takes.
fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
