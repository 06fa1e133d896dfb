//! Salesforce's REST JSON and the domain's [`SObject`], both ways.
//!
//! Reading: a record is a JSON object with an `attributes` member, scalar fields, and one
//! nested object per relationship field selected (`"Account":{"attributes":…,"Name":"Acme"}`,
//! or `null`). Relationship fields are flattened under dotted names (`Account.Name`). Numbers
//! are taken from the JSON text itself ([`RawValue`]), so `12345678901234567.89` stays exactly
//! that; strings become dates, datetimes or multi-select values by the field's declared kind
//! ([`FieldTypes`]), the rest stay text. Null and empty values are absent.
//!
//! Writing: values are spelled as Salesforce expects them over REST (`YYYY-MM-DD`,
//! `…T18:27:02.000+0000`, `a;b`, plain numbers).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::UtcOffset;

use crate::domain::ids::SfRecordId;
use crate::domain::sobject::{Decimal, FieldKind, FieldTypes, FieldValue, SObject, format_date};

#[derive(Deserialize)]
struct Attributes {
    #[serde(rename = "type")]
    sobject_type: String,
}

type RawObject = BTreeMap<String, Box<RawValue>>;

/// Why a record in an answer is not what we expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

/// One record of a query or sObject answer.
pub fn decode_record(raw: &RawValue, types: &FieldTypes) -> Result<SObject, WireError> {
    let object: RawObject = serde_json::from_str(raw.get())
        .map_err(|e| WireError(format!("a record is not a JSON object: {e}")))?;
    let sobject_type =
        type_of(&object).ok_or_else(|| WireError("a record has no attributes.type".to_owned()))?;
    let id_raw = object
        .get("Id")
        .ok_or_else(|| WireError(format!("an {sobject_type} record has no Id")))?;
    let id_text: String = serde_json::from_str(id_raw.get())
        .map_err(|_| WireError(format!("an {sobject_type} record's Id is not a string")))?;
    let id = SfRecordId::parse(&id_text)
        .map_err(|e| WireError(format!("{sobject_type} Id {id_text:?}: {e}")))?;
    let mut fields = BTreeMap::new();
    flatten("", &sobject_type, object, types, &mut fields)?;
    Ok(SObject {
        sobject_type,
        id,
        fields,
    })
}

fn type_of(object: &RawObject) -> Option<String> {
    let attributes = object.get("attributes")?;
    serde_json::from_str::<Attributes>(attributes.get())
        .ok()
        .map(|a| a.sobject_type)
}

fn flatten(
    prefix: &str,
    sobject_type: &str,
    object: RawObject,
    types: &FieldTypes,
    out: &mut BTreeMap<String, FieldValue>,
) -> Result<(), WireError> {
    for (name, raw) in object {
        if name == "attributes" || (prefix.is_empty() && name == "Id") {
            continue;
        }
        let key = format!("{prefix}{name}");
        let text = raw.get().trim();
        let bad = |what: String| WireError(format!("field {key}: {what}"));
        let value = match text.as_bytes().first() {
            None | Some(b'n') => continue,
            Some(b'{') => {
                let nested: RawObject = serde_json::from_str(text)
                    .map_err(|e| bad(format!("not a relationship object: {e}")))?;
                // The related record's own type decides how its fields are typed
                // (`Account.BillingCountry` is an Account field).
                let nested_type = type_of(&nested).unwrap_or_else(|| name.clone());
                flatten(&format!("{key}."), &nested_type, nested, types, out)?;
                continue;
            }
            // Child relationship sub-queries: never selected by this client.
            Some(b'[') => continue,
            Some(b't') => FieldValue::Bool(true),
            Some(b'f') => FieldValue::Bool(false),
            Some(b'"') => {
                let s: String =
                    serde_json::from_str(text).map_err(|e| bad(format!("bad string: {e}")))?;
                if s.is_empty() {
                    continue;
                }
                match types.kind_of(sobject_type, &name) {
                    FieldKind::Text => FieldValue::Text(s),
                    kind => FieldValue::parse(kind, &s).map_err(|e| bad(e.to_string()))?,
                }
            }
            Some(_) => match types.kind_of(sobject_type, &name) {
                FieldKind::Integer if text.parse::<i64>().is_ok() => {
                    FieldValue::Integer(text.parse().unwrap_or_default())
                }
                _ => FieldValue::Number(
                    Decimal::parse(text).ok_or_else(|| bad(format!("not a number: {text}")))?,
                ),
            },
        };
        out.insert(key, value);
    }
    Ok(())
}

