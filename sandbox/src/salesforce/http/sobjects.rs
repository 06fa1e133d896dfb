//! sObject rows: retrieve, create, update and delete one record by id, with the schema's
//! checks and Salesforce's status codes (salesforce.md §4), and the simulator's own "change as
//! a user" control route.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::render::{render_all, render_selected};
use super::{Reply, errors_response, rest};
use crate::salesforce::Shared;
use crate::salesforce::org::{Org, Record};
use crate::salesforce::schema::{ObjectDef, Rejection, check_write};
use crate::salesforce::soql::Selected;
use ace_sync::domain::ids::{SfRecordId, SfUserId};

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
pub(super) struct FieldsParam {
    fields: Option<String>,
}

pub(super) async fn retrieve(
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

pub(super) fn parse_body(body: &[u8]) -> Result<BTreeMap<String, Box<RawValue>>, Rejection> {
    serde_json::from_slice(body).map_err(|e| {
        Rejection::new(
            400,
            "JSON_PARSER_ERROR",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

pub(super) fn apply_update(
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

pub(super) async fn update(
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
pub(super) async fn update_as(
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

/// A record from a create body, checked as Salesforce checks one: fields, values, then the
/// required fields (Opportunity: Name, StageName, CloseDate; Account: Name).
pub(super) fn apply_create(
    org: &mut Org,
    user: &SfUserId,
    object: &str,
    body: &[u8],
) -> Result<SfRecordId, Rejection> {
    let body = parse_body(body)?;
    let def =
        org.schema.object(object).cloned().ok_or_else(|| {
            Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
        })?;
    let fields = check_write(&def, &body)?;
    org.create(def.name, fields, user)
}

/// Control, not Salesforce: a record created "as" any user of the org without a session, so a
/// standalone simulator's workflow rule can be fired by a rep's new opportunity.
pub(super) async fn create_as(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (username, object) = path.into_inner();
    let result = {
        let mut org = shared.lock();
        match org.user_by_name(&username).map(|u| u.id.clone()) {
            None => Err(Rejection::new(
                404,
                "NOT_FOUND",
                format!("no user {username} in this org"),
            )),
            Some(user) => apply_create(&mut org, &user, &object, &body),
        }
    };
    shared.wake.notify_one();
    shared.changed();
    match result {
        Ok(id) => HttpResponse::Created()
            .content_type("application/json;charset=UTF-8")
            .body(format!(r#"{{"id":"{id}","success":true,"errors":[]}}"#)),
        Err(rejection) => errors_response(&rejection),
    }
}

pub(super) async fn create(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (version, object) = path.into_inner();
    rest(
        &shared,
        &req,
        &version,
        Some(&body),
        |org, user| match apply_create(org, user, &object, &body) {
            Ok(id) => Reply::ok(
                201,
                format!(r#"{{"id":"{id}","success":true,"errors":[]}}"#),
            ),
            Err(rejection) => Reply::rejected(&rejection),
        },
    )
    .await
}

pub(super) async fn delete(
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
