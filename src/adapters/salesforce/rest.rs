//! [`SalesforceOrg`] on the REST API: SOQL reads, single-record PATCH and sObject Collections.
//!
//! Every call goes to the token's `instance_url`, carries a timeout, records
//! `Sforce-Limit-Info`, and on `401 INVALID_SESSION_ID` is sent once more with a re-minted
//! token. Non-2xx answers are parsed into Salesforce's error array where they are one (the
//! body of a 5xx may be an HTML maintenance page) and classified through
//! [`Classify`](crate::domain::disposition::Classify) on [`SalesforceError`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use url::Url;

use super::auth::{JwtBearer, Session, TokenCache, transport_error};
use super::wire::{self, WireError};
use super::{ClientConfig, SalesforceMetrics};
use crate::domain::ids::{SfOpportunityId, SfRecordId};
use crate::domain::sobject::{FieldTypes, FieldValue, SObject};
use crate::ports::salesforce::{
    ApiError, ErrorCode, Identity, OpportunityQuery, SalesforceError, SalesforceOrg, Upserted,
    WriteOutcome,
};

/// sObject Collections takes at most 200 records per call (salesforce.md §4).
pub const COLLECTIONS_MAX_RECORDS: usize = 200;

/// Budget for the URL-encoded SOQL of one GET. Salesforce refuses request URIs over 16,384
/// bytes; the rest of the URL (instance, path) fits in the margin.
const MAX_ENCODED_QUERY: usize = 15_000;

/// The client. Cheap to share: clone the `Arc` it usually lives in.
#[derive(Debug)]
pub struct SalesforceClient {
    http: reqwest::Client,
    tokens: TokenCache,
    api_version: String,
    timeout: Duration,
    field_types: FieldTypes,
    metrics: SalesforceMetrics,
}

/// A successful answer.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
}

#[derive(Deserialize)]
struct QueryPage {
    done: bool,
    #[serde(rename = "nextRecordsUrl")]
    next_records_url: Option<String>,
    records: Vec<Box<RawValue>>,
}

/// Salesforce's error entry: `errorCode` on single-record calls, `statusCode` in sObject
/// Collections results (salesforce.md §4).
#[derive(Deserialize)]
struct WireApiError {
    #[serde(default)]
    message: String,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    #[serde(rename = "statusCode")]
    status_code: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

impl From<WireApiError> for ApiError {
    fn from(e: WireApiError) -> ApiError {
        ApiError {
            code: ErrorCode::parse(
                e.error_code
                    .as_deref()
                    .or(e.status_code.as_deref())
                    .unwrap_or("UNKNOWN_ERROR"),
            ),
            message: e.message,
            fields: e.fields,
        }
    }
}

#[derive(Deserialize)]
struct SaveResult {
    success: bool,
    #[serde(default)]
    errors: Vec<WireApiError>,
}

#[derive(Serialize)]
struct CollectionsRequest<'a> {
    #[serde(rename = "allOrNone")]
    all_or_none: bool,
    records: Vec<CollectionsRecord<'a>>,
}

#[derive(Serialize)]
struct CollectionsRecord<'a> {
    attributes: TypeAttribute<'a>,
    id: &'a str,
    #[serde(flatten)]
    fields: &'a BTreeMap<String, Box<RawValue>>,
}

#[derive(Serialize)]
struct TypeAttribute<'a> {
    #[serde(rename = "type")]
    sobject_type: &'a str,
}

/// The start of a body that is not an error array, for the error message: enough to tell a
/// maintenance page from a proxy's error, without dumping a whole page into the logs.
pub(super) fn excerpt(body: &[u8]) -> Option<String> {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    Some(match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    })
}

fn api_error(operation: &'static str, status: StatusCode, body: &[u8]) -> SalesforceError {
    // The documented form is an array; a lone object turns up behind some gateways.
    let errors = serde_json::from_slice::<Vec<WireApiError>>(body)
        .or_else(|_| serde_json::from_slice::<WireApiError>(body).map(|e| vec![e]))
        .map(|errors| errors.into_iter().map(ApiError::from).collect::<Vec<_>>())
        .unwrap_or_default();
    SalesforceError::Api {
        operation,
        status: status.as_u16(),
        body_excerpt: errors.is_empty().then(|| excerpt(body)).flatten(),
        errors,
    }
}