/// A datetime as the REST API prints it: UTC, milliseconds, `+0000` (salesforce.md §4).
pub fn format_rest_datetime(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A value in the JSON Salesforce accepts for a field of its kind.
pub fn encode_value(value: &FieldValue) -> Box<RawValue> {
    let text = match value {
        FieldValue::Text(s) => json_string(s),
        FieldValue::Bool(b) => b.to_string(),
        // A Decimal's canonical spelling is a valid JSON number.
        FieldValue::Number(d) => d.to_string(),
        FieldValue::Integer(i) => i.to_string(),
        FieldValue::Date(d) => json_string(&format_date(*d)),
        FieldValue::Datetime(at) => json_string(&format_rest_datetime(*at)),
        FieldValue::Multi(values) => json_string(&values.join(";")),
    };
    // Every arm above produces valid JSON.
    RawValue::from_string(text).unwrap_or_else(|_| null())
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

pub fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// Whether Salesforce holds `desired` already: equal values, or the same value spelled
/// differently (`Integer(5)` vs `Number(5)`, text vs a typed value, one instant in two offsets).
pub fn same_value(current: &FieldValue, desired: &FieldValue) -> bool {
    if current == desired {
        return true;
    }
    match (current, desired) {
        (FieldValue::Datetime(a), FieldValue::Datetime(b)) => a == b,
        (a, b) => match (a.as_decimal(), b.as_decimal()) {
            (Some(x), Some(y)) if is_numeric(a) || is_numeric(b) => x == y,
            _ => a.to_text() == b.to_text(),
        },
    }
}

fn is_numeric(value: &FieldValue) -> bool {
    matches!(value, FieldValue::Number(_) | FieldValue::Integer(_))
}

/// The fields of `desired` whose value Salesforce does not hold yet, encoded for a PATCH
/// body (`null` clears a field).
pub fn changes(
    current: &SObject,
    desired: &BTreeMap<String, Option<FieldValue>>,
) -> BTreeMap<String, Box<RawValue>> {
    desired
        .iter()
        .filter(|(field, value)| match (current.get(field), value) {
            (None, None) => false,
            (Some(have), Some(want)) => !same_value(have, want),
            _ => true,
        })
        .map(|(field, value)| {
            (
                field.clone(),
                value.as_ref().map(encode_value).unwrap_or_else(null),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sobject::{parse_date, parse_datetime};

    fn types() -> FieldTypes {
        let mut types = FieldTypes::standard();
        types.declare("Opportunity", "Use_Cases__c", FieldKind::Multipicklist);
        types
    }

    #[test]
    fn records_flatten_relationships_and_keep_numbers_exact() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"attributes":{"type":"Opportunity","url":"/services/data/v67.0/sobjects/Opportunity/0065g00000QrStUAAV"},
               "Id":"0065g00000QrStUAAV","Name":"Acme – Data","Amount":12345678901234567.89,
               "Probability":75,"CloseDate":"2026-09-30","IsWon":false,"NextStep":null,
               "Description":"","LastModifiedDate":"2026-08-14T18:27:02.000+0000",
               "Use_Cases__c":"Migration;Analytics","FiscalQuarter":3,
               "Account":{"attributes":{"type":"Account"},"Name":"Acme","BillingCountry":"DE","AnnualRevenue":1.5E7},
               "Partner__r":null}"#,
        )
        .unwrap();
        let record = decode_record(&raw, &types()).unwrap();
        assert_eq!(record.sobject_type, "Opportunity");
        assert_eq!(record.id.as_str(), "0065g00000QrStUAAV");
        let f = &record.fields;
        assert_eq!(
            f["Amount"],
            FieldValue::Number(Decimal::parse("12345678901234567.89").unwrap())
        );
        assert_eq!(f["Probability"].as_decimal().unwrap().as_str(), "75");
        assert_eq!(
            f["CloseDate"],
            FieldValue::Date(parse_date("2026-09-30").unwrap())
        );
        assert_eq!(f["IsWon"], FieldValue::Bool(false));
        assert_eq!(f["FiscalQuarter"], FieldValue::Integer(3));
        assert_eq!(
            f["LastModifiedDate"],
            FieldValue::Datetime(parse_datetime("2026-08-14T18:27:02Z").unwrap())
        );
        assert_eq!(
            f["Use_Cases__c"],
            FieldValue::Multi(vec!["Migration".into(), "Analytics".into()])
        );
        assert_eq!(f["Account.Name"], FieldValue::Text("Acme".into()));
        assert_eq!(
            f["Account.AnnualRevenue"].as_decimal().unwrap().as_str(),
            "15000000"
        );
        assert!(!f.contains_key("NextStep") && !f.contains_key("Description"));
        assert!(!f.keys().any(|k| k.starts_with("Partner__r") || k == "Id"));
    }

    #[test]
    fn badly_typed_values_are_named() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"attributes":{"type":"Opportunity"},"Id":"0065g00000QrStUAAV","CloseDate":"30/09/2026"}"#,
        )
        .unwrap();
        let err = decode_record(&raw, &types()).unwrap_err();
        assert!(err.to_string().contains("CloseDate"), "{err}");
    }

    #[test]
    fn only_differences_are_encoded() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "Amount".to_owned(),
            FieldValue::Number(Decimal::parse("5").unwrap()),
        );
        fields.insert("NextStep".to_owned(), FieldValue::Text("Call".into()));
        fields.insert(
            "ACE_Last_Synced__c".to_owned(),
            FieldValue::Datetime(parse_datetime("2026-08-14T18:27:02.000+0000").unwrap()),
        );
        let current = SObject {
            sobject_type: "Opportunity".into(),
            id: SfRecordId::parse("0065g00000QrStUAAV").unwrap(),
            fields,
        };
        let mut desired = BTreeMap::new();
        desired.insert("Amount".to_owned(), Some(FieldValue::Integer(5)));
        desired.insert("NextStep".to_owned(), Some(FieldValue::Text("Call".into())));
        desired.insert(
            "ACE_Last_Synced__c".to_owned(),
            Some(FieldValue::Datetime(
                parse_datetime("2026-08-14T20:27:02+02:00").unwrap(),
            )),
        );
        desired.insert("Description".to_owned(), None);
        assert!(changes(&current, &desired).is_empty());
        desired.insert("NextStep".to_owned(), None);
        desired.insert(
            "ACE_Stage__c".to_owned(),
            Some(FieldValue::Text("Qualified \"x\"".into())),
        );
        desired.insert(
            "Amount".to_owned(),
            Some(FieldValue::Number(Decimal::parse("5.25").unwrap())),
        );
        let body = serde_json::to_string(&changes(&current, &desired)).unwrap();
        assert_eq!(
            body,
            r#"{"ACE_Stage__c":"Qualified \"x\"","Amount":5.25,"NextStep":null}"#
        );
        assert_eq!(
            format_rest_datetime(parse_datetime("2026-08-14T20:27:02.5+02:00").unwrap()),
            "2026-08-14T18:27:02.500+0000"
        );
    }
}
