//! The OpenAPI document Salesforce registers as an External Service
//! (`openapi/salesforce-external-service.json`, served at `GET /api/v1/openapi.json`): it is
//! the one the code generates, valid OpenAPI 3.0, within what External Services documents it
//! accepts, and every operation it documents answers as documented on a running server.
//!
//! External Services' documented constraints, as checked below (Salesforce Help, "External
//! Services Considerations", read for Summer '26):
//! - *OpenAPI 2.0 and 3.0 Support* (`platform.external_services_intro_openapi_2_3_support`):
//!   OpenAPI 3.0 in JSON is a supported format; the media types are `application/json`,
//!   `application/x-www-form-urlencoded` and `text/plain` (others need a media type mapping);
//!   OpenAPI 3.0's `not` is unsupported, as are xml, png and pdf media types.
//! - *Schema Definitions* (`platform.external_services_schema_def_definition`): GET, PATCH,
//!   PUT, POST and DELETE only; a GET with a request body fails validation; every parameter
//!   has a name; response headers are unsupported; the supported data types are binary,
//!   boolean, date, datetime, double, enum, float, integer, long, string, objects and lists
//!   (nested anonymous arrays become `List<List<T>>`, which a Flow variable cannot hold).
//! - *Operation Output Parameters* (`platform.external_services_schema_def_operation_output_params`):
//!   outputs are named after the response codes (or `default`); response content types are
//!   `application/json`, `application/octet-stream`, `application/x-www-form-urlencoded` and
//!   `text/plain`.
//! - *Naming and Description Conventions* (`platform.external_services_schema_def_naming_description`):
//!   the operation name is the `operationId`; names become Apex class and property names, so
//!   they must be valid Apex identifiers (and, Apex Developer Guide "Reserved Keywords", none
//!   a reserved keyword); descriptions of operations and parameters are kept to 1,333
//!   characters.
//! - *System Limits* (`platform.external_services_schema_def_limits`): a JSON schema of at most
//!   10,000,000 characters; at most 3,000 active operations per org.
//! - *Asynchronous callbacks* (`platform.external_services_async_ops`): callbacks are for Apex
//!   only, not Flow, and a synchronous operation times out after 120 seconds (so
//!   `api.deadline` must stay under it: `config/api.rs`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use regex::Regex;
use serde_json::Value;

use super::{ApiIngress, CHECK_KEY, SYNC_KEY};
use crate::helpers::env;
use crate::helpers::world::{self, Options, World};

/// Apex's reserved keywords (Apex Developer Guide, "Reserved Keywords").
const APEX_RESERVED: &str = "\
    abstract activate and any array as asc autonomous begin bigdecimal blob boolean break bulk \
    by byte case cast catch char class collect commit const continue currency date datetime \
    decimal default delete desc do double else end enum exception exit export extends false \
    final finally float for from global goto group having hint if implements import in inner \
    insert instanceof int integer interface into join like limit list long loop map merge new \
    not null nulls number object of on or outer override package parallel pragma private \
    protected public retrieve return rollback select set short sobject sort static string super \
    switch synchronized system testmethod then this throw time transaction trigger true try \
    undelete update upsert using virtual void webservice when where while";

const DESCRIPTION_LIMIT: usize = 1_333;
const SCHEMA_SIZE_LIMIT: usize = 10_000_000;
const METHODS: &[&str] = &["get", "put", "post", "patch", "delete"];
const RESPONSE_MEDIA: &[&str] = &[
    "application/json",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "text/plain",
];
const TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array"];
/// The formats behind the supported data types: date, datetime, double, float, integer, long,
/// binary (and base64 bytes).
const FORMATS: &[&str] = &[
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "binary",
    "byte",
];

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi/salesforce-external-service.json")
}

fn committed() -> Value {
    serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap()
}

/// A name Apex can take for a class or a property.
fn apex_identifier(name: &str) -> Result<(), String> {
    let shape = Regex::new(r"^[A-Za-z][A-Za-z0-9_]*$").unwrap();
    if !shape.is_match(name) || name.contains("__") || name.ends_with('_') {
        return Err(format!("{name:?} is not a valid Apex identifier"));
    }
    if APEX_RESERVED
        .split_whitespace()
        .any(|word| word.eq_ignore_ascii_case(name))
    {
        return Err(format!("{name:?} is an Apex reserved keyword"));
    }
    Ok(())
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = ace_sync::cli::external_services_openapi();
    let committed = std::fs::read_to_string(committed_path()).expect("the committed document");
    assert!(
        generated.trim_end() == committed.trim_end(),
        "openapi/salesforce-external-service.json is out of date: regenerate it with `cargo run -- openapi --external-services > openapi/salesforce-external-service.json`, then the registration's <schema> (run deploy::salesforce_flows with ACE_SYNC_BLESS=1)"
    );
}