fn is_invalid_session(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::UNAUTHORIZED
        && match api_error("", status, body) {
            SalesforceError::Api { errors, .. } => {
                errors.is_empty() || errors.iter().any(|e| e.code == ErrorCode::InvalidSessionId)
            }
            _ => true,
        }
}

/// SOQL field names: API names, dotted for relationships. Checked because they are spliced
/// into the query text.
pub(super) fn check_field(field: &str) -> Result<(), SalesforceError> {
    let ok = !field.is_empty()
        && field.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(SalesforceError::Config {
            problem: format!("{field:?} is not a Salesforce field API name"),
        })
    }
}

pub(super) fn select_list(fields: &[String]) -> Result<String, SalesforceError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut list = vec!["Id".to_owned()];
    seen.insert("id".to_owned());
    for field in fields {
        check_field(field)?;
        // SOQL refuses a field selected twice, and names are case-insensitive.
        if seen.insert(field.to_ascii_lowercase()) {
            list.push(field.clone());
        }
    }
    Ok(list.join(","))
}

fn encoded_len(text: &str) -> usize {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .map(str::len)
        .sum()
}

/// `WHERE Id IN (…)` queries covering `ids`, each short enough for one GET.
fn id_queries(select: &str, ids: &[SfOpportunityId]) -> Vec<String> {
    let head = format!("SELECT {select} FROM Opportunity WHERE Id IN (");
    let base = encoded_len(&head) + encoded_len(")");
    let mut unique: Vec<&SfOpportunityId> = Vec::new();
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let mut queries = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut length = base;
    for id in unique {
        let quoted = format!("'{id}'");
        let cost = encoded_len(&quoted) + encoded_len(",");
        if !current.is_empty() && length + cost > MAX_ENCODED_QUERY {
            queries.push(format!("{head}{})", current.join(",")));
            current.clear();
            length = base;
        }
        length += cost;
        current.push(quoted);
    }
    if !current.is_empty() {
        queries.push(format!("{head}{})", current.join(",")));
    }
    queries
}

