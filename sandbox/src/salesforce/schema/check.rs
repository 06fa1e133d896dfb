//! How Salesforce checks a write against the schema: unknown and read-only fields, required
//! values, lengths, picklists and value types, with Salesforce's error codes and texts
//! (salesforce.md §4).

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;

use super::{FieldDef, FieldType, ObjectDef, Rejection};
use ace_sync::domain::ids::SfRecordId;
use ace_sync::domain::sobject::{Decimal, FieldValue, parse_date, parse_datetime};

/// A JSON value for `def`, checked as Salesforce checks a write. `None` is null.
pub fn check_value(def: &FieldDef, raw: &RawValue) -> Result<Option<FieldValue>, Rejection> {
    let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let value = &value;
    use FieldType::*;
    if value.is_null() {
        if def.required {
            return Err(Rejection::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", def.name),
            )
            .on(def.name));
        }
        return Ok(None);
    }
    let type_error = |expected: &str| {
        Rejection::new(
            400,
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of {expected} from {} value {value} or request may be missing a required field",
                json_kind(value)
            ),
        )
    };
    let text = || value.as_str().ok_or_else(|| type_error("string"));
    let too_long = |s: &str, max: usize| {
        Rejection::new(
            400,
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {} (max length={max})",
                def.label,
                truncate(s, 40)
            ),
        )
        .on(def.name)
    };
    let value = match &def.field_type {
        Id | Reference => {
            let s = text()?;
            let id = SfRecordId::parse(s).map_err(|_| {
                Rejection::new(
                    400,
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {s}", def.label),
                )
                .on(def.name)
            })?;
            FieldValue::Text(id.to_string())
        }
        String(max) | Textarea(max) | Url(max) => {
            let s = text()?;
            if s.chars().count() > *max {
                return Err(too_long(s, *max));
            }
            FieldValue::Text(s.to_owned())
        }
        Phone | Email => {
            let s = text()?;
            if s.chars().count() > 80 {
                return Err(too_long(s, 80));
            }
            FieldValue::Text(s.to_owned())
        }
        Picklist { values, restricted } => {
            let s = text()?;
            if *restricted && !values.contains(&s) {
                return Err(Rejection::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {s}",
                        def.label
                    ),
                )
                .on(def.name));
            }
            FieldValue::Text(s.to_owned())
        }
        Multipicklist(values) => {
            let s = text()?;
            let chosen: Vec<std::string::String> = s
                .split(';')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = chosen.iter().find(|v| !values.contains(&v.as_str())) {
                return Err(Rejection::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {bad}",
                        def.label
                    ),
                )
                .on(def.name));
            }
            if chosen.is_empty() {
                return Ok(None);
            }
            FieldValue::Multi(chosen)
        }
        Currency | Percent | Double => {
            let number = match value {
                // The JSON text itself, so no digit is lost to a float.
                Value::Number(_) => Decimal::parse(raw.get().trim()),
                Value::String(s) => Decimal::parse(s.trim()),
                _ => None,
            };
            FieldValue::Number(number.ok_or_else(|| type_error("double"))?)
        }
        Int => {
            let number = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            FieldValue::Integer(number.ok_or_else(|| type_error("int"))?)
        }
        Boolean => FieldValue::Bool(value.as_bool().ok_or_else(|| type_error("boolean"))?),
        Date => {
            let s = text()?;
            FieldValue::Date(parse_date(s).ok_or_else(|| {
                Rejection::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of date from VALUE_STRING value {s} or request may be missing a required field"),
                )
            })?)
        }
        Datetime => {
            let s = text()?;
            FieldValue::Datetime(parse_datetime(s).ok_or_else(|| {
                Rejection::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of datetime from VALUE_STRING value {s} or request may be missing a required field"),
                )
            })?)
        }
    };
    Ok(Some(value))
}

/// Checks every field of a write body; the first problem is the answer, as in Salesforce.
pub fn check_write(
    object: &ObjectDef,
    body: &BTreeMap<std::string::String, Box<RawValue>>,
) -> Result<BTreeMap<&'static str, Option<FieldValue>>, Rejection> {
    let mut checked = BTreeMap::new();
    for (name, value) in body {
        if name == "attributes" || name.eq_ignore_ascii_case("id") {
            continue;
        }
        let def = object.field(name).ok_or_else(|| {
            Rejection::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", object.name),
            )
        })?;
        if !def.updateable {
            return Err(Rejection::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    def.name
                ),
            )
            .on(def.name));
        }
        checked.insert(def.name, check_value(def, value)?);
    }
    Ok(checked)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

fn truncate(s: &str, max: usize) -> std::string::String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema::opportunity;
    use serde_json::json;

    fn body(value: Value) -> BTreeMap<std::string::String, Box<RawValue>> {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    #[test]
    fn writes_are_checked_like_salesforce_checks_them() {
        let opp = opportunity();
        let ok = check_write(
            &opp,
            &body(json!({"NextStep":"Call","Amount":12.5,"ACE_Sync_Status__c":"Synced","Use_Cases__c":"Migration;AI/ML","Description":null})),
        )
        .unwrap();
        assert_eq!(
            ok["Amount"],
            Some(FieldValue::Number(Decimal::parse("12.5").unwrap()))
        );
        assert_eq!(ok["Description"], None);
        let exact: BTreeMap<std::string::String, Box<RawValue>> =
            serde_json::from_str(r#"{"Amount":12345678901234567.89}"#).unwrap();
        assert_eq!(
            check_write(&opp, &exact).unwrap()["Amount"],
            Some(FieldValue::Number(
                Decimal::parse("12345678901234567.89").unwrap()
            ))
        );
        let code = |v: Value| check_write(&opp, &body(v)).unwrap_err();
        let e = code(json!({"Nope__c": 1}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                "INVALID_FIELD",
                "No such column 'Nope__c' on sobject of type Opportunity"
            )
        );
        let e = code(json!({"NextStep": "x".repeat(256)}));
        assert_eq!(e.code, "STRING_TOO_LONG");
        assert!(
            e.message.starts_with("Next Step: data value too large: "),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("(max length=255)"));
        assert_eq!(e.fields, vec!["NextStep".to_owned()]);
        let e = code(json!({"StageName": "Won-ish"}));
        assert_eq!(e.code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
        assert_eq!(
            e.message,
            "Stage: bad value for restricted picklist field: Won-ish"
        );
        assert_eq!(
            code(json!({"IsWon": true})).code,
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(code(json!({"AccountId": "nope"})).code, "MALFORMED_ID");
        assert_eq!(
            code(json!({"StageName": null})).code,
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(code(json!({"Amount": "lots"})).code, "JSON_PARSER_ERROR");
    }
}
