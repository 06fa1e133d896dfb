//! The wire: awsJson1_0 over HTTP. `POST /` with `X-Amz-Target:
//! AWSPartnerCentralSelling.<Operation>` and a JSON body (also `POST /<Operation>`, the form of
//! AWS's Postman collection). Any SigV4 `Authorization` is accepted unverified. Answers carry
//! `x-amzn-RequestId`; errors add `x-amzn-ErrorType` and the status of their Smithy `httpError`.
//! Requests and answers are logged at debug with the model's sensitive members redacted.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::error::ApiError;
use super::events::uuid_v4;
use super::service::Sim;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Bodies larger than this are refused before parsing.
const BODY_LIMIT: usize = 1 << 20;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(BODY_LIMIT))
        .route("/", web::post().to(handle))
        .route("/{operation}", web::post().to(handle));
}

/// The operation a request names.
fn target<'r>(req: &'r HttpRequest, prefix: &str) -> Option<&'r str> {
    match req.headers().get("x-amz-target") {
        Some(header) => header
            .to_str()
            .ok()?
            .strip_prefix(prefix)?
            .strip_prefix('.'),
        None => req.match_info().get("operation"),
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, sim: web::Data<Arc<Sim>>) -> HttpResponse {
    let request_id = uuid_v4();
    let started = Instant::now();
    let prefix = &sim.model.metadata().target_prefix;
    let Some(operation) = target(&req, prefix)
        .and_then(|op| sim.model.operation(op))
        .map(|op| op.name.clone())
    else {
        tracing::debug!(request_id, target = ?req.headers().get("x-amz-target"), "unknown operation");
        return error_response(&request_id, &ApiError::UnknownOperation);
    };
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(json!({}))
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(ApiError::Serialization(
                "The request body must be a JSON object.".to_owned(),
            )),
            Err(e) => Err(ApiError::Serialization(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    };
    let result = match input {
        Ok(input) => {
            let result = match held(&sim, &operation) {
                None => sim.call(&operation, &input),
                Some(gate) => {
                    // On a task of its own, so the call is processed even if the client
                    // disconnects (and actix drops this handler) while it waits.
                    let sim = Arc::clone(&sim);
                    let (op, body) = (operation.clone(), input.clone());
                    tokio::spawn(async move {
                        let mut gate = gate;
                        // Returns once the sender is dropped: the hold is released.
                        let _ = gate.changed().await;
                        if let Some(n) = sim.state().held.get_mut(&op) {
                            *n = n.saturating_sub(1);
                        }
                        sim.call(&op, &body)
                    })
                    .await
                    .unwrap_or_else(|_| {
                        Err(ApiError::InternalServer(
                            "the held call was cancelled".to_owned(),
                        ))
                    })
                }
            };
            log_exchange(&sim, &request_id, &operation, &input, &result, started);
            result
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(output) => HttpResponse::Ok()
            .content_type(CONTENT_TYPE)
            .insert_header(("x-amzn-RequestId", request_id))
            .body(output.to_string()),
        Err(error) => {
            let error = match sim.model.operation(&operation) {
                Some(op) => {
                    let (error, declared) = error.declared_for(op);
                    if !declared {
                        tracing::error!(
                            operation,
                            "simulator chose an error the operation does not declare"
                        );
                        sim.state().output_violations.push(format!(
                            "{operation}: undeclared error substituted by {}",
                            error.type_name()
                        ));
                    }
                    error
                }
                None => error,
            };
            error_response(&request_id, &error)
        }
    }
}

/// The gate of a held operation, with this call counted as waiting at it.
fn held(sim: &Sim, operation: &str) -> Option<tokio::sync::watch::Receiver<()>> {
    let mut state = sim.state();
    let gate = state.holds.get(operation)?.subscribe();
    *state.held.entry(operation.to_owned()).or_default() += 1;
    Some(gate)
}

fn error_response(request_id: &str, error: &ApiError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .insert_header(("x-amzn-RequestId", request_id.to_owned()))
        .insert_header(("x-amzn-ErrorType", error.type_name()))
        .body(error.body().to_string())
}

/// Debug log of one call; bodies are redacted through the model first.
fn log_exchange(
    sim: &Sim,
    request_id: &str,
    operation: &str,
    input: &Value,
    result: &Result<Value, ApiError>,
    started: Instant,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let op = sim.model.operation(operation);
    let request = op
        .and_then(|o| o.input.as_deref())
        .map(|shape| sim.model.redacted(shape, input))
        .unwrap_or(Value::Null);
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(output) => {
            let response = op
                .and_then(|o| o.output.as_deref())
                .map(|shape| sim.model.redacted(shape, output))
                .unwrap_or(Value::Null);
            tracing::debug!(request_id, operation, elapsed_ms, %request, %response, "partner central call");
        }
        Err(e) => {
            tracing::debug!(
                request_id,
                operation,
                elapsed_ms,
                %request,
                error = e.type_name(),
                message = e.message(),
                "partner central call failed"
            );
        }
    }
}