impl SalesforceClient {
    /// A client; checks the key now (no network call until the first request).
    pub fn new(
        config: &ClientConfig,
        metrics: SalesforceMetrics,
    ) -> Result<SalesforceClient, SalesforceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("ace-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SalesforceError::Config {
                problem: format!("cannot build the HTTP client: {e}"),
            })?;
        let bearer = JwtBearer::new(config)?;
        Ok(SalesforceClient {
            tokens: TokenCache::new(
                http.clone(),
                bearer,
                config.allowed_orgs.clone(),
                metrics.clone(),
            ),
            http,
            api_version: config.api_version.clone(),
            timeout: config.request_timeout,
            field_types: config.field_types.clone(),
            metrics,
        })
    }

    /// The client's metric families (as registered), e.g. to read counts in tests.
    pub fn metrics(&self) -> &SalesforceMetrics {
        &self.metrics
    }

    fn url(&self, session: &Session, path: &str) -> Result<Url, SalesforceError> {
        let base = session.identity.instance_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}")).map_err(|e| SalesforceError::UnexpectedResponse {
            operation: "token",
            detail: format!("instance_url {base:?} cannot hold {path:?}: {e}"),
        })
    }

    pub(super) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}/{rest}", self.api_version)
    }

    /// One call, re-sent once with a new token when Salesforce says the session is invalid.
    pub(super) async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, SalesforceError> {
        let mut session = self.tokens.session().await?;
        let mut retried = false;
        loop {
            let mut url = self.url(&session, path)?;
            if let Some(q) = query {
                url.query_pairs_mut().append_pair("q", q);
            }
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(session.access_token.expose())
                .header("Accept", "application/json")
                .timeout(self.timeout);
            if let Some(body) = &body {
                request = request
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    let error = transport_error(operation, self.timeout, e);
                    self.metrics.call(operation, outcome_of(&error));
                    return Err(error);
                }
            };
            if let Some(info) = response
                .headers()
                .get("Sforce-Limit-Info")
                .and_then(|v| v.to_str().ok())
            {
                self.metrics.limit_info(info);
            }
            let status = response.status();
            let body_bytes = match response.bytes().await {
                Ok(bytes) => bytes.to_vec(),
                Err(e) => {
                    let error = transport_error(operation, self.timeout, e);
                    self.metrics.call(operation, outcome_of(&error));
                    return Err(error);
                }
            };
            if !retried && is_invalid_session(status, &body_bytes) {
                self.metrics.call(operation, "session_expired");
                retried = true;
                session = self.tokens.refresh(&session).await?;
                continue;
            }
            if status.is_success() {
                self.metrics.call(operation, "ok");
                return Ok(Answer {
                    status,
                    body: body_bytes,
                });
            }
            let error = api_error(operation, status, &body_bytes);
            self.metrics.call(operation, outcome_of(&error));
            return Err(error);
        }
    }

    pub(super) fn decode<T: for<'de> Deserialize<'de>>(
        operation: &'static str,
        answer: &Answer,
    ) -> Result<T, SalesforceError> {
        serde_json::from_slice(&answer.body).map_err(|e| SalesforceError::UnexpectedResponse {
            operation,
            detail: format!("HTTP {}: {e}", answer.status.as_u16()),
        })
    }

    /// Runs one SOQL query and follows `nextRecordsUrl` to the end.
    pub(super) async fn query_all(&self, soql: &str) -> Result<Vec<SObject>, SalesforceError> {
        const OP: &str = "query";
        let mut records = Vec::new();
        let mut answer = self
            .call(OP, Method::GET, &self.data_path("query"), Some(soql), None)
            .await?;
        loop {
            let page: QueryPage = Self::decode(OP, &answer)?;
            for raw in &page.records {
                records.push(wire::decode_record(raw, &self.field_types).map_err(
                    |WireError(detail)| SalesforceError::UnexpectedResponse {
                        operation: OP,
                        detail,
                    },
                )?);
            }
            let next = match (page.done, page.next_records_url) {
                (true, _) | (false, None) => return Ok(records),
                (false, Some(next)) => next,
            };
            // A relative path on our instance; anything else is not followed (SSRF).
            if !next.starts_with("/services/data/") {
                return Err(SalesforceError::UnexpectedResponse {
                    operation: OP,
                    detail: format!("nextRecordsUrl {next:?} is not a path on the instance"),
                });
            }
            answer = self.call(OP, Method::GET, &next, None, None).await?;
        }
    }

    async fn patch_record(
        &self,
        current: &SObject,
        changes: &BTreeMap<String, Box<RawValue>>,
    ) -> Result<(), SalesforceError> {
        check_field(&current.sobject_type)?;
        let body = serde_json::to_vec(changes).map_err(|e| SalesforceError::Config {
            problem: format!("cannot encode the write-back: {e}"),
        })?;
        let path = self.data_path(&format!("sobjects/{}/{}", current.sobject_type, current.id));
        self.call("update", Method::PATCH, &path, None, Some(body))
            .await?;
        Ok(())
    }

    async fn patch_collection(
        &self,
        batch: &[(&SObject, BTreeMap<String, Box<RawValue>>)],
    ) -> Result<Vec<Result<(), SalesforceError>>, SalesforceError> {
        const OP: &str = "composite_update";
        let request = CollectionsRequest {
            all_or_none: false,
            records: batch
                .iter()
                .map(|(record, fields)| CollectionsRecord {
                    attributes: TypeAttribute {
                        sobject_type: &record.sobject_type,
                    },
                    id: record.id.as_str(),
                    fields,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&request).map_err(|e| SalesforceError::Config {
            problem: format!("cannot encode the write-back: {e}"),
        })?;
        let answer = self
            .call(
                OP,
                Method::PATCH,
                &self.data_path("composite/sobjects"),
                None,
                Some(body),
            )
            .await?;
        let results: Vec<SaveResult> = Self::decode(OP, &answer)?;
        if results.len() != batch.len() {
            return Err(SalesforceError::UnexpectedResponse {
                operation: OP,
                detail: format!("{} results for {} records", results.len(), batch.len()),
            });
        }
        Ok(results
            .into_iter()
            .zip(batch)
            .map(|(result, (record, _))| {
                if result.success {
                    Ok(())
                } else {
                    Err(SalesforceError::RecordFailed {
                        id: record.id.to_string(),
                        errors: result.errors.into_iter().map(ApiError::from).collect(),
                    })
                }
            })
            .collect())
    }
}

fn outcome_of(error: &SalesforceError) -> &'static str {
    match error {
        SalesforceError::Timeout { .. } => "timeout",
        SalesforceError::Transport { .. } => "transport",
        SalesforceError::Api { status, .. } if *status >= 500 => "server_error",
        _ => "rejected",
    }
}

