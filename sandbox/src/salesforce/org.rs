//! The simulated org's state: records, users, sessions, the API counter, fault switches, the
//! request log and the outbound-message queue. One `Org` lives behind one mutex that is
//! never held across an await; every change to a record goes through [`Org::update`] or
//! [`Org::create`], which stamp the audit fields and evaluate the workflow rule.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::outbound::{OutboundConfig, OutboundState};
use super::schema::{Rejection, STAGES, Schema};
use ace_sync::domain::ids::{NotificationId, SfOrgId, SfRecordId, SfUserId};
use ace_sync::domain::sobject::{Decimal, FieldValue};

/// A user of the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub id: SfUserId,
    pub username: String,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub sobject_type: &'static str,
    pub id: SfRecordId,
    pub fields: BTreeMap<String, FieldValue>,
    /// In the Recycle Bin: invisible to SOQL, `ENTITY_IS_DELETED` to the sObject resources.
    pub deleted: bool,
    /// Creation order, the order queries return records in.
    pub(super) seq: u64,
}

/// Switchable failures.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next this-many record writes fail with `UNABLE_TO_LOCK_ROW`.
    pub lock_failures: u32,
    /// HTTP status of those failures: 400 usually, sometimes 500 (salesforce.md §4).
    pub lock_status: u16,
    /// The next this-many REST calls get a 503 maintenance page (HTML).
    pub server_errors: u32,
    /// Added before every REST and token answer.
    pub latency: Duration,
    /// While set, the token endpoint refuses every assertion with this OAuth `error` and
    /// `error_description` (an expired certificate, a revoked connected app, a user no longer
    /// approved: salesforce.md §3).
    pub token_refusal: Option<(String, String)>,
}

/// One REST request, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// The path, e.g. `/services/data/v67.0/sobjects/Opportunity/006…`.
    pub path: String,
    /// The decoded SOQL of a query.
    pub soql: Option<String>,
    pub body: Option<String>,
    pub status: u16,
    /// When it was answered (its effect on the records, if any, had happened).
    pub at: Instant,
}

/// See [`Org::checkpoint`].
pub(super) struct Checkpoint {
    records: BTreeMap<SfRecordId, Record>,
    notifications: usize,
}

struct SessionState {
    user: SfUserId,
    last_used: Instant,
}

/// The org.
pub struct Org {
    pub schema: Schema,
    pub org_id: SfOrgId,
    pub consumer_key: String,
    pub users: Vec<SimUser>,
    pub integration_user: SfUserId,
    pub(super) records: BTreeMap<SfRecordId, Record>,
    sessions: HashMap<String, SessionState>,
    pub session_timeout: Duration,
    /// REST calls counted against the daily limit (token requests are not).
    pub api_calls: u64,
    pub daily_api_limit: u64,
    pub token_requests: u64,
    pub faults: Faults,
    pub requests: Vec<LoggedRequest>,
    pub query_page_size: usize,
    pub(super) cursors: HashMap<String, Vec<String>>,
    next_id: u64,
    next_seq: u64,
    pub(super) outbound: Option<OutboundState>,
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("org_id", &self.org_id)
            .field("records", &self.records.len())
            .field("api_calls", &self.api_calls)
            .finish_non_exhaustive()
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Now, to the millisecond, as Salesforce stores audit times.
pub fn now_millis() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now)
}

impl Org {
    pub(super) fn new(
        org_id: SfOrgId,
        consumer_key: String,
        integration_user: SimUser,
        mut users: Vec<SimUser>,
        outbound: Option<OutboundConfig>,
    ) -> Org {
        users.insert(0, integration_user.clone());
        Org {
            schema: Schema::default(),
            org_id,
            consumer_key,
            integration_user: integration_user.id,
            users,
            records: BTreeMap::new(),
            sessions: HashMap::new(),
            session_timeout: Duration::from_secs(2 * 3600),
            api_calls: 0,
            daily_api_limit: 15_000,
            token_requests: 0,
            faults: Faults {
                lock_status: 400,
                ..Faults::default()
            },
            requests: Vec::new(),
            query_page_size: 2000,
            cursors: HashMap::new(),
            next_id: 1,
            next_seq: 0,
            outbound: outbound.map(OutboundState::new),
        }
    }

