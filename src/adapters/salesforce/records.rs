//! Records found and made by value, for AWS referrals: a query by a field's value (an
//! External ID, an account's name), an upsert by External ID and a plain create, on the same
//! calls and classification as the rest of the client (`rest`).

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::rest::{SalesforceClient, check_field, check_writable, select_list};
use super::wire;
use crate::domain::ids::SfOpportunityId;
use crate::domain::ids::SfRecordId;
use crate::domain::sobject::{FieldValue, SObject};
use crate::ports::salesforce::{OpportunityQuery, SalesforceError, Upserted};

/// A SOQL string literal: the value quoted, with backslashes and quotes escaped (SOQL's
/// escape sequences), so no value can end the literal.
fn soql_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A path segment: External ID values are letters, digits and `-` here, but a value must
/// never change the path it is put in.
fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[derive(Deserialize)]
struct SaveAnswer {
    id: String,
    #[serde(default)]
    created: Option<bool>,
}

impl SalesforceClient {
    pub(super) async fn find_opportunity_by(
        &self,
        field: &str,
        value: &str,
        fields: &[String],
    ) -> Result<Option<SObject>, SalesforceError> {
        check_field(field)?;
        let soql = format!(
            "SELECT {} FROM Opportunity WHERE {field} = {}",
            select_list(fields)?,
            soql_literal(value)
        );
        let mut records = self.query_all(&soql).await?;
        match records.len() {
            0 => Ok(None),
            1 => Ok(records.pop()),
            _ => Err(SalesforceError::Ambiguous {
                object: "Opportunity".to_owned(),
                field: field.to_owned(),
                value: value.to_owned(),
                ids: records.iter().map(|r| r.id.to_string()).collect(),
            }),
        }
    }

    pub(super) async fn find_ids_by(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<SfRecordId>, SalesforceError> {
        check_field(object)?;
        check_field(field)?;
        let soql = format!(
            "SELECT Id FROM {object} WHERE {field} = {}",
            soql_literal(value)
        );
        Ok(self
            .query_all(&soql)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    pub(super) async fn find_opportunity_ids_by(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<SfOpportunityId>, SalesforceError> {
        let list = |values: &[String]| {
            values
                .iter()
                .map(|v| soql_literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut conditions = Vec::new();
        if let Some(since) = query.modified_since {
            let at = since
                .to_offset(time::UtcOffset::UTC)
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| SalesforceError::Config {
                    problem: format!("a SOQL datetime: {e}"),
                })?;
            conditions.push(format!("SystemModstamp >= {at}"));
        }
        if !query.stages.is_empty() {
            conditions.push(format!("StageName IN ({})", list(&query.stages)));
        }
        if !query.sync_statuses.is_empty() {
            conditions.push(format!(
                "ACE_Sync_Status__c IN ({})",
                list(&query.sync_statuses)
            ));
        }
        let mut soql = "SELECT Id FROM Opportunity".to_owned();
        if !conditions.is_empty() {
            soql.push_str(" WHERE ");
            soql.push_str(&conditions.join(" AND "));
        }
        soql.push_str(&format!(
            " ORDER BY SystemModstamp DESC LIMIT {}",
            query.limit.max(1)
        ));
        Ok(self
            .query_all(&soql)
            .await?
            .into_iter()
            .filter_map(|r| SfOpportunityId::try_from(&r.id).ok())
            .collect())
    }

    pub(super) async fn upsert_opportunity_by(
        &self,
        field: &str,
        value: &str,
        values: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Upserted, SalesforceError> {
        const OP: &str = "upsert";
        check_field(field)?;
        check_writable(values)?;
        // The URL names the record; Salesforce refuses a body that names it again.
        let body: BTreeMap<&String, Box<RawValue>> = values
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(field))
            .map(|(name, value)| {
                (
                    name,
                    value
                        .as_ref()
                        .map(wire::encode_value)
                        .unwrap_or_else(wire::null),
                )
            })
            .collect();
        let body = serde_json::to_vec(&body).map_err(|e| SalesforceError::Config {
            problem: format!("cannot encode the upsert: {e}"),
        })?;
        let path = self.data_path(&format!("sobjects/Opportunity/{field}/{}", segment(value)));
        let answer = match self.call(OP, Method::PATCH, &path, None, Some(body)).await {
            Ok(answer) => answer,
            Err(SalesforceError::Api {
                status: 300,
                body_excerpt,
                ..
            }) => {
                return Err(SalesforceError::Ambiguous {
                    object: "Opportunity".to_owned(),
                    field: field.to_owned(),
                    value: value.to_owned(),
                    ids: body_excerpt.into_iter().collect(),
                });
            }
            Err(e) => return Err(e),
        };
        if answer.status == StatusCode::NO_CONTENT {
            // An update before API version 46 answers without a body: the record is the one
            // holding the value.
            let found = self
                .find_ids_by("Opportunity", field, value)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| SalesforceError::UnexpectedResponse {
                    operation: OP,
                    detail: format!("no Opportunity holds {field} = {value:?} after its upsert"),
                })?;
            return Ok(Upserted {
                id: found,
                created: false,
            });
        }
        let saved: SaveAnswer = Self::decode(OP, &answer)?;
        Ok(Upserted {
            id: parse_id(OP, &saved.id)?,
            created: saved
                .created
                .unwrap_or(answer.status == StatusCode::CREATED),
        })
    }

    pub(super) async fn create(
        &self,
        object: &str,
        values: &BTreeMap<String, FieldValue>,
    ) -> Result<SfRecordId, SalesforceError> {
        const OP: &str = "create";
        check_field(object)?;
        for field in values.keys() {
            check_field(field)?;
        }
        let body: BTreeMap<&String, Box<RawValue>> = values
            .iter()
            .map(|(name, value)| (name, wire::encode_value(value)))
            .collect();
        let body = serde_json::to_vec(&body).map_err(|e| SalesforceError::Config {
            problem: format!("cannot encode the new record: {e}"),
        })?;
        let path = self.data_path(&format!("sobjects/{object}"));
        let answer = self.call(OP, Method::POST, &path, None, Some(body)).await?;
        let saved: SaveAnswer = Self::decode(OP, &answer)?;
        parse_id(OP, &saved.id)
    }
}

fn parse_id(operation: &'static str, raw: &str) -> Result<SfRecordId, SalesforceError> {
    SfRecordId::parse(raw).map_err(|e| SalesforceError::UnexpectedResponse {
        operation,
        detail: format!("the id {raw:?}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_be_ended_by_their_value() {
        assert_eq!(soql_literal("Acme"), "'Acme'");
        assert_eq!(
            soql_literal(r"O'Brien\ Co' OR Name != '"),
            r"'O\'Brien\\ Co\' OR Name != \''"
        );
        assert_eq!(segment("engi-abc/../x y"), "engi-abc%2F..%2Fx%20y");
    }
}