pub(super) fn check_writable(
    desired: &BTreeMap<String, Option<FieldValue>>,
) -> Result<(), SalesforceError> {
    for field in desired.keys() {
        check_field(field)?;
        if field.contains('.') {
            return Err(SalesforceError::Config {
                problem: format!("{field} is a relationship field; write the related record"),
            });
        }
    }
    Ok(())
}

fn updated(changes: &BTreeMap<String, Box<RawValue>>) -> WriteOutcome {
    WriteOutcome::Updated {
        fields: changes.keys().cloned().collect(),
    }
}

#[async_trait]
impl SalesforceOrg for SalesforceClient {
    async fn identity(&self) -> Result<Identity, SalesforceError> {
        Ok(self.tokens.session().await?.identity.clone())
    }

    async fn read_opportunity(
        &self,
        id: &SfOpportunityId,
        fields: &[String],
    ) -> Result<SObject, SalesforceError> {
        let soql = format!(
            "SELECT {} FROM Opportunity WHERE Id = '{id}'",
            select_list(fields)?
        );
        self.query_all(&soql)
            .await?
            .into_iter()
            .find(|record| record.id == id.to_record_id())
            .ok_or_else(|| SalesforceError::NoSuchRecord { id: id.clone() })
    }

    async fn read_opportunities(
        &self,
        ids: &[SfOpportunityId],
        fields: &[String],
    ) -> Result<Vec<SObject>, SalesforceError> {
        let select = select_list(fields)?;
        let mut records = Vec::new();
        for soql in id_queries(&select, ids) {
            records.extend(self.query_all(&soql).await?);
        }
        Ok(records)
    }