    /// A fresh id with a valid checksum, unused in this org.
    pub fn mint_id(&mut self, prefix: &str) -> SfRecordId {
        loop {
            let n = self.next_id;
            self.next_id += 1;
            let key = format!("{prefix}5g{}", base62(n, 10));
            let Ok(id) = SfRecordId::parse(&key) else {
                continue;
            };
            let taken = self.records.contains_key(&id)
                || self.outbound.as_ref().is_some_and(|o| o.knows(id.as_str()));
            if !taken {
                return id;
            }
        }
    }

    pub fn user_by_name(&self, username: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// A new session for `user`: `<orgId15>!<opaque>`, the shape of a real one.
    pub fn open_session(&mut self, user: SfUserId) -> String {
        let opaque: String = (0..96)
            .map(|_| BASE62[fastrand::usize(..BASE62.len())] as char)
            .collect();
        let token = format!("{}!{opaque}", self.org_id.key15());
        self.sessions.insert(
            token.clone(),
            SessionState {
                user,
                last_used: Instant::now(),
            },
        );
        token
    }

    /// The user a bearer token belongs to, if the session is alive; use extends it.
    pub fn authenticate(&mut self, token: &str) -> Option<SfUserId> {
        let timeout = self.session_timeout;
        let now = Instant::now();
        let alive = self
            .sessions
            .get(token)
            .is_some_and(|s| now.duration_since(s.last_used) < timeout);
        if !alive {
            self.sessions.remove(token);
            return None;
        }
        let session = self.sessions.get_mut(token)?;
        session.last_used = now;
        Some(session.user.clone())
    }

    pub fn expire_all_sessions(&mut self) {
        self.sessions.clear();
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    pub fn record(&self, id: &SfRecordId) -> Option<&Record> {
        self.records.get(id)
    }

    /// Records of a type in creation order, the Recycle Bin excluded.
    pub fn live_records(&self, sobject_type: &str) -> Vec<&Record> {
        let mut records: Vec<&Record> = self
            .records
            .values()
            .filter(|r| r.sobject_type == sobject_type && !r.deleted)
            .collect();
        records.sort_by_key(|r| r.seq);
        records
    }

    fn writable(&self, id: &SfRecordId) -> Result<&Record, Rejection> {
        match self.records.get(id) {
            None => Err(Rejection::new(
                404,
                "NOT_FOUND",
                "The requested resource does not exist",
            )),
            Some(r) if r.deleted => Err(Rejection::new(
                404,
                "ENTITY_IS_DELETED",
                "entity is deleted",
            )),
            Some(r) => Ok(r),
        }
    }

    /// Records of `sobject_type` (live) whose `field` holds `value`, compared as Salesforce
    /// compares External IDs: text without regard to case.
    pub fn find_by(&self, sobject_type: &str, field: &str, value: &str) -> Vec<&Record> {
        self.live_records(sobject_type)
            .into_iter()
            .filter(|r| {
                r.fields
                    .get(field)
                    .is_some_and(|v| v.to_text().eq_ignore_ascii_case(value))
            })
            .collect()
    }

    /// `DUPLICATE_VALUE` when a unique field would take a value another record holds.
    fn check_unique<'v>(
        &self,
        sobject_type: &str,
        id: Option<&SfRecordId>,
        values: impl IntoIterator<Item = (&'v str, &'v FieldValue)>,
    ) -> Result<(), Rejection> {
        let Some(object) = self.schema.object(sobject_type) else {
            return Ok(());
        };
        for (name, value) in values {
            let Some(def) = object.field(name) else {
                continue;
            };
            if !def.unique {
                continue;
            }
            let text = value.to_text();
            if let Some(other) = self
                .find_by(object.name, def.name, &text)
                .into_iter()
                .find(|r| Some(&r.id) != id)
            {
                return Err(Rejection::new(
                    400,
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {}",
                        def.name, other.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Changes fields of a record as `editor`, after the lock fault switch had its say.
    pub fn update(
        &mut self,
        id: &SfRecordId,
        changes: BTreeMap<&'static str, Option<FieldValue>>,
        editor: &SfUserId,
    ) -> Result<(), Rejection> {
        let sobject_type = self.writable(id)?.sobject_type;
        let set = changes
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| (*name, v)));
        self.check_unique(sobject_type, Some(id), set)?;
        if self.faults.lock_failures > 0 {
            self.faults.lock_failures -= 1;
            return Err(Rejection::new(
                self.faults.lock_status,
                "UNABLE_TO_LOCK_ROW",
                format!("unable to obtain exclusive access to this record or 1 records: {id}"),
            ));
        }
        let now = now_millis();
        let Some(record) = self.records.get_mut(id) else {
            return Ok(());
        };
        let before = record.fields.clone();
        let explicit_probability = changes.contains_key("Probability");
        for (field, value) in changes {
            match value {
                Some(value) => record.fields.insert(field.to_owned(), value),
                None => record.fields.remove(field),
            };
        }
        if record.sobject_type == "Opportunity" {
            derive_stage_fields(&mut record.fields, &before, explicit_probability);
        }
        stamp(&mut record.fields, editor, now, false);
        let after = record.fields.clone();
        let record_type = record.sobject_type;
        let record_id = record.id.clone();
        self.evaluate_rule(record_type, &record_id, &before, &after, editor);
        Ok(())
    }

    /// Creates a record as `editor`; the workflow rule sees it as a change from nothing, so a
    /// record created in the state the rule watches for fires it.
    pub fn create(
        &mut self,
        sobject_type: &str,
        fields: BTreeMap<&'static str, Option<FieldValue>>,
        editor: &SfUserId,
    ) -> Result<SfRecordId, Rejection> {
        let object = self.schema.object(sobject_type).cloned().ok_or_else(|| {
            Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
        })?;
        let mut values: BTreeMap<String, FieldValue> = fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect();
        let missing: Vec<&str> = object
            .fields
            .iter()
            .filter(|f| f.required && !values.contains_key(f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            let mut rejection = Rejection::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            );
            for field in missing {
                rejection = rejection.on(field);
            }
            return Err(rejection);
        }
        self.check_unique(
            object.name,
            None,
            values.iter().map(|(name, value)| (name.as_str(), value)),
        )?;
        if object.name == "Opportunity" {
            derive_stage_fields(&mut values, &BTreeMap::new(), false);
        }
        let id = self.mint_id(object.prefix);
        self.insert(object.name, id.clone(), values, editor);
        let after = self
            .records
            .get(&id)
            .map(|r| r.fields.clone())
            .unwrap_or_default();
        self.evaluate_rule(object.name, &id, &BTreeMap::new(), &after, editor);
        Ok(id)
    }

    /// Stores a record as created by `editor` now (seeds use this directly).
    pub(super) fn insert(
        &mut self,
        sobject_type: &'static str,
        id: SfRecordId,
        mut fields: BTreeMap<String, FieldValue>,
        editor: &SfUserId,
    ) {
        let now = now_millis();
        stamp(&mut fields, editor, now, true);
        fields
            .entry("OwnerId".to_owned())
            .or_insert_with(|| FieldValue::Text(editor.to_string()));
        let seq = self.next_seq;
        self.next_seq += 1;
        self.records.insert(
            id.clone(),
            Record {
                sobject_type,
                id,
                fields,
                deleted: false,
                seq,
            },
        );
    }

    /// The state an all-or-none request returns to when one of its records fails.
    pub(super) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            records: self.records.clone(),
            notifications: self.outbound.as_ref().map_or(0, |o| o.statuses().len()),
        }
    }

    pub(super) fn rollback(&mut self, checkpoint: Checkpoint) {
        self.records = checkpoint.records;
        if let Some(outbound) = &mut self.outbound {
            outbound.truncate(checkpoint.notifications);
        }
    }

    /// Moves a record to the Recycle Bin.
    pub fn delete(&mut self, id: &SfRecordId) -> Result<(), Rejection> {
        self.writable(id)?;
        if let Some(record) = self.records.get_mut(id) {
            record.deleted = true;
        }
        Ok(())
    }

    /// "When StageName changes, and the editor is not the integration user": queues a
    /// notification for the configured outbound message.
    fn evaluate_rule(
        &mut self,
        sobject_type: &str,
        id: &SfRecordId,
        before: &BTreeMap<String, FieldValue>,
        after: &BTreeMap<String, FieldValue>,
        editor: &SfUserId,
    ) {
        let Some(outbound) = &self.outbound else {
            return;
        };
        let config = &outbound.config;
        let changed = config
            .trigger_fields
            .iter()
            .any(|field| before.get(field) != after.get(field))
            || config.refire_while.iter().any(|(field, value)| {
                before.get(field).map(FieldValue::to_text).as_deref() == Some(value.as_str())
                    && before != after
            });
        let excluded = config
            .excluded_user
            .as_ref()
            .unwrap_or(&self.integration_user);
        if sobject_type != config.object || !changed || editor == excluded {
            return;
        }
        // Always a valid notification id: minted with its prefix.
        let Ok(notification) = NotificationId::parse(self.mint_id("04l").as_str()) else {
            return;
        };
        if let Some(outbound) = &mut self.outbound {
            outbound.enqueue(notification, id.clone());
        }
    }
}

fn stamp(
    fields: &mut BTreeMap<String, FieldValue>,
    editor: &SfUserId,
    now: OffsetDateTime,
    created: bool,
) {
    let user = FieldValue::Text(editor.to_string());
    if created {
        fields.insert("CreatedDate".to_owned(), FieldValue::Datetime(now));
        fields.insert("CreatedById".to_owned(), user.clone());
        fields.insert("IsDeleted".to_owned(), FieldValue::Bool(false));
    }
    fields.insert("LastModifiedDate".to_owned(), FieldValue::Datetime(now));
    fields.insert("LastModifiedById".to_owned(), user);
    fields.insert("SystemModstamp".to_owned(), FieldValue::Datetime(now));
}

/// The stage decides IsClosed, IsWon, the forecast category and the default probability
/// (salesforce.md §5).
fn derive_stage_fields(
    fields: &mut BTreeMap<String, FieldValue>,
    before: &BTreeMap<String, FieldValue>,
    explicit_probability: bool,
) {
    let stage = fields.get("StageName").map(FieldValue::to_text);
    let Some((_, probability, closed, won)) = stage
        .as_deref()
        .and_then(|s| STAGES.iter().find(|(name, ..)| *name == s))
    else {
        return;
    };
    fields.insert("IsClosed".to_owned(), FieldValue::Bool(*closed));
    fields.insert("IsWon".to_owned(), FieldValue::Bool(*won));
    let forecast = match (closed, won) {
        (true, true) => "Closed",
        (true, false) => "Omitted",
        _ => "Pipeline",
    };
    fields.insert(
        "ForecastCategoryName".to_owned(),
        FieldValue::Text(forecast.to_owned()),
    );
    let stage_changed = before.get("StageName") != fields.get("StageName");
    if stage_changed
        && !explicit_probability
        && let Some(p) = Decimal::parse(&probability.to_string())
    {
        fields.insert("Probability".to_owned(), FieldValue::Number(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_have_valid_checksums_and_do_not_repeat() {
        let mut org = Org::new(
            SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            "ck".into(),
            SimUser {
                id: SfUserId::parse("0055g00000IntUs").unwrap(),
                username: "i@x".into(),
            },
            vec![],
            None,
        );
        let a = org.mint_id("006");
        let b = org.mint_id("006");
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("0065g"));
        assert_eq!(SfRecordId::parse(a.key15()).unwrap(), a);
    }
}
