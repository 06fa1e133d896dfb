//! Salesforce records as the sync sees them: a type, an id, and typed field values.
//!
//! Outbound messages and REST answers both spell values as text or JSON scalars. The fields ACE
//! needs (dates, datetimes, numbers, booleans, multi-select picklists) are parsed into typed
//! values at the edge, using the field kinds of [`FieldTypes`]; every other field is kept as
//! the raw text Salesforce sent (salesforce.md §1.5).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::ids::SfRecordId;

/// How a Salesforce field's value is spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// string, textarea, picklist, url, phone, email, id, reference: kept as sent.
    Text,
    Boolean,
    /// currency, double, percent: `xsd:double`, possibly in exponent form.
    Number,
    /// `xsd:int`.
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601 in UTC (`…T18:27:02.000Z` in outbound messages, `…+0000` over REST).
    Datetime,
    /// `;`-separated values.
    Multipicklist,
}

/// A field value after parsing.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldValue {
    Text(String),
    Bool(bool),
    Number(Decimal),
    Integer(i64),
    #[serde(with = "iso_date")]
    Date(Date),
    #[serde(with = "time::serde::rfc3339")]
    Datetime(OffsetDateTime),
    Multi(Vec<String>),
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(d) => write!(f, "{d}"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Date(d) => write!(f, "{d}"),
            Self::Datetime(d) => write!(f, "{d}"),
            Self::Multi(v) => write!(f, "{v:?}"),
        }
    }
}

/// Why a field's text is not a value of its declared kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found:?}")]
pub struct FieldValueError {
    pub expected: &'static str,
    pub found: String,
}

impl FieldValue {
    /// Parses the text of a field of the given kind. Empty text means "no value" and is
    /// handled by the caller, since Salesforce treats absent, nil and empty alike.
    pub fn parse(kind: FieldKind, raw: &str) -> Result<FieldValue, FieldValueError> {
        let err = |expected| FieldValueError {
            expected,
            found: truncate_for_error(raw),
        };
        Ok(match kind {
            FieldKind::Text => FieldValue::Text(raw.to_owned()),
            FieldKind::Boolean => match raw.trim() {
                "true" | "1" => FieldValue::Bool(true),
                "false" | "0" => FieldValue::Bool(false),
                _ => return Err(err("true or false")),
            },
            FieldKind::Number => {
                FieldValue::Number(Decimal::parse(raw.trim()).ok_or_else(|| err("a number"))?)
            }
            FieldKind::Integer => {
                FieldValue::Integer(raw.trim().parse().map_err(|_| err("an integer"))?)
            }
            FieldKind::Date => {
                FieldValue::Date(parse_date(raw.trim()).ok_or_else(|| err("a date (YYYY-MM-DD)"))?)
            }
            FieldKind::Datetime => FieldValue::Datetime(
                parse_datetime(raw.trim()).ok_or_else(|| err("an ISO 8601 date and time"))?,
            ),
            FieldKind::Multipicklist => FieldValue::Multi(
                raw.split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        })
    }

    /// The value as text, whatever its kind: what a Salesforce text field would show.
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Bool(b) => b.to_string(),
            Self::Number(d) => d.to_string(),
            Self::Integer(i) => i.to_string(),
            Self::Date(d) => format_date(*d),
            Self::Datetime(d) => d.format(&Rfc3339).unwrap_or_default(),
            Self::Multi(v) => v.join(";"),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            Self::Text(s) => FieldValue::parse(FieldKind::Boolean, s).ok()?.as_bool(),
            _ => None,
        }
    }

    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Self::Number(d) => Some(d.clone()),
            Self::Integer(i) => Decimal::parse(&i.to_string()),
            Self::Text(s) => Decimal::parse(s.trim()),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<Date> {
        match self {
            Self::Date(d) => Some(*d),
            Self::Datetime(d) => Some(d.date()),
            Self::Text(s) => parse_date(s.trim()),
            _ => None,
        }
    }

    pub fn as_datetime(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Datetime(d) => Some(*d),
            Self::Text(s) => parse_datetime(s.trim()),
            _ => None,
        }
    }

    /// The values of a multi-select picklist (a text value is split on `;`).
    pub fn as_multi(&self) -> Vec<String> {
        match self {
            Self::Multi(v) => v.clone(),
            other => match FieldValue::parse(FieldKind::Multipicklist, &other.to_text()) {
                Ok(FieldValue::Multi(v)) => v,
                _ => Vec::new(),
            },
        }
    }
}

fn truncate_for_error(raw: &str) -> String {
    const MAX: usize = 64;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

/// `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, &format).ok()
}

