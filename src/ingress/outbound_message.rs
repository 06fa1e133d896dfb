//! `POST /salesforce/outbound-message`: take a Salesforce outbound message, check it, put one
//! job per notification on the queue, and only then acknowledge it.
//!
//! The order matters: the shared secret is checked before the body is read, the body is
//! capped before it is parsed, the origin is checked before anything is queued, and the ack is
//! sent only when every notification is on the queue. Any failure answers a SOAP fault and no
//! ack, so Salesforce keeps the message and retries it (salesforce.md §1.8–1.9). The body and
//! the notifications being queued count against the ingress's bounds ([`super::admission`]);
//! past them a message is refused with 503 rather than buffered.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, post, web};
use futures_util::StreamExt;
use time::OffsetDateTime;
use tracing::Instrument;

use super::IngressState;
use super::admission::{Admission, Held, Overloaded};
use super::soap::{self, FaultCode, SoapError};
use super::verify::VerifyError;
use crate::ports::queue::{EnqueueError, OutgoingMessage};

/// Header a proxy may use to pass the shared secret instead of the path.
pub const SECRET_HEADER: &str = "x-ace-sync-secret";

/// Why a message was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error(transparent)]
    Forbidden(VerifyError),
    #[error("content type {found:?} is not XML; outbound messages are text/xml")]
    ContentType { found: String },
    #[error("only UTF-8 is accepted, not charset {charset:?}")]
    Charset { charset: String },
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the body could not be read: {0}")]
    Body(String),
    #[error(transparent)]
    Soap(SoapError),
    #[error("{0}; retry later")]
    Overloaded(Overloaded),
    #[error("the notifications could not be queued; retry later")]
    Enqueue(#[source] EnqueueError),
}

impl IngressError {
    fn reason(&self) -> &'static str {
        match self {
            IngressError::Forbidden(e) => e.reason(),
            IngressError::ContentType { .. } | IngressError::Charset { .. } => "content_type",
            IngressError::TooLarge { .. } => "too_large",
            IngressError::Body(_) => "unreadable_body",
            IngressError::Soap(e) => e.reason(),
            IngressError::Overloaded(_) => "overloaded",
            IngressError::Enqueue(EnqueueError::TooLarge { .. }) => "job_too_large",
            IngressError::Enqueue(_) => "queue_unavailable",
        }
    }

    fn fault_code(&self) -> FaultCode {
        match self {
            IngressError::Enqueue(EnqueueError::NotAccepted { .. })
            | IngressError::Overloaded(_) => FaultCode::Server,
            _ => FaultCode::Client,
        }
    }

    /// The fault text. For queue failures it says what failed without internal detail.
    fn fault_string(&self) -> String {
        match self {
            IngressError::Enqueue(EnqueueError::NotAccepted {
                rejected, total, ..
            }) => format!("{rejected} of {total} notifications could not be queued; retry later"),
            IngressError::Enqueue(EnqueueError::TooLarge { index, size, limit }) => format!(
                "notification {} encodes to {size} bytes, over the queue's limit of {limit} bytes",
                index + 1
            ),
            other => other.to_string(),
        }
    }
}

