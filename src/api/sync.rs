//! "Sync now": `POST /api/v1/opportunities/{opportunityId}/sync`. Queues a reconcile of the
//! record on the changes queue (reason `manual`, message group = the record), as any other
//! trigger does, and answers 202 with what was queued. The reconciler then reads both sides
//! afresh: a record already in sync changes nothing, anywhere.
//!
//! The record is read first, so a mistyped id is a 404 now rather than a job that finds
//! nothing later, and the answer can say when the stage means nothing goes to ACE yet.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::body::SyncPhase;
use super::params;
use super::problem::{ApiError, Problem};
use super::{ApiState, answer};
use crate::ace::mapping::Phase;
use crate::config::ApiScope;
use crate::domain::job::{Reason, Reconcile};
use crate::ports::queue::OutgoingMessage;

/// A reconcile queued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncQueued {
    pub opportunity_id: String,
    /// The org the job is for (the one ace-sync is connected to).
    pub organization_id: String,
    /// This request's id: the job's `Reason.request_id`, and its deduplication id's.
    pub request_id: String,
    /// The job's reason: `manual`.
    pub reason: String,
    /// The FIFO message group: the record, so its jobs run one at a time.
    pub message_group_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub queued_at: OffsetDateTime,
    pub phase: SyncPhase,
    /// What the sync will do, in a rep's words.
    pub message: String,
}

/// "Sync now": queue a reconcile of the opportunity, which reads both sides and brings them
/// into agreement within seconds. Reads Salesforce once; ACE is left to the reconciler.
#[utoipa::path(
    tag = "api",
    operation_id = "syncOpportunity",
    params(
        ("opportunityId" = String, Path, description = "The Salesforce opportunity id (15 or 18 characters, 006…)."),
    ),
    responses(
        (status = 202, description = "The reconcile is queued.", body = SyncQueued),
        (status = 400, description = "The id is not an opportunity id.", body = Problem),
        (status = 401, description = "No API key, or not one of this service's.", body = Problem),
        (status = 403, description = "The key may not call this operation (scope `sync`).", body = Problem),
        (status = 404, description = "No such opportunity visible to ace-sync's integration user.", body = Problem),
        (status = 502, description = "Salesforce refused ace-sync: an administrator must act.", body = Problem),
        (status = 503, description = "Salesforce or the queue did not answer in time; try again.", body = Problem),
    ),
    security(("apiKey" = [])),
)]
#[post("/api/v1/opportunities/{opportunityId}/sync")]
pub async fn sync(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    answer(
        &state,
        &request,
        "sync",
        Some(ApiScope::Sync),
        || async {
            let id = params::path_opportunity_id(&request)?;
            params::query(&request, &[])?;
            let reconciler = &state.reconciler;
            let Some(record) = reconciler.read(&id).await? else {
                return Err(ApiError::NotFound(id));
            };
            let org = reconciler.salesforce().identity().await?.org_id;
            let phase = reconciler.assess(record).mapped.phase;
            let request_id = new_request_id();
            let job = Reconcile {
                org_id: org.clone(),
                record_id: id.to_record_id(),
                reason: Reason::Manual {
                    request_id: request_id.clone(),
                },
                changed_at: None,
                queued_at: OffsetDateTime::now_utc(),
            };
            state
                .queue
                .enqueue(vec![OutgoingMessage::from(&job)])
                .await
                .map_err(ApiError::Queue)?;
            tracing::info!(request_id, "sync queued");
            let mapping = reconciler.mapping();
            let message = match phase {
                Phase::NotYet => format!(
                    "Queued. At this stage nothing goes to ACE yet: ace-sync shares the opportunity once it reaches {}.",
                    mapping.create_at
                ),
                _ => "Queued: ace-sync brings ACE and the record into agreement within seconds; the record shows the outcome.".to_owned(),
            };
            Ok((
                StatusCode::ACCEPTED,
                SyncQueued {
                    opportunity_id: id.to_string(),
                    organization_id: org.to_string(),
                    request_id,
                    reason: job.reason.label().to_owned(),
                    message_group_id: job.group_id().to_string(),
                    queued_at: job.queued_at,
                    phase: phase.into(),
                    message,
                },
            ))
        },
    )
    .await
}

/// A fresh request id: 128 random bits, so two presses queue two jobs (the worker coalesces
/// jobs of one record anyway).
fn new_request_id() -> String {
    format!("api-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}