    async fn write_back(
        &self,
        current: &SObject,
        desired: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<WriteOutcome, SalesforceError> {
        check_writable(desired)?;
        let changes = wire::changes(current, desired);
        if changes.is_empty() {
            return Ok(WriteOutcome::Unchanged);
        }
        self.patch_record(current, &changes).await?;
        Ok(updated(&changes))
    }

    async fn find_opportunity(
        &self,
        field: &str,
        value: &str,
        fields: &[String],
    ) -> Result<Option<SObject>, SalesforceError> {
        self.find_opportunity_by(field, value, fields).await
    }

    async fn upsert_opportunity(
        &self,
        field: &str,
        value: &str,
        values: &BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Upserted, SalesforceError> {
        self.upsert_opportunity_by(field, value, values).await
    }

    async fn find_ids(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<SfRecordId>, SalesforceError> {
        self.find_ids_by(object, field, value).await
    }

    async fn find_opportunity_ids(
        &self,
        query: &OpportunityQuery,
    ) -> Result<Vec<SfOpportunityId>, SalesforceError> {
        self.find_opportunity_ids_by(query).await
    }

    async fn create_record(
        &self,
        object: &str,
        values: &BTreeMap<String, FieldValue>,
    ) -> Result<SfRecordId, SalesforceError> {
        self.create(object, values).await
    }

    async fn write_back_many(
        &self,
        changes: Vec<(SObject, BTreeMap<String, Option<FieldValue>>)>,
    ) -> Result<Vec<Result<WriteOutcome, SalesforceError>>, SalesforceError> {
        let mut outcomes: Vec<Option<Result<WriteOutcome, SalesforceError>>> =
            Vec::with_capacity(changes.len());
        let mut pending: Vec<(usize, &SObject, BTreeMap<String, Box<RawValue>>)> = Vec::new();
        for (index, (current, desired)) in changes.iter().enumerate() {
            if let Err(e) = check_writable(desired).and(check_field(&current.sobject_type)) {
                outcomes.push(Some(Err(e)));
                continue;
            }
            let diff = wire::changes(current, desired);
            if diff.is_empty() {
                outcomes.push(Some(Ok(WriteOutcome::Unchanged)));
            } else {
                outcomes.push(None);
                pending.push((index, current, diff));
            }
        }
        for chunk in pending.chunks(COLLECTIONS_MAX_RECORDS) {
            let batch: Vec<(&SObject, BTreeMap<String, Box<RawValue>>)> = chunk
                .iter()
                .map(|(_, record, diff)| (*record, diff.clone()))
                .collect();
            let results = self.patch_collection(&batch).await?;
            for ((index, _, diff), result) in chunk.iter().zip(results) {
                outcomes[*index] = Some(result.map(|()| updated(diff)));
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(SalesforceError::UnexpectedResponse {
                        operation: "composite_update",
                        detail: "no result for a record".to_owned(),
                    })
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: usize) -> SfOpportunityId {
        SfOpportunityId::parse(&format!("0065g{n:010}")).unwrap()
    }

    #[test]
    fn long_id_lists_are_split_under_the_url_limit() {
        let ids: Vec<_> = (0..2000).map(id).chain([id(1), id(2)]).collect();
        let select = select_list(&["Name".into(), "Account.Name".into()]).unwrap();
        let queries = id_queries(&select, &ids);
        assert!(queries.len() > 1, "{}", queries.len());
        let mut total = 0;
        for q in &queries {
            assert!(encoded_len(q) <= MAX_ENCODED_QUERY, "{}", encoded_len(q));
            assert!(q.starts_with("SELECT Id,Name,Account.Name FROM Opportunity WHERE Id IN ('"));
            total += q.matches('\'').count() / 2;
        }
        assert_eq!(total, 2000, "each id once");
    }

    #[test]
    fn field_names_are_checked_before_they_reach_soql() {
        assert!(select_list(&["Name".into(), "Account.Billing_Country__c".into()]).is_ok());
        for bad in ["Name FROM User --", "", "Account..Name", "1Name", "Na'me"] {
            assert!(select_list(&[bad.to_owned()]).is_err(), "{bad}");
        }
        assert_eq!(
            select_list(&["id".into(), "Name".into(), "name".into()]).unwrap(),
            "Id,Name"
        );
    }

    #[test]
    fn error_bodies_are_parsed_defensively() {
        let err = api_error(
            "update",
            StatusCode::BAD_REQUEST,
            br#"[{"message":"Next Step: data value too large","errorCode":"STRING_TOO_LONG","fields":["NextStep"]}]"#,
        );
        let SalesforceError::Api {
            errors,
            body_excerpt,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(errors[0].code, ErrorCode::StringTooLong);
        assert_eq!(errors[0].fields, vec!["NextStep".to_owned()]);
        assert!(body_excerpt.is_none());
        let err = api_error(
            "query",
            StatusCode::SERVICE_UNAVAILABLE,
            b"<html><body>\n  Down for maintenance  </body></html>",
        );
        let SalesforceError::Api {
            errors,
            body_excerpt,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(errors.is_empty());
        assert_eq!(
            body_excerpt.as_deref(),
            Some("<html><body> Down for maintenance </body></html>")
        );
        assert!(is_invalid_session(
            StatusCode::UNAUTHORIZED,
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#
        ));
        assert!(!is_invalid_session(StatusCode::FORBIDDEN, b"[]"));
    }
}