impl ResponseError for IngressError {
    fn status_code(&self) -> StatusCode {
        match self {
            IngressError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngressError::TooLarge { .. }
            | IngressError::Enqueue(EnqueueError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            IngressError::Enqueue(EnqueueError::NotAccepted { .. })
            | IngressError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type(super::SOAP_CONTENT_TYPE)
            .body(soap::fault(self.fault_code(), &self.fault_string()))
    }
}

/// Receives an outbound message (no shared secret in the path).
#[utoipa::path(
    tag = "salesforce",
    operation_id = "receiveOutboundMessage",
    params(
        ("x-ace-sync-secret" = Option<String>, Header, description = "The shared secret, when `ingress.shared_secret` is set and a proxy adds it as a header rather than in the path."),
    ),
    request_body(
        content = super::openapi::OutboundMessageEnvelope,
        content_type = "text/xml",
        description = "A SOAP 1.1 `notifications` envelope exactly as Salesforce sends it (the WSDL of an outbound message definition describes it; see https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm). 1 to 100 `Notification`s of any sObject type. Bodies over `http.body_limit_bytes` (default 1 MiB) are refused with 413.",
        example = json!(super::openapi::EXAMPLE_MESSAGE),
    ),
    responses(
        (status = 200, description = "Every notification is on the queue. The body is the acknowledgement Salesforce expects.", content_type = "text/xml", body = super::openapi::AckEnvelope, example = json!(soap::ACK)),
        (status = 400, description = "The body is not an acceptable outbound message: not XML, malformed or truncated XML, a DTD or entity declaration, not a `notifications` envelope, or invalid notifications. Nothing was queued; the fault string says what is wrong.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 403, description = "The organization is not configured, the shared secret is missing or wrong, or the My Domain does not match. Nothing was queued.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 413, description = "The body (or one notification's job) is over the size limit. Nothing was queued.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 503, description = "Not every notification could be queued, or the ingress holds as much as it may at once. No ack: Salesforce retries the message, and notifications already queued are deduplicated.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
    ),
)]
#[post("/salesforce/outbound-message")]
pub async fn receive(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngressState>,
) -> Result<HttpResponse, IngressError> {
    let header_secret = request
        .headers()
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    handle(&request, payload, &state, header_secret.as_deref()).await
}

/// Receives an outbound message whose endpoint URL carries the shared secret as its last path
/// segment — the form a Salesforce outbound message definition can hold.
#[utoipa::path(
    tag = "salesforce",
    operation_id = "receiveOutboundMessageWithSecret",
    params(
        ("secret" = String, Path, description = "The shared secret (`ingress.shared_secret`)."),
    ),
    request_body(
        content = super::openapi::OutboundMessageEnvelope,
        content_type = "text/xml",
        description = "As for `POST /salesforce/outbound-message`.",
    ),
    responses(
        (status = 200, description = "Every notification is on the queue; the acknowledgement.", content_type = "text/xml", body = super::openapi::AckEnvelope),
        (status = 400, description = "Not an acceptable outbound message; nothing was queued.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 403, description = "Wrong organization, secret or My Domain; nothing was queued.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 413, description = "Over the size limit; nothing was queued.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
        (status = 503, description = "Not every notification could be queued, or the ingress is at its bounds; no ack, Salesforce retries.", content_type = "text/xml", body = super::openapi::FaultEnvelope),
    ),
)]
#[post("/salesforce/outbound-message/{secret}")]
pub async fn receive_with_secret(
    request: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<IngressState>,
) -> Result<HttpResponse, IngressError> {
    let secret = path.into_inner();
    handle(&request, payload, &state, Some(&secret)).await
}

async fn handle(
    request: &HttpRequest,
    payload: web::Payload,
    state: &IngressState,
    presented_secret: Option<&str>,
) -> Result<HttpResponse, IngressError> {
    let started = Instant::now();
    // The span deliberately records neither the path (it may hold the secret) nor the body.
    let span = tracing::info_span!(
        "outbound_message",
        org_id = tracing::field::Empty,
        notifications = tracing::field::Empty,
    );
    let result = accept(request, payload, state, presented_secret)
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    match result {
        Ok(count) => {
            state.metrics.acked(count, started.elapsed());
            tracing::info!(
                notifications = count,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "outbound message queued and acknowledged"
            );
            Ok(HttpResponse::Ok()
                .content_type(super::SOAP_CONTENT_TYPE)
                .body(soap::ACK))
        }
        Err(error) => {
            state.metrics.rejected(error.reason());
            match &error {
                IngressError::Enqueue(cause) => tracing::error!(
                    error = %crate::telemetry::error_chain(cause),
                    "outbound message not acknowledged: the queue did not take every notification"
                ),
                other => tracing::warn!(
                    reason = other.reason(),
                    error = %other,
                    "outbound message refused"
                ),
            }
            Err(error)
        }
    }
}

