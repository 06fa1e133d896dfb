//! sObject Collections: `PATCH /composite/sobjects` updates up to 200 records in one call,
//! all-or-none or record by record, answering a SaveResult per record (salesforce.md §4).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::sobjects::apply_update;
use super::{Reply, errors_json, rest};
use crate::salesforce::Shared;
use crate::salesforce::org::Org;
use crate::salesforce::schema::Rejection;
use ace_sync::domain::ids::{SfRecordId, SfUserId};

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

pub(super) async fn collections_update(
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
        if request.records.len() > crate::salesforce::COLLECTIONS_MAX_RECORDS {
            return Reply::rejected(&Rejection::new(
                400,
                "EXCEEDED_ID_LIMIT",
                format!(
                    "record limit exceeded; maximum of {} records allowed",
                    crate::salesforce::COLLECTIONS_MAX_RECORDS
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
