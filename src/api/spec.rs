//! The document Salesforce imports to register ace-sync as an External Service: the API's
//! operations in the OpenAPI 3.0 form External Services reads, generated from the same route
//! definitions as `openapi.yaml` (3.1), so neither can drift from the server.
//!
//! From the 3.1 document of the API's routes, [`external_services`] keeps the three operations
//! a Flow calls and rewrites what 3.0 or External Services reads differently:
//! - `openapi: 3.0.3`; a nullable value is `nullable: true`, not a `"null"` type;
//! - every refusal is one `default` response with the [`Problem`](super::problem::Problem)
//!   body: External Services names an operation's outputs after its responses (`200`,
//!   `default`), so a Flow reads any refusal's `detail` from one output whatever the status;
//! - no tags, no security requirements or schemes (External Services ignores them: the Named
//!   Credential authenticates), only the component schemas the operations use.
//!
//! `tests/api/flow_api/external_services.rs` checks the result against External Services'
//! documented constraints and against the running server; `openapi/salesforce-external-service.json`
//! and the registration in `deploy/salesforce` hold it.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, get, web};
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use super::{ApiState, answer};

/// The path of the operations a Flow calls.
const OPERATIONS_PREFIX: &str = "/api/v1/opportunities/";

/// Declares the API key, `Authorization: Bearer <key>`, as the `apiKey` security scheme the
/// operations name.
pub struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "One of the keys in `api.keys`, with the operation's scope.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ace-sync",
        description = "Check an opportunity with ACE before moving its stage, sync it now, and read its ACE status: ace-sync keeps Salesforce opportunities and AWS Partner Central (ACE) in sync.",
    ),
    modifiers(&ApiKeyScheme),
)]
struct ApiDoc;

/// The API's routes as an OpenAPI 3.1 document.
fn document_3_1() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::routes)
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The OpenAPI 3.0 document External Services registers (see the module doc).
pub fn external_services() -> Value {
    // Serializing a document built from static descriptions cannot fail.
    let mut doc = serde_json::to_value(document_3_1()).unwrap_or_default();
    doc["openapi"] = json!("3.0.3");
    if let Some(license) = doc["info"]["license"].as_object_mut() {
        license.remove("identifier");
    }
    if let Some(root) = doc.as_object_mut() {
        root.remove("tags");
        root.remove("security");
    }
    let mut paths = Map::new();
    if let Some(all) = doc["paths"].as_object() {
        for (path, item) in all {
            if path.starts_with(OPERATIONS_PREFIX) {
                let mut item = item.clone();
                if let Some(operations) = item.as_object_mut() {
                    operations.values_mut().for_each(operation);
                }
                paths.insert(path.clone(), item);
            }
        }
    }
    doc["paths"] = Value::Object(paths);
    let used = referenced(&doc);
    if let Some(components) = doc["components"].as_object_mut() {
        components.remove("securitySchemes");
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            schemas.retain(|name, _| used.contains(name));
        }
    }
    nullable(&mut doc);
    doc
}

/// An operation as External Services reads it: no tags or security, and every refusal one
/// `default` response.
fn operation(operation: &mut Value) {
    let Some(operation) = operation.as_object_mut() else {
        return;
    };
    operation.remove("tags");
    operation.remove("security");
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let refusals: Vec<(String, Value)> = responses
        .iter()
        .filter(|(status, _)| !status.starts_with('2'))
        .map(|(status, response)| (status.clone(), response.clone()))
        .collect();
    let Some((_, first)) = refusals.first() else {
        return;
    };
    let statuses: Vec<String> = refusals
        .iter()
        .map(|(status, response)| {
            format!(
                "{status}: {}",
                response["description"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let mut default = first.clone();
    default["description"] = json!(format!(
        "Refused; the body says why. {}",
        statuses.join(" ")
    ));
    responses.retain(|status, _| status.starts_with('2'));
    responses.insert("default".to_owned(), default);
}

/// The component schemas `doc` references, directly or through another schema.
fn referenced(doc: &Value) -> BTreeSet<String> {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref")
                    && let Some(name) = target.strip_prefix("#/components/schemas/")
                {
                    out.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut used = BTreeSet::new();
    let mut pending = Vec::new();
    refs(&doc["paths"], &mut pending);
    while let Some(name) = pending.pop() {
        if used.insert(name.clone()) {
            refs(&doc["components"]["schemas"][&name], &mut pending);
        }
    }
    used
}

/// 3.1's `type: [T, "null"]` and `oneOf: [{type: null}, X]` as 3.0's `nullable: true`.
fn nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get("type") {
                let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if kept.len() == 1 {
                    let nullable = kept.len() < types.len();
                    map.insert("type".to_owned(), kept[0].clone());
                    if nullable {
                        map.insert("nullable".to_owned(), Value::Bool(true));
                    }
                }
            }
            if let Some(Value::Array(variants)) = map.get("oneOf") {
                let null = json!({"type": "null"});
                if variants.len() == 2 && variants.contains(&null) {
                    let other = variants.iter().find(|v| **v != null).cloned();
                    map.remove("oneOf");
                    if let Some(other) = other {
                        map.insert("allOf".to_owned(), Value::Array(vec![other]));
                    }
                    map.insert("nullable".to_owned(), Value::Bool(true));
                }
            }
            map.values_mut().for_each(nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// The External Services document, as Salesforce fetches it through the Named Credential
/// (any key may read it).
#[utoipa::path(
    tag = "api",
    operation_id = "getExternalServiceSchema",
    responses(
        (status = 200, description = "The OpenAPI 3.0 document to register as an External Service.", content_type = "application/json", body = Object),
        (status = 401, description = "No API key, or not one of this service's.", body = super::problem::Problem),
    ),
    security(("apiKey" = [])),
)]
#[get("/api/v1/openapi.json")]
pub async fn document(request: HttpRequest, state: web::Data<ApiState>) -> HttpResponse {
    answer(&state, &request, "openapi", None, || async {
        Ok((StatusCode::OK, external_services()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_values_take_the_3_0_form() {
        let mut schema = json!({
            "properties": {
                "a": {"type": ["string", "null"], "format": "date-time"},
                "b": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X"}]},
                "c": {"type": "string"}
            }
        });
        nullable(&mut schema);
        assert_eq!(
            schema,
            json!({
                "properties": {
                    "a": {"type": "string", "format": "date-time", "nullable": true},
                    "b": {"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": true},
                    "c": {"type": "string"}
                }
            })
        );
    }

    #[test]
    fn only_the_flow_operations_remain_with_one_default_refusal() {
        let doc = external_services();
        assert_eq!(doc["openapi"], "3.0.3");
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths.len(), 3, "{paths:?}");
        let check = &doc["paths"]["/api/v1/opportunities/{opportunityId}/check"]["get"];
        let statuses: Vec<&String> = check["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["200", "default"]);
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(doc["components"].get("securitySchemes").is_none());
    }
}