#[test]
fn the_committed_document_is_valid_openapi_3_0() {
    let output = Command::new(env::venv_bin("openapi-spec-validator"))
        .arg(committed_path())
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let version = committed()["openapi"].as_str().unwrap().to_owned();
    assert!(version.starts_with("3.0."), "{version}");
}

/// Every schema in `value` (a schema, with the schemas nested in it), with where it is.
fn schemas<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    let Some(map) = value.as_object() else {
        return;
    };
    out.push((at.clone(), value));
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            schemas(property, format!("{at}.{name}"), out);
        }
    }
    if let Some(items) = map.get("items") {
        schemas(items, format!("{at}[]"), out);
    }
    for composition in ["allOf", "anyOf", "oneOf"] {
        for (i, part) in map
            .get(composition)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            schemas(part, format!("{at}.{composition}[{i}]"), out);
        }
    }
    if let Some(extra) = map.get("additionalProperties").filter(|v| v.is_object()) {
        schemas(extra, format!("{at}{{}}"), out);
    }
}

#[test]
fn the_document_keeps_within_what_external_services_accepts() {
    // The name check itself, on names Apex would and would not take.
    assert!(apex_identifier("checkedAt").is_ok());
    for bad in [
        "date",
        "Object",
        "a__b",
        "b_",
        "1a",
        "with-dash",
        "bulk",
        "by",
    ] {
        assert!(apex_identifier(bad).is_err(), "{bad}");
    }
    let text = std::fs::read_to_string(committed_path()).unwrap();
    assert!(text.chars().count() <= SCHEMA_SIZE_LIMIT);
    let doc = committed();
    let mut problems = Vec::new();
    let mut operation_ids = BTreeSet::new();
    let mut all_schemas: Vec<(String, &Value)> = Vec::new();
    let status_code = Regex::new(r"^[1-5]\d\d$").unwrap();

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let at = format!("{method} {path}");
            if !METHODS.contains(&method.as_str()) {
                problems.push(format!("{at}: method {method} is not supported"));
            }
            if method == "get" && operation.get("requestBody").is_some() {
                problems.push(format!("{at}: a GET with a request body fails validation"));
            }
            if operation.get("callbacks").is_some() {
                problems.push(format!("{at}: callbacks are for Apex only, not Flow"));
            }
            match operation["operationId"].as_str() {
                None => problems.push(format!("{at}: no operationId (the action's name)")),
                Some(id) => {
                    if let Err(e) = apex_identifier(id) {
                        problems.push(format!("{at}: operationId {e}"));
                    }
                    if !operation_ids.insert(id.to_owned()) {
                        problems.push(format!("{at}: operationId {id} is not unique"));
                    }
                }
            }
            for key in ["summary", "description"] {
                let length = operation[key].as_str().unwrap_or_default().chars().count();
                if length > DESCRIPTION_LIMIT {
                    problems.push(format!("{at}: {key} is {length} characters"));
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                if let Err(e) = apex_identifier(name) {
                    problems.push(format!("{at}: parameter {e}"));
                }
                if !["path", "query", "header"]
                    .contains(&parameter["in"].as_str().unwrap_or_default())
                {
                    problems.push(format!("{at}: parameter {name} is in {}", parameter["in"]));
                }
                let length = parameter["description"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .count();
                if length > DESCRIPTION_LIMIT {
                    problems.push(format!(
                        "{at}: parameter {name}'s description is {length} characters"
                    ));
                }
                schemas(
                    &parameter["schema"],
                    format!("{at} parameter {name}"),
                    &mut all_schemas,
                );
            }
            if let Some(body) = operation.get("requestBody") {
                for (media, content) in body["content"].as_object().into_iter().flatten() {
                    if !RESPONSE_MEDIA[..3].contains(&media.as_str()) && media != "application/json"
                    {
                        problems.push(format!("{at}: request media type {media}"));
                    }
                    schemas(
                        &content["schema"],
                        format!("{at} request"),
                        &mut all_schemas,
                    );
                }
            }
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{at}: no response");
            for (status, response) in responses {
                let at = format!("{at} → {status}");
                if status != "default" && !status_code.is_match(status) {
                    problems.push(format!("{at}: not a status code or default"));
                }
                if response.get("headers").is_some() {
                    problems.push(format!("{at}: response headers are not supported"));
                }
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if !RESPONSE_MEDIA.contains(&media.as_str()) {
                        problems.push(format!("{at}: response media type {media}"));
                    }
                    schemas(&content["schema"], at.clone(), &mut all_schemas);
                }
            }
        }
    }
    assert!(!operation_ids.is_empty() && operation_ids.len() <= 3_000);

    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = apex_identifier(name) {
            problems.push(format!("schema {e}"));
        }
        schemas(schema, name.clone(), &mut all_schemas);
    }
    for (at, schema) in &all_schemas {
        if schema.get("not").is_some() {
            problems.push(format!("{at}: `not` is not supported"));
        }
        if schema.get("xml").is_some() {
            problems.push(format!("{at}: xml is not supported"));
        }
        if schema["discriminator"]["mapping"].is_object() {
            problems.push(format!("{at}: a discriminator mapping is ignored"));
        }
        if let Some(kind) = schema.get("type") {
            match kind.as_str() {
                Some(kind) if TYPES.contains(&kind) => {}
                _ => problems.push(format!("{at}: type {kind} (3.0 takes one type name)")),
            }
        }
        if let Some(format) = schema["format"].as_str()
            && !FORMATS.contains(&format)
        {
            problems.push(format!(
                "{at}: format {format} is not a supported data type"
            ));
        }
        if schema["type"] == "array" && schema["items"]["type"] == "array" {
            problems.push(format!(
                "{at}: a list of anonymous lists cannot be a Flow variable"
            ));
        }
        for property in schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if let Err(e) = apex_identifier(property) {
                problems.push(format!("{at}: property {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "External Services would refuse or mangle:\n{}",
        problems.join("\n")
    );
}

/// Whether `value` is what `schema` (of `doc`) describes: types, formats, required and
/// declared properties (nothing undeclared), enums, nullability, lists, `$ref` and `allOf`.
fn conforms(value: &Value, schema: &Value, doc: &Value, at: &str) -> Result<(), String> {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        return conforms(value, &doc["components"]["schemas"][name], doc, at);
    }
    if value.is_null() {
        return if schema["nullable"] == true {
            Ok(())
        } else {
            Err(format!("{at}: null, but not nullable"))
        };
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conforms(value, part, doc, at)?;
    }
    let fits = match schema["type"].as_str() {
        None => true,
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        Some(other) => return Err(format!("{at}: unknown type {other}")),
    };
    if !fits {
        return Err(format!("{at}: {value} is not of type {}", schema["type"]));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if schema["format"] == "date-time" {
        let text = value.as_str().unwrap_or_default();
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| format!("{at}: {text:?} is not a date-time: {e}"))?;
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            conforms(item, &schema["items"], doc, &format!("{at}[{i}]"))?;
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: required property {name} is missing"));
            }
        }
        for (name, field) in object {
            let Some(declared) = properties.get(name) else {
                return Err(format!("{at}: property {name} is not documented"));
            };
            conforms(field, declared, doc, &format!("{at}.{name}"))?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let id = "0065g00000QrStUAAV";
    let world = World::start(
        world::seed(vec![world::complete_opportunity(
            id,
            "Acme - Data Platform",
            "Qualification",
        )]),
        Options::default(),
    )
    .await;
    let api = ApiIngress::start(&world).await;
    // What the running server serves is what is committed.
    let served = api
        .call("GET", "/api/v1/openapi.json", Some(CHECK_KEY))
        .await;
    assert_eq!(served.status, 200);
    let doc = committed();
    assert_eq!(served.body, doc, "the served document is the committed one");

    let unknown = world::opportunity_ids(10).pop().unwrap();
    let mut answered = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            let success = responses
                .as_object()
                .unwrap()
                .keys()
                .find(|s| s.starts_with('2'))
                .expect("a success response")
                .clone();
            let cases = [
                (
                    path.replace("{opportunityId}", id),
                    Some(SYNC_KEY),
                    success.as_str(),
                ),
                (path.replace("{opportunityId}", id), None, "default"),
                (
                    path.replace("{opportunityId}", &unknown),
                    Some(SYNC_KEY),
                    "default",
                ),
                (
                    path.replace("{opportunityId}", "not-an-id"),
                    Some(SYNC_KEY),
                    "default",
                ),
            ];
            for (concrete, key, documented) in cases {
                let answer = api.call(method, &concrete, key).await;
                let at = format!("{method} {concrete} → {}", answer.status);
                let status = answer.status.to_string();
                let response = if responses.get(&status).is_some() {
                    &responses[&status]
                } else {
                    assert!(!status.starts_with('2'), "{at}: an undocumented success");
                    &responses["default"]
                };
                assert!(
                    documented == "default" || status == documented,
                    "{at}: expected {documented}: {:?}",
                    answer.body
                );
                let media = response["content"].as_object().unwrap();
                let (content_type, content) = media.iter().next().unwrap();
                assert!(
                    answer.content_type.starts_with(content_type.as_str()),
                    "{at}: {}",
                    answer.content_type
                );
                if let Err(problem) = conforms(&answer.body, &content["schema"], &doc, "body") {
                    panic!(
                        "{at} does not answer as documented: {problem}\n{}",
                        answer.body
                    );
                }
                answered += 1;
            }
        }
    }
    assert_eq!(answered, 12);
}