pub fn format_date(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// Both Salesforce datetime spellings: RFC 3339 (`2026-08-14T18:27:02.000Z`, outbound
/// messages) and the REST form whose offset has no colon (`2026-08-14T18:27:02.000+0000`,
/// salesforce.md §4).
pub fn parse_datetime(raw: &str) -> Option<OffsetDateTime> {
    if let Ok(dt) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(dt);
    }
    let rest = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(raw, &rest).ok()
}

mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date(*date))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_date(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("expected YYYY-MM-DD, found {raw:?}")))
    }
}

/// An exact decimal number kept in its canonical plain spelling (`125000`, `48000.5`,
/// `-0.25`). Salesforce prints doubles Java-style, sometimes in exponent form (`1.2E7`); ACE
/// wants plain decimal strings with at most two fraction digits, so we never go through `f64`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Decimal(String);

impl Decimal {
    /// Parses `[-+]digits[.digits][(e|E)[-+]digits]`.
    pub fn parse(raw: &str) -> Option<Decimal> {
        let (negative, rest) = match raw.as_bytes().first()? {
            b'-' => (true, &raw[1..]),
            b'+' => (false, &raw[1..]),
            _ => (false, raw),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().ok()?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if exponent.unsigned_abs() > 400 {
            return None;
        }
        let digits: String = format!("{int_part}{frac_part}");
        // Position of the decimal point within `digits`, after applying the exponent.
        let point = int_part.len() as i64 + exponent as i64;
        let (int_digits, frac_digits) = if point <= 0 {
            (
                String::new(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_owned(),
                digits[point as usize..].to_owned(),
            )
        };
        let int_digits = int_digits.trim_start_matches('0');
        let frac_digits = frac_digits.trim_end_matches('0');
        let int_digits = if int_digits.is_empty() {
            "0"
        } else {
            int_digits
        };
        let is_zero = int_digits == "0" && frac_digits.is_empty();
        let mut out = String::new();
        if negative && !is_zero {
            out.push('-');
        }
        out.push_str(int_digits);
        if !frac_digits.is_empty() {
            out.push('.');
            out.push_str(frac_digits);
        }
        Some(Decimal(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// Rounded half away from zero to at most `places` fraction digits.
    pub fn round(&self, places: usize) -> Decimal {
        let (sign, body) = match self.0.strip_prefix('-') {
            Some(body) => ("-", body),
            None => ("", self.0.as_str()),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        if frac_part.len() <= places {
            return self.clone();
        }
        let round_up = frac_part.as_bytes()[places] >= b'5';
        let mut kept: Vec<u8> = format!("{int_part}{}", &frac_part[..places]).into_bytes();
        if round_up {
            let mut i = kept.len();
            loop {
                if i == 0 {
                    kept.insert(0, b'1');
                    break;
                }
                i -= 1;
                if kept[i] == b'9' {
                    kept[i] = b'0';
                } else {
                    kept[i] += 1;
                    break;
                }
            }
        }
        let kept = String::from_utf8(kept).unwrap_or_default();
        let split = kept.len() - places;
        let text = if places == 0 {
            format!("{sign}{kept}")
        } else {
            format!("{sign}{}.{}", &kept[..split], &kept[split..])
        };
        Decimal::parse(&text).unwrap_or_else(|| self.clone())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.0)
    }
}

impl TryFrom<String> for Decimal {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Decimal::parse(&raw).ok_or_else(|| format!("not a decimal number: {raw:?}"))
    }
}

impl From<Decimal> for String {
    fn from(d: Decimal) -> String {
        d.0
    }
}

/// A Salesforce record: its sObject type, id and the fields we were given, keyed by API name.
/// Relationship fields read over REST are flattened with dots (`Account.Name`). A field that
/// is absent, `xsi:nil` or empty is simply not in `fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SObject {
    pub sobject_type: String,
    pub id: SfRecordId,
    pub fields: BTreeMap<String, FieldValue>,
}

impl SObject {
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.fields.get(field)
    }

    pub fn text(&self, field: &str) -> Option<String> {
        self.fields.get(field).map(FieldValue::to_text)
    }
}

/// Which fields of which sObject types are typed, and how. Fields not listed are text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldTypes {
    types: BTreeMap<String, BTreeMap<String, FieldKind>>,
}

impl FieldTypes {
    /// The standard Opportunity and Account fields of salesforce.md §5 whose wire form is not
    /// plain text, plus the ones ace-sync's default mapping reads.
    pub fn standard() -> FieldTypes {
        use FieldKind::*;
        let opportunity: &[(&str, FieldKind)] = &[
            ("Amount", Number),
            ("ExpectedRevenue", Number),
            ("Probability", Number),
            ("TotalOpportunityQuantity", Number),
            ("CloseDate", Date),
            ("CreatedDate", Datetime),
            ("LastModifiedDate", Datetime),
            ("SystemModstamp", Datetime),
            ("LastActivityDate", Date),
            ("LastStageChangeDate", Datetime),
            ("FiscalQuarter", Integer),
            ("FiscalYear", Integer),
            ("IsClosed", Boolean),
            ("IsWon", Boolean),
            ("IsDeleted", Boolean),
            ("IsPrivate", Boolean),
            ("HasOpportunityLineItem", Boolean),
            ("HasOpenActivity", Boolean),
            ("HasOverdueTask", Boolean),
        ];
        let account: &[(&str, FieldKind)] = &[
            ("AnnualRevenue", Number),
            ("NumberOfEmployees", Integer),
            ("CreatedDate", Datetime),
            ("LastModifiedDate", Datetime),
            ("SystemModstamp", Datetime),
            ("IsDeleted", Boolean),
        ];
        let mut types = FieldTypes::default();
        for (field, kind) in opportunity {
            types.declare("Opportunity", field, *kind);
        }
        for (field, kind) in account {
            types.declare("Account", field, *kind);
        }
        types
    }

