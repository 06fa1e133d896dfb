//! What the org says about itself, as third-party clients ask for it before anything else: the
//! API versions (`/services/data`), a version's resources (`/services/data/vNN.N`), the
//! objects (describe global, `/sobjects`), an object's basic information and its describe
//! (fields, types, lengths, picklists, External IDs), and the API limits (`/limits`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{NEWEST_VERSION, OLDEST_VERSION, Reply, json, rest};
use crate::salesforce::Shared;
use crate::salesforce::schema::{FieldDef, FieldType, ObjectDef, Rejection};

/// `GET /services/data`: every version served; needs no session and is not counted
/// (salesforce.md §4).
pub(super) async fn versions() -> HttpResponse {
    let list: Vec<String> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|v| format!(r#"{{"label":"v{v}.0","url":"/services/data/v{v}.0","version":"{v}.0"}}"#))
        .collect();
    json(200, format!("[{}]", list.join(",")))
}

/// `GET /services/data/vNN.N`: the resources of a version.
pub(super) async fn resources(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let version = path.into_inner();
    rest(&shared, &req, &version.clone(), None, move |_, _| {
        let base = format!("/services/data/{version}");
        let body = json!({
            "sobjects": format!("{base}/sobjects"),
            "query": format!("{base}/query"),
            "composite": format!("{base}/composite"),
            "limits": format!("{base}/limits"),
        });
        Reply::ok(200, body.to_string())
    })
    .await
}

/// `GET …/limits`: the daily API requests, as the `Sforce-Limit-Info` header counts them.
pub(super) async fn limits(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let version = path.into_inner();
    rest(&shared, &req, &version, None, |org, _| {
        let max = org.daily_api_limit;
        let body = json!({"DailyApiRequests": {
            "Max": max,
            "Remaining": max.saturating_sub(org.api_calls),
        }});
        Reply::ok(200, body.to_string())
    })
    .await
}

/// `GET …/sobjects`: describe global.
pub(super) async fn describe_global(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let version = path.into_inner();
    rest(&shared, &req, &version.clone(), None, move |org, _| {
        let sobjects: Vec<Value> = org
            .schema
            .objects
            .iter()
            .map(|o| object_summary(&version, o))
            .collect();
        let body = json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects});
        Reply::ok(200, body.to_string())
    })
    .await
}

/// `GET …/sobjects/{object}`: the object's basic information.
pub(super) async fn basic_info(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (version, object) = path.into_inner();
    rest(
        &shared,
        &req,
        &version.clone(),
        None,
        move |org, _| match org.schema.object(&object) {
            Some(def) => Reply::ok(
                200,
                json!({"objectDescribe": object_summary(&version, def), "recentItems": []})
                    .to_string(),
            ),
            None => Reply::rejected(&not_found()),
        },
    )
    .await
}

/// `GET …/sobjects/{object}/describe`: the object and every field.
pub(super) async fn describe(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (version, object) = path.into_inner();
    rest(&shared, &req, &version.clone(), None, move |org, _| {
        let Some(def) = org.schema.object(&object) else {
            return Reply::rejected(&not_found());
        };
        let mut body = object_summary(&version, def);
        let fields: Vec<Value> = def.fields.iter().map(|f| field_describe(def, f)).collect();
        if let Value::Object(map) = &mut body {
            map.insert("fields".into(), Value::Array(fields));
        }
        Reply::ok(200, body.to_string())
    })
    .await
}

fn not_found() -> Rejection {
    Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
}

fn object_summary(version: &str, o: &ObjectDef) -> Value {
    let url = format!("/services/data/{version}/sobjects/{}", o.name);
    json!({
        "name": o.name,
        "label": o.label,
        "labelPlural": o.label_plural,
        "keyPrefix": o.prefix,
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "retrieveable": true,
        "searchable": true,
        "urls": {
            "sobject": url,
            "describe": format!("{url}/describe"),
            "rowTemplate": format!("{url}/{{ID}}"),
        },
    })
}

fn field_describe(object: &ObjectDef, f: &FieldDef) -> Value {
    let (kind, length) = match &f.field_type {
        FieldType::Id => ("id", 18),
        FieldType::Reference => ("reference", 18),
        FieldType::String(n) => ("string", *n),
        FieldType::Textarea(n) => ("textarea", *n),
        FieldType::Url(n) => ("url", *n),
        FieldType::Phone => ("phone", 40),
        FieldType::Email => ("email", 80),
        FieldType::Picklist { .. } => ("picklist", 255),
        FieldType::Multipicklist(_) => ("multipicklist", 4099),
        FieldType::Currency => ("currency", 0),
        FieldType::Percent => ("percent", 0),
        FieldType::Double => ("double", 0),
        FieldType::Int => ("int", 0),
        FieldType::Boolean => ("boolean", 0),
        FieldType::Date => ("date", 0),
        FieldType::Datetime => ("datetime", 0),
    };
    let (values, restricted): (&[&str], bool) = match &f.field_type {
        FieldType::Picklist { values, restricted } => (values, *restricted),
        FieldType::Multipicklist(values) => (values, true),
        _ => (&[], false),
    };
    let picklist: Vec<Value> = values
        .iter()
        .map(|v| json!({"value": v, "label": v, "active": true, "defaultValue": false}))
        .collect();
    let relationship = object.relationships.iter().find(|r| r.field == f.name);
    let reference_to: Vec<&str> = match (&f.field_type, relationship) {
        (FieldType::Reference, Some(r)) => vec![r.target],
        (FieldType::Reference, None) => vec!["User"],
        _ => Vec::new(),
    };
    json!({
        "name": f.name,
        "label": f.label,
        "type": kind,
        "length": length,
        "custom": f.name.ends_with("__c"),
        "createable": f.updateable,
        "updateable": f.updateable,
        "nillable": !f.required && !matches!(f.field_type, FieldType::Boolean),
        "externalId": f.external_id,
        "unique": f.unique,
        "idLookup": f.name == "Id" || f.external_id,
        "picklistValues": picklist,
        "restrictedPicklist": restricted,
        "referenceTo": reference_to,
        "relationshipName": relationship.map(|r| r.name),
    })
}
