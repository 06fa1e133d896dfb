//! The simulated org on the wire: the OAuth token endpoint (JWT bearer grant) and the REST
//! resources the sync uses, with Salesforce's status codes, error arrays, `+0000` datetimes and
//! `Sforce-Limit-Info` header (salesforce.md §3–4).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Shared;
use super::org::{Org, Record};
use super::schema::{ObjectDef, Rejection, check_write};
use super::soql::{self, Selected};
use ace_sync::domain::ids::{SfRecordId, SfUserId};
use ace_sync::domain::sobject::{FieldValue, format_date};

/// Newest API version the simulator serves (Summer '26), and the oldest.
const NEWEST_VERSION: u32 = 67;
const OLDEST_VERSION: u32 = 31;

/// How far ahead an assertion's `exp` may be (salesforce.md §3: "within 3 minutes").
const MAX_ASSERTION_LIFETIME_SECS: u64 = 180;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/services/oauth2/token", web::post().to(token))
        .route("/services/data", web::get().to(versions))
        .route("/services/data/", web::get().to(versions))
        .route("/services/data/{version}/query", web::get().to(query))
        .route(
            "/services/data/{version}/query/{locator}",
            web::get().to(query_more),
        )
        .route(
            "/services/data/{version}/sobjects/{object}",
            web::post().to(create),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::get().to(retrieve),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::patch().to(update),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            web::delete().to(delete),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            web::patch().to(collections_update),
        )
        .route(
            "/__sim/as/{username}/sobjects/{object}/{id}",
            web::patch().to(update_as),
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

// ---------------------------------------------------------------------------------------
// OAuth

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<serde_json::Value>,
    exp: Option<u64>,
}

fn oauth_error(error: &str, description: &str) -> HttpResponse {
    json(
        400,
        format!(
            r#"{{"error":{},"error_description":{}}}"#,
            json_string(error),
            json_string(description)
        ),
    )
}

