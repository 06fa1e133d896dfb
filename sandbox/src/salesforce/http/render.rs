//! Records as the REST API renders them: `attributes`, `+0000` datetimes, relationships as
//! nested objects or `null` (salesforce.md §4).

use super::json_string;
use crate::salesforce::org::{Org, Record};
use crate::salesforce::schema::ObjectDef;
use crate::salesforce::soql::Selected;
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{FieldValue, format_date};

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
pub(super) fn render_selected(
    org: &Org,
    version: &str,
    record: &Record,
    fields: &[Selected],
) -> String {
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

pub(super) fn render_all(version: &str, object: &ObjectDef, record: &Record) -> String {
    let mut parts = vec![attributes(version, record)];
    for def in &object.fields {
        parts.push(format!("\"{}\":{}", def.name, field_json(record, def.name)));
    }
    format!("{{{}}}", parts.join(","))
}