    pub fn declare(&mut self, sobject_type: &str, field: &str, kind: FieldKind) {
        self.types
            .entry(sobject_type.to_owned())
            .or_default()
            .insert(field.to_owned(), kind);
    }

    /// Adds every declaration of `other`, overriding ours where both name a field.
    pub fn extend(&mut self, other: &FieldTypes) {
        for (sobject, fields) in &other.types {
            for (field, kind) in fields {
                self.declare(sobject, field, *kind);
            }
        }
    }

    pub fn kind_of(&self, sobject_type: &str, field: &str) -> FieldKind {
        self.types
            .get(sobject_type)
            .and_then(|fields| fields.get(field))
            .copied()
            .unwrap_or(FieldKind::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_accept_java_doubles_and_exponents() {
        for (raw, canonical) in [
            ("125000.0", "125000"),
            ("48000.5", "48000.5"),
            ("1.2E7", "12000000"),
            ("1.25e-2", "0.0125"),
            ("-0.0", "0"),
            ("007.50", "7.5"),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(Decimal::parse(raw).unwrap().as_str(), canonical, "{raw}");
        }
        for bad in ["", "-", "1.2.3", "abc", "1e", "1e999", "NaN", "1,000"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decimals_round_half_away_from_zero() {
        let round = |raw: &str, places| Decimal::parse(raw).unwrap().round(places).to_string();
        assert_eq!(round("5968.685", 2), "5968.69");
        assert_eq!(round("5968.684", 2), "5968.68");
        assert_eq!(round("9.999", 2), "10");
        assert_eq!(round("-1.005", 2), "-1.01");
        assert_eq!(round("12", 2), "12");
        assert_eq!(round("0.4", 0), "0");
    }

    #[test]
    fn values_parse_by_kind() {
        assert_eq!(
            FieldValue::parse(FieldKind::Multipicklist, "Migration;Analytics").unwrap(),
            FieldValue::Multi(vec!["Migration".into(), "Analytics".into()])
        );
        assert_eq!(
            FieldValue::parse(FieldKind::Boolean, "false").unwrap(),
            FieldValue::Bool(false)
        );
        let err = FieldValue::parse(FieldKind::Date, "30/09/2026").unwrap_err();
        assert_eq!(err.expected, "a date (YYYY-MM-DD)");
        assert!(FieldValue::parse(FieldKind::Integer, "3.5").is_err());
    }

    #[test]
    fn both_salesforce_datetime_spellings_parse_to_the_same_instant() {
        let om = parse_datetime("2026-08-14T18:27:02.000Z").unwrap();
        let rest = parse_datetime("2026-08-14T18:27:02.000+0000").unwrap();
        assert_eq!(om, rest);
    }

    #[test]
    fn values_round_trip_through_json() {
        let values = vec![
            FieldValue::Text("Phase 1 & 2".into()),
            FieldValue::Bool(true),
            FieldValue::Number(Decimal::parse("1.5").unwrap()),
            FieldValue::Integer(3),
            FieldValue::Date(parse_date("2026-09-30").unwrap()),
            FieldValue::Datetime(parse_datetime("2026-08-14T18:27:02.000Z").unwrap()),
            FieldValue::Multi(vec!["a".into()]),
        ];
        let json = serde_json::to_string(&values).unwrap();
        let back: Vec<FieldValue> = serde_json::from_str(&json).unwrap();
        assert_eq!(values, back);
    }
}
