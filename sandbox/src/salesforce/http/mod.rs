//! The simulated org on the wire: the OAuth token endpoint (JWT bearer grant) and the REST
//! resources the sync uses, with Salesforce's status codes, error arrays, `+0000` datetimes and
//! `Sforce-Limit-Info` header (salesforce.md §3–4).

mod collections;
mod describe;
mod external_ids;
mod oauth;
mod query;
mod render;
mod sobjects;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Shared;
use super::org::Org;
use super::schema::Rejection;
use ace_sync::domain::ids::SfUserId;

/// Newest API version the simulator serves (Summer '26), and the oldest.
const NEWEST_VERSION: u32 = 67;
const OLDEST_VERSION: u32 = 31;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    // Paths arrive without a trailing slash (`NormalizePath::trim` in front of these routes),
    // so `/query/?q=…` and `/sobjects/Opportunity/`, as simple-salesforce sends them, match.
    cfg.route("/services/oauth2/token", web::post().to(oauth::token))
        .route("/services/data", web::get().to(describe::versions))
        .route(
            "/services/data/{version}",
            web::get().to(describe::resources),
        )
        .route(
            "/services/data/{version}/limits",
            web::get().to(describe::limits),
        )
        .route(
            "/services/data/{version}/query",
            web::get().to(query::query),
        )
        .route(
            "/services/data/{version}/query/{locator}",
            web::get().to(query::query_more),
        )
        .route(
            "/services/data/{version}/sobjects",
            web::get().to(describe::describe_global),
        )
        .route(
            "/services/data/{version}/sobjects/{object}",
            web::get().to(describe::basic_info),
        )
        .route(
            "/services/data/{version}/sobjects/{object}",
            web::post().to(sobjects::create),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/describe",
            web::get().to(describe::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::get().to(sobjects::retrieve),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::patch().to(sobjects::update),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::delete().to(sobjects::delete),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{field}/{value}",
            web::get().to(external_ids::retrieve),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{field}/{value}",
            web::patch().to(external_ids::upsert),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            web::patch().to(collections::collections_update),
        )
        .route(
            "/__sim/as/{username}/sobjects/{object}",
            web::post().to(sobjects::create_as),
        )
        .route(
            "/__sim/as/{username}/sobjects/{object}/{id}",
            web::patch().to(sobjects::update_as),
        )
        .default_service(web::to(|| async {
            errors_response(&Rejection::new(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
            ))
        }));
}

fn json(status: u16, body: String) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json;charset=UTF-8")
        .body(body)
}

/// One entry of an error array. Single-record errors leave `fields` out when there are none
/// (as `INVALID_SESSION_ID` does), except `ENTITY_IS_DELETED`, which Salesforce sends with
/// `fields:[]`; Collections results always carry it.
fn errors_json(rejection: &Rejection, key: &str) -> String {
    let fields = if rejection.fields.is_empty()
        && key == "errorCode"
        && rejection.code != "ENTITY_IS_DELETED"
    {
        String::new()
    } else {
        format!(
            r#","fields":{}"#,
            serde_json::to_string(&rejection.fields).unwrap_or_else(|_| "[]".into())
        )
    };
    format!(
        r#"{{"message":{},"{key}":"{}"{fields}}}"#,
        json_string(&rejection.message),
        rejection.code,
    )
}

fn errors_response(rejection: &Rejection) -> HttpResponse {
    json(
        rejection.status,
        format!("[{}]", errors_json(rejection, "errorCode")),
    )
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The answer of one REST operation.
struct Reply {
    status: u16,
    body: Option<String>,
}

impl Reply {
    fn ok(status: u16, body: String) -> Reply {
        Reply {
            status,
            body: Some(body),
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
        }
    }

    fn rejected(rejection: &Rejection) -> Reply {
        Reply::ok(
            rejection.status,
            format!("[{}]", errors_json(rejection, "errorCode")),
        )
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("OAuth"))
        .then(|| token.trim().to_owned())
}

fn version_ok(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|v| v.strip_suffix(".0"))
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| (OLDEST_VERSION..=NEWEST_VERSION).contains(&v))
}

/// Authentication, the daily limit, the API counter, faults, the request log and the limit
/// header, around `operation`.
async fn rest(
    shared: &Shared,
    req: &HttpRequest,
    version: &str,
    body: Option<&[u8]>,
    operation: impl FnOnce(&mut Org, &SfUserId) -> Reply,
) -> HttpResponse {
    let latency = shared.lock().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut org = shared.lock();
    let soql = req
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "q"))
        .map(|(_, v)| v.into_owned());
    let body_text = body.map(|b| String::from_utf8_lossy(b).into_owned());
    let reply = if !version_ok(version) {
        Reply::rejected(&Rejection::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ))
    } else {
        match bearer(req).and_then(|token| org.authenticate(&token)) {
            None => {
                let reply = Reply::rejected(&Rejection::new(
                    401,
                    "INVALID_SESSION_ID",
                    "Session expired or invalid",
                ));
                log(&mut org, req, soql, body_text, reply.status);
                return with_headers(&org, reply, true);
            }
            Some(_) if org.api_calls >= org.daily_api_limit => Reply::rejected(&Rejection::new(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            )),
            Some(user) => {
                org.api_calls += 1;
                if org.faults.server_errors > 0 {
                    org.faults.server_errors -= 1;
                    Reply {
                        status: 503,
                        body: Some(MAINTENANCE_PAGE.to_owned()),
                    }
                } else {
                    operation(&mut org, &user)
                }
            }
        }
    };
    log(&mut org, req, soql, body_text, reply.status);
    let response = with_headers(&org, reply, false);
    drop(org);
    // A write may have queued an outbound message.
    shared.wake.notify_one();
    shared.changed();
    response
}

const MAINTENANCE_PAGE: &str = "<html>\n<head><title>Service Unavailable</title></head>\n<body><h1>Down for maintenance</h1><p>This instance is undergoing scheduled maintenance.</p></body>\n</html>\n";

/// The log keeps the most recent requests, so a long-running sandbox does not grow forever.
const REQUEST_LOG_LIMIT: usize = 10_000;

fn log(org: &mut Org, req: &HttpRequest, soql: Option<String>, body: Option<String>, status: u16) {
    if org.requests.len() >= REQUEST_LOG_LIMIT {
        org.requests.drain(..REQUEST_LOG_LIMIT / 10);
    }
    org.requests.push(super::org::LoggedRequest {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        soql,
        body,
        status,
        at: tokio::time::Instant::now(),
    });
}

fn with_headers(org: &Org, reply: Reply, unauthorized: bool) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((
        "Sforce-Limit-Info",
        format!("api-usage={}/{}", org.api_calls, org.daily_api_limit),
    ));
    if unauthorized {
        builder.insert_header(("WWW-Authenticate", "Token"));
    }
    match reply.body {
        Some(body) if reply.status == 503 => builder.content_type("text/html").body(body),
        Some(body) => builder
            .content_type("application/json;charset=UTF-8")
            .body(body),
        None => builder.finish(),
    }
}
