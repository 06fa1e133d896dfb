//! Records by External ID: `GET` and upsert (`PATCH`) on
//! `/services/data/vNN.N/sobjects/{object}/{field}/{value}` (salesforce.md §4, "Upsert by
//! external ID"). An upsert validates its body as a create or an update does; it creates the
//! record when no record holds the value (`201`), updates it when one does (`200` with
//! `created: false` from API version 46.0 on, `204` before), and answers `300` with the matching
//! records' URLs when several do. A field that is not an External ID is `404`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::render::render_all;
use super::sobjects::parse_body;
use super::{Reply, rest};
use crate::salesforce::Shared;
use crate::salesforce::org::Org;
use crate::salesforce::schema::{FieldDef, ObjectDef, Rejection, check_value, check_write};
use ace_sync::domain::ids::{SfRecordId, SfUserId};

/// The first API version whose upsert answers an update with a body (salesforce.md §4:
/// "200 … in v46+ (older versions: 204)").
const UPDATE_BODY_SINCE: u32 = 46;

fn not_found() -> Rejection {
    Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
}

/// The object, and its field that is an External ID.
fn external_id_field(
    org: &Org,
    object: &str,
    field: &str,
) -> Result<(ObjectDef, FieldDef), Rejection> {
    let def = org.schema.object(object).cloned().ok_or_else(not_found)?;
    let field = def
        .field(field)
        .filter(|f| f.external_id)
        .cloned()
        .ok_or_else(|| {
            Rejection::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )
        })?;
    Ok((def, field))
}

/// `300 Multiple Choices`: the URLs of the records that hold the value.
fn several(version: &str, object: &str, ids: &[SfRecordId]) -> Reply {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("/services/data/{version}/sobjects/{object}/{id}"))
        .collect();
    Reply::ok(300, json!(urls).to_string())
}

fn matching(org: &Org, object: &str, field: &str, value: &str) -> Vec<SfRecordId> {
    org.find_by(object, field, value)
        .into_iter()
        .map(|r| r.id.clone())
        .collect()
}

/// `GET …/sobjects/{object}/{field}/{value}`.
pub(super) async fn retrieve(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> HttpResponse {
    let (version, object, field, value) = path.into_inner();
    rest(&shared, &req, &version.clone(), None, move |org, _| {
        let (def, field) = match external_id_field(org, &object, &field) {
            Ok(found) => found,
            Err(rejection) => return Reply::rejected(&rejection),
        };
        let ids = matching(org, def.name, field.name, &value);
        match ids.as_slice() {
            [] => Reply::rejected(&not_found()),
            [id] => match org.record(id) {
                Some(record) => Reply::ok(200, render_all(&version, &def, record)),
                None => Reply::rejected(&not_found()),
            },
            _ => several(&version, def.name, &ids),
        }
    })
    .await
}

/// `PATCH …/sobjects/{object}/{field}/{value}`.
pub(super) async fn upsert(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (version, object, field, value) = path.into_inner();
    let sent = &body;
    rest(
        &shared,
        &req,
        &version.clone(),
        Some(sent),
        move |org, user| match upsert_record(org, user, &version, &object, &field, &value, sent) {
            Ok(reply) => reply,
            Err(rejection) => Reply::rejected(&rejection),
        },
    )
    .await
}

fn upsert_record(
    org: &mut Org,
    user: &SfUserId,
    version: &str,
    object: &str,
    field: &str,
    value: &str,
    body: &[u8],
) -> Result<Reply, Rejection> {
    let (def, field) = external_id_field(org, object, field)?;
    let body: BTreeMap<String, Box<RawValue>> = parse_body(body)?;
    let mut changes = check_write(&def, &body)?;
    // The URL names the record; a body that names another is refused.
    let key = check_value(&field, &to_raw(value)?)?;
    if let Some(sent) = changes.get(field.name)
        && sent.as_ref().map(|v| v.to_text().to_lowercase()) != Some(value.to_lowercase())
    {
        return Err(Rejection::new(
            400,
            "INVALID_FIELD",
            format!(
                "The {} in the request body does not match the external ID in the URL: {value}",
                field.name
            ),
        )
        .on(field.name));
    }
    let ids = matching(org, def.name, field.name, value);
    match ids.as_slice() {
        [] => {
            changes.insert(field.name, key);
            let id = org.create(def.name, changes, user)?;
            Ok(Reply::ok(
                201,
                json!({"id": id.as_str(), "success": true, "errors": [], "created": true})
                    .to_string(),
            ))
        }
        [id] => {
            org.update(id, changes, user)?;
            if api_version(version) >= UPDATE_BODY_SINCE {
                Ok(Reply::ok(
                    200,
                    json!({"id": id.as_str(), "success": true, "errors": [], "created": false})
                        .to_string(),
                ))
            } else {
                Ok(Reply::no_content())
            }
        }
        _ => Ok(several(version, def.name, &ids)),
    }
}

fn to_raw(value: &str) -> Result<Box<RawValue>, Rejection> {
    serde_json::value::to_raw_value(&Value::String(value.to_owned())).map_err(|e| {
        Rejection::new(
            400,
            "JSON_PARSER_ERROR",
            format!("The external ID is not a string: {e}"),
        )
    })
}

/// `v62.0` → 62.
fn api_version(version: &str) -> u32 {
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
