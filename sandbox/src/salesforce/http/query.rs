//! SOQL over REST: `/query?q=…` runs the subset `soql` parses, pages the rows, and
//! `/query/{locator}` reads the next page (salesforce.md §4).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::render::render_selected;
use super::{Reply, rest};
use crate::salesforce::Shared;
use crate::salesforce::org::Org;
use crate::salesforce::org::Record;
use crate::salesforce::schema::Rejection;
use crate::salesforce::soql::{self, Filter, Op};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{FieldValue, parse_datetime};

fn run_query(org: &mut Org, version: &str, text: &str) -> Reply {
    let query = match soql::parse(text, &org.schema) {
        Ok(q) => q,
        Err(rejection) => return Reply::rejected(&rejection),
    };
    let mut records: Vec<&Record> = org
        .live_records(query.object)
        .into_iter()
        .filter(|r| query.filters.iter().all(|f| matches(r, f)))
        .collect();
    if let Some((field, descending)) = query.order {
        records.sort_by(|a, b| {
            let order = compare(a, field, b);
            if descending { order.reverse() } else { order }
        });
    }
    let mut rows: Vec<String> = records
        .into_iter()
        .map(|r| render_selected(org, version, r, &query.fields))
        .collect();
    if let Some(limit) = query.limit {
        rows.truncate(limit);
    }
    page(org, version, rows, None, 0)
}

/// Whether a record passes one condition: ids in either length, text without regard to case
/// (as SOQL compares strings), checkboxes as `true`/`false`, dates and datetimes as instants.
fn matches(record: &Record, filter: &Filter) -> bool {
    if filter.field == "Id" {
        return filter
            .values
            .iter()
            .filter_map(|v| SfRecordId::parse(v).ok())
            .any(|id| id == record.id);
    }
    let Some(value) = record.fields.get(filter.field) else {
        // A comparison with null is false; `= ''` is not how SOQL asks for null either.
        return false;
    };
    if filter.op == Op::In {
        let text = value.to_text();
        return filter.values.iter().any(|v| v.eq_ignore_ascii_case(&text));
    }
    let Some(bound) = filter.values.first() else {
        return false;
    };
    let order = match (value, parse_datetime(bound)) {
        (FieldValue::Datetime(at), Some(bound)) => at.cmp(&bound),
        _ => value.to_text().as_str().cmp(bound.as_str()),
    };
    match filter.op {
        Op::Greater => order.is_gt(),
        Op::GreaterOrEqual => order.is_ge(),
        Op::Less => order.is_lt(),
        Op::LessOrEqual => order.is_le(),
        Op::In => false,
    }
}

/// Two records in the order of `field`; records without it come first, as nulls do.
fn compare(a: &Record, field: &str, b: &Record) -> std::cmp::Ordering {
    let key = |r: &Record| {
        r.fields.get(field).map(|v| match v {
            FieldValue::Datetime(at) => format!("{:020}", at.unix_timestamp_nanos()),
            other => other.to_text(),
        })
    };
    key(a).cmp(&key(b))
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
pub(super) struct QueryParams {
    q: Option<String>,
}

pub(super) async fn query(
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

pub(super) async fn query_more(
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