async fn accept(
    request: &HttpRequest,
    payload: web::Payload,
    state: &IngressState,
    presented_secret: Option<&str>,
) -> Result<usize, IngressError> {
    state
        .verifier
        .check_secret(presented_secret)
        .map_err(IngressError::Forbidden)?;
    check_content_type(request.headers().get(CONTENT_TYPE))?;
    let message = {
        // The body and its share of the bound are let go once it is parsed: what is queued is
        // a few ids per notification.
        let (body, _held) =
            read_capped(request, payload, state.body_limit, &state.admission).await?;
        soap::parse(&body).map_err(IngressError::Soap)?
    };
    let verified = state
        .verifier
        .verify(message)
        .map_err(IngressError::Forbidden)?;

    let notifications = &verified.message().notifications;
    let count = notifications.len();
    let span = tracing::Span::current();
    span.record("org_id", verified.message().organization_id.as_str());
    span.record("notifications", count);
    for n in notifications {
        tracing::debug!(
            notification_id = %n.id,
            sf_record_id = %n.record_id,
            sobject_type = %n.sobject_type,
            "notification"
        );
    }
    let by_type = count_by_type(notifications);
    // Held until the queue has answered for every notification of this message.
    let _held = state
        .admission
        .notifications(count)
        .map_err(IngressError::Overloaded)?;

    let messages = verified
        .into_jobs(OffsetDateTime::now_utc())
        .iter()
        .map(OutgoingMessage::from)
        .collect();
    let enqueue_started = Instant::now();
    let result = state.queue.enqueue(messages).await;
    state.metrics.enqueue_latency(enqueue_started.elapsed());
    result.map_err(IngressError::Enqueue)?;
    for (sobject_type, count) in by_type {
        state.metrics.notifications(&sobject_type, count);
    }
    Ok(count)
}

/// Notifications per sObject type, in first-seen order (a message usually holds one type).
fn count_by_type(notifications: &[soap::Notification]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for n in notifications {
        match counts.iter_mut().find(|(t, _)| *t == n.sobject_type) {
            Some((_, count)) => *count += 1,
            None => counts.push((n.sobject_type.clone(), 1)),
        }
    }
    counts
}

fn check_content_type(header: Option<&HeaderValue>) -> Result<(), IngressError> {
    let raw = header.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut parts = raw.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if !matches!(
        essence.as_str(),
        "text/xml" | "application/xml" | "application/soap+xml"
    ) {
        return Err(IngressError::ContentType {
            found: raw.chars().take(100).collect(),
        });
    }
    for parameter in parts {
        if let Some((name, value)) = parameter.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(IngressError::Charset {
                    charset: charset.chars().take(40).collect(),
                });
            }
        }
    }
    Ok(())
}

/// Reads the body, refusing as soon as it is known to exceed `limit`: from Content-Length
/// when given, otherwise as the chunks arrive, without reading the rest. The bytes count
/// against the ingress's bound from before they are read (as announced) or as they arrive.
async fn read_capped(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    admission: &Admission,
) -> Result<(web::Bytes, Held), IngressError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(IngressError::TooLarge { limit });
    }
    let declared = declared.map(|d| d as usize);
    let mut held = admission
        .bytes(declared.unwrap_or(0))
        .map_err(IngressError::Overloaded)?;
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8 * 1024));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| IngressError::Body(e.to_string()))?;
        let size = body.len() + chunk.len();
        if size > limit {
            return Err(IngressError::TooLarge { limit });
        }
        if size > held.amount() {
            let more = admission
                .bytes(size - held.amount())
                .map_err(IngressError::Overloaded)?;
            held.merge(more);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_content_types_are_accepted() {
        for ok in [
            "text/xml; charset=utf-8",
            "text/xml",
            "Text/XML;charset=\"UTF-8\"",
            "application/soap+xml",
            "application/xml; charset=utf8",
        ] {
            assert!(
                check_content_type(Some(&HeaderValue::from_static(ok))).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn other_content_types_and_charsets_are_refused() {
        assert!(matches!(
            check_content_type(Some(&HeaderValue::from_static("application/json"))),
            Err(IngressError::ContentType { .. })
        ));
        assert!(matches!(
            check_content_type(None),
            Err(IngressError::ContentType { .. })
        ));
        assert!(matches!(
            check_content_type(Some(&HeaderValue::from_static(
                "text/xml; charset=ISO-8859-1"
            ))),
            Err(IngressError::Charset { .. })
        ));
    }
}