async fn token(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let latency = {
        let mut org = shared.lock();
        org.token_requests += 1;
        org.faults.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(super::JWT_BEARER_GRANT) {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_grant", "invalid assertion");
    };
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode::<Claims>(assertion) else {
        return oauth_error("invalid_grant", "invalid assertion");
    };
    let claims = unverified.claims;
    let mut org = shared.lock();
    if claims.iss.as_deref() != Some(org.consumer_key.as_str()) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    if jsonwebtoken::decode::<serde_json::Value>(assertion, &shared.public_key, &validation)
        .is_err()
    {
        return oauth_error("invalid_grant", "invalid assertion");
    }
    let audiences: Vec<String> = match &claims.aud {
        Some(serde_json::Value::String(a)) => vec![a.clone()],
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let audience_ok = audiences.iter().any(|a| {
        shared
            .audiences
            .iter()
            .any(|accepted| accepted == a.trim_end_matches('/'))
    });
    if !audience_ok {
        return oauth_error("invalid_grant", "audience is invalid");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    match claims.exp {
        None => return oauth_error("invalid_grant", "invalid assertion"),
        Some(exp) if exp <= now => {
            return oauth_error("invalid_grant", "expired authorization code");
        }
        // Milliseconds instead of seconds land here, the documented common bug.
        Some(exp) if exp > now + MAX_ASSERTION_LIFETIME_SECS => {
            return oauth_error("invalid_grant", "invalid assertion");
        }
        Some(_) => {}
    }
    let Some(user) = claims
        .sub
        .as_deref()
        .and_then(|name| org.user_by_name(name))
        .cloned()
    else {
        return oauth_error("invalid_grant", "user hasn't approved this consumer");
    };
    let access_token = org.open_session(user.id.clone());
    let base = shared.base_url.as_str().trim_end_matches('/');
    json(
        200,
        format!(
            r#"{{"access_token":{},"scope":"api","instance_url":{},"id":{},"token_type":"Bearer"}}"#,
            json_string(&access_token),
            json_string(base),
            json_string(&format!("{base}/id/{}/{}", org.org_id, user.id)),
        ),
    )
}

// ---------------------------------------------------------------------------------------
// REST plumbing

async fn versions() -> HttpResponse {
    let list: Vec<String> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|v| format!(r#"{{"label":"v{v}.0","url":"/services/data/v{v}.0","version":"{v}.0"}}"#))
        .collect();
    json(200, format!("[{}]", list.join(",")))
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

// ---------------------------------------------------------------------------------------
// Rendering

fn rest_datetime(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn value_json(value: Option<&FieldValue>) -> String {
    match value {
        None => "null".to_owned(),
        Some(FieldValue::Text(s)) => json_string(s),
        Some(FieldValue::Bool(b)) => b.to_string(),
        Some(FieldValue::Number(d)) => d.to_string(),
        Some(FieldValue::Integer(i)) => i.to_string(),
        Some(FieldValue::Date(d)) => json_string(&format_date(*d)),
        Some(FieldValue::Datetime(at)) => json_string(&rest_datetime(*at)),
        Some(FieldValue::Multi(values)) => json_string(&values.join(";")),
    }
}

fn attributes(version: &str, record: &Record) -> String {
    format!(
        r#""attributes":{{"type":"{}","url":"/services/data/{version}/sobjects/{}/{}"}}"#,
        record.sobject_type, record.sobject_type, record.id
    )
}

fn field_json(record: &Record, field: &str) -> String {
    if field == "Id" {
        json_string(record.id.as_str())
    } else {
        value_json(record.fields.get(field))
    }
}

/// A record with the selected fields, relationships as nested objects (or `null`).
fn render_selected(org: &Org, version: &str, record: &Record, fields: &[Selected]) -> String {
    let mut parts = vec![attributes(version, record)];
    let mut relationships: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for selected in fields {
        match selected {
            Selected::Field(name) => {
                parts.push(format!("\"{name}\":{}", field_json(record, name)));
            }
            Selected::Related {
                relationship,
                via,
                field,
                ..
            } => match relationships.iter_mut().find(|(r, ..)| r == relationship) {
                Some((.., list)) => list.push(field),
                None => relationships.push((relationship, via, vec![field])),
            },
        }
    }
    for (relationship, via, related_fields) in relationships {
        let related = record
            .fields
            .get(via)
            .and_then(|v| SfRecordId::parse(&v.to_text()).ok())
            .and_then(|id| org.record(&id))
            .filter(|r| !r.deleted);
        let rendered = match related {
            None => "null".to_owned(),
            Some(related) => {
                let mut inner = vec![attributes(version, related)];
                for field in related_fields {
                    inner.push(format!("\"{field}\":{}", field_json(related, field)));
                }
                format!("{{{}}}", inner.join(","))
            }
        };
        parts.push(format!("\"{relationship}\":{rendered}"));
    }
    format!("{{{}}}", parts.join(","))
}

fn render_all(version: &str, object: &ObjectDef, record: &Record) -> String {
    let mut parts = vec![attributes(version, record)];
    for def in &object.fields {
        parts.push(format!("\"{}\":{}", def.name, field_json(record, def.name)));
    }
    format!("{{{}}}", parts.join(","))
}

// ---------------------------------------------------------------------------------------
// Query

fn run_query(org: &mut Org, version: &str, text: &str) -> Reply {
    let query = match soql::parse(text, &org.schema) {
        Ok(q) => q,
        Err(rejection) => return Reply::rejected(&rejection),
    };
    let wanted: Option<Vec<SfRecordId>> = query.ids.as_ref().map(|ids| {
        ids.iter()
            .filter_map(|id| SfRecordId::parse(id).ok())
            .collect()
    });
    let mut rows: Vec<String> = org
        .live_records(query.object)
        .into_iter()
        .filter(|r| wanted.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .map(|r| render_selected(org, version, r, &query.fields))
        .collect();
    if let Some(limit) = query.limit {
        rows.truncate(limit);
    }
    page(org, version, rows, None, 0)
}

fn page(
    org: &mut Org,
    version: &str,
    rows: Vec<String>,
    cursor: Option<String>,
    offset: usize,
) -> Reply {
    let total = rows.len();
    let size = org.query_page_size.max(1);
    let end = (offset + size).min(total);
    let records = rows[offset.min(total)..end].join(",");
    let next = if end < total {
        let cursor = match cursor {
            Some(cursor) => cursor,
            None => {
                let cursor = org.mint_id("01g").key15().to_owned();
                org.cursors.insert(cursor.clone(), rows);
                cursor
            }
        };
        format!(r#","nextRecordsUrl":"/services/data/{version}/query/{cursor}-{end}""#)
    } else {
        String::new()
    };
    Reply::ok(
        200,
        format!(
            r#"{{"totalSize":{total},"done":{}{next},"records":[{records}]}}"#,
            end >= total
        ),
    )
}

#[derive(Deserialize)]
struct QueryParams {
    q: Option<String>,
}

async fn query(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<QueryParams>,
) -> HttpResponse {
    let version = path.into_inner();
    let q = params.into_inner().q;
    rest(
        &shared,
        &req,
        &version.clone(),
        None,
        move |org, _| match q {
            Some(q) => run_query(org, &version, &q),
            None => Reply::rejected(&Rejection::new(
                400,
                "MALFORMED_QUERY",
                "A query string has to be specified",
            )),
        },
    )
    .await
}

async fn query_more(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (version, locator) = path.into_inner();
    rest(&shared, &req, &version.clone(), None, move |org, _| {
        let found = locator.rsplit_once('-').and_then(|(cursor, offset)| {
            let offset = offset.parse::<usize>().ok()?;
            let rows = org.cursors.get(cursor)?.clone();
            Some((cursor.to_owned(), offset, rows))
        });
        match found {
            Some((cursor, offset, rows)) => page(org, &version, rows, Some(cursor), offset),
            None => Reply::rejected(&Rejection::new(
                400,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            )),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// sObject rows

fn lookup<'a>(org: &'a Org, object: &str, id: &str) -> Result<(ObjectDef, &'a Record), Rejection> {
    let not_found = || Rejection::new(404, "NOT_FOUND", "The requested resource does not exist");
    let def = org.schema.object(object).cloned().ok_or_else(not_found)?;
    let id = SfRecordId::parse(id).map_err(|_| {
        Rejection::new(
            404,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {id}"),
        )
    })?;
    let record = org
        .record(&id)
        .filter(|r| r.sobject_type == def.name)
        .ok_or_else(not_found)?;
    if record.deleted {
        return Err(Rejection::new(
            404,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        ));
    }
    Ok((def, record))
}

#[derive(Deserialize)]
struct FieldsParam {
    fields: Option<String>,
}

async fn retrieve(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    params: web::Query<FieldsParam>,
) -> HttpResponse {
    let (version, object, id) = path.into_inner();
    let fields = params.into_inner().fields;
    rest(&shared, &req, &version.clone(), None, move |org, _| {
        let (def, record) = match lookup(org, &object, &id) {
            Ok(found) => found,
            Err(rejection) => return Reply::rejected(&rejection),
        };
        match fields {
            None => Reply::ok(200, render_all(&version, &def, record)),
            Some(list) => {
                let mut selected = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    match def.field(name) {
                        Some(f) => selected.push(Selected::Field(f.name)),
                        None => {
                            return Reply::rejected(&Rejection::new(
                                400,
                                "INVALID_FIELD",
                                format!("No such column '{name}' on sobject of type {}", def.name),
                            ));
                        }
                    }
                }
                Reply::ok(200, render_selected(org, &version, record, &selected))
            }
        }
    })
    .await
}

fn parse_body(body: &[u8]) -> Result<BTreeMap<String, Box<RawValue>>, Rejection> {
    serde_json::from_slice(body).map_err(|e| {
        Rejection::new(
            400,
            "JSON_PARSER_ERROR",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

fn apply_update(
    org: &mut Org,
    user: &SfUserId,
    object: &str,
    id: &str,
    body: &BTreeMap<String, Box<RawValue>>,
) -> Result<SfRecordId, Rejection> {
    let Some(def) = org.schema.object(object).cloned() else {
        return Err(Rejection::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ));
    };
    let record_id = SfRecordId::parse(id).map_err(|_| {
        Rejection::new(
            400,
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", def.name),
        )
        .on("Id")
    })?;
    let changes = check_write(&def, body)?;
    if org
        .record(&record_id)
        .is_some_and(|r| r.sobject_type != def.name)
    {
        return Err(Rejection::new(
            400,
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", def.name),
        )
        .on("Id"));
    }
    org.update(&record_id, changes, user)?;
    Ok(record_id)
}

async fn update(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (version, object, id) = path.into_inner();
    rest(
        &shared,
        &req,
        &version,
        Some(&body),
        |org, user| match parse_body(&body).and_then(|b| apply_update(org, user, &object, &id, &b))
        {
            Ok(_) => Reply::no_content(),
            Err(rejection) => Reply::rejected(&rejection),
        },
    )
    .await
}

/// Control, not Salesforce: a change made "as" any user of the org without a session, so a
/// standalone simulator's workflow rule can be fired from outside (`curl -X PATCH …`).
async fn update_as(
    shared: web::Data<Shared>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (username, object, id) = path.into_inner();
    let result = {
        let mut org = shared.lock();
        match org.user_by_name(&username).map(|u| u.id.clone()) {
            None => Err(Rejection::new(
                404,
                "NOT_FOUND",
                format!("no user {username} in this org"),
            )),
            Some(user) => {
                parse_body(&body).and_then(|b| apply_update(&mut org, &user, &object, &id, &b))
            }
        }
    };
    shared.wake.notify_one();
    shared.changed();
    match result {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(rejection) => errors_response(&rejection),
    }
}

async fn create(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (version, object) = path.into_inner();
    rest(&shared, &req, &version, Some(&body), |org, user| {
        let created = parse_body(&body).and_then(|b| {
            let def = org.schema.object(&object).cloned().ok_or_else(|| {
                Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
            })?;
            let fields = check_write(&def, &b)?;
            org.create(def.name, fields, user)
        });
        match created {
            Ok(id) => Reply::ok(
                201,
                format!(r#"{{"id":"{id}","success":true,"errors":[]}}"#),
            ),
            Err(rejection) => Reply::rejected(&rejection),
        }
    })
    .await
}

async fn delete(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (version, object, id) = path.into_inner();
    rest(&shared, &req, &version, None, |org, _| {
        let found = lookup(org, &object, &id).map(|(_, r)| r.id.clone());
        match found.and_then(|id| org.delete(&id)) {
            Ok(()) => Reply::no_content(),
            Err(rejection) => Reply::rejected(&rejection),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// sObject Collections

#[derive(Deserialize)]
struct CollectionsBody {
    #[serde(rename = "allOrNone", default)]
    all_or_none: bool,
    records: Vec<BTreeMap<String, Box<RawValue>>>,
}

#[derive(Deserialize)]
struct TypeAttribute {
    #[serde(rename = "type")]
    sobject_type: String,
}

fn collections_entry(
    org: &mut Org,
    user: &SfUserId,
    record: &BTreeMap<String, Box<RawValue>>,
) -> Result<SfRecordId, Rejection> {
    let object = record
        .get("attributes")
        .and_then(|a| serde_json::from_str::<TypeAttribute>(a.get()).ok())
        .map(|a| a.sobject_type)
        .ok_or_else(|| {
            Rejection::new(
                400,
                "INVALID_TYPE",
                "The sObject type is not specified in attributes",
            )
        })?;
    let id = record
        .get("id")
        .or_else(|| record.get("Id"))
        .and_then(|id| serde_json::from_str::<String>(id.get()).ok())
        .ok_or_else(|| {
            Rejection::new(
                400,
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
            )
            .on("Id")
        })?;
    let fields: BTreeMap<String, Box<RawValue>> = record
        .iter()
        .filter(|(k, _)| k.as_str() != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply_update(org, user, &object, &id, &fields)
}

async fn collections_update(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let version = path.into_inner();
    rest(&shared, &req, &version, Some(&body), |org, user| {
        let request: CollectionsBody = match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => {
                return Reply::rejected(&Rejection::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("The request body is not valid JSON: {e}"),
                ));
            }
        };
        if request.records.len() > super::COLLECTIONS_MAX_RECORDS {
            return Reply::rejected(&Rejection::new(
                400,
                "EXCEEDED_ID_LIMIT",
                format!(
                    "record limit exceeded; maximum of {} records allowed",
                    super::COLLECTIONS_MAX_RECORDS
                ),
            ));
        }
        let checkpoint = org.checkpoint();
        let results: Vec<Result<SfRecordId, Rejection>> = request
            .records
            .iter()
            .map(|record| collections_entry(org, user, record))
            .collect();
        let failed = results.iter().any(Result::is_err);
        let rolled_back = request.all_or_none && failed;
        if rolled_back {
            org.rollback(checkpoint);
        }
        let rendered: Vec<String> = results
            .iter()
            .map(|result| match result {
                Ok(id) if rolled_back => format!(
                    r#"{{"id":"{id}","success":false,"errors":[{}]}}"#,
                    errors_json(
                        &Rejection::new(
                            400,
                            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        ),
                        "statusCode"
                    )
                ),
                Ok(id) => format!(r#"{{"id":"{id}","success":true,"errors":[]}}"#),
                Err(rejection) => format!(
                    r#"{{"success":false,"errors":[{}]}}"#,
                    errors_json(rejection, "statusCode")
                ),
            })
            .collect();
        Reply::ok(200, format!("[{}]", rendered.join(",")))
    })
    .await
}
