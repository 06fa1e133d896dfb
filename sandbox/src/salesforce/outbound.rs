//! Outbound messages the way Salesforce sends them (salesforce.md §1): a workflow rule queues
//! a notification; a background sender batches due notifications (≤ 100 per SOAP message),
//! fills them with the record's data *at send time*, POSTs them, and counts only HTTP 200
//! with a correct-namespace `<Ack>true</Ack>` as delivered. Anything else is retried with
//! exponential back-off up to a cap, and a notification older than its lifetime is dropped.
//!
//! The envelope is byte-shaped like the captures in shared/samples/salesforce/om_*.xml: `sf:Id`
//! first, the other fields in case-sensitive ASCII order of API name, nulls omitted (or
//! `xsi:nil` when configured), a nil `SessionId` unless configured, and `/c/` and `/u/` URLs
//! carrying the 15-character org id.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Shared;
use super::org::Org;
use ace_sync::domain::ids::{ActionId, NotificationId, SfRecordId, SfUserId};
use ace_sync::domain::sobject::{Decimal, FieldValue, format_date};

/// The namespace of `notifications` and of the acknowledgement.
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";

/// The outbound message definition and the workflow rule that fires it.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Where messages go (the definition's Endpoint URL).
    pub endpoint_url: Url,
    /// The sObject type the rule watches.
    pub object: String,
    /// The rule fires when one of these changes (`ISCHANGED(StageName)`).
    pub trigger_fields: Vec<String>,
    /// Edits by this user never fire the rule; `None` means the integration user.
    pub excluded_user: Option<SfUserId>,
    /// The rule also fires on any edit made while one of these fields holds the given value:
    /// how a rep's fix of the findings ace-sync wrote back reaches ace-sync without a stage
    /// change (`ACE_Sync_Status__c = 'Needs attention'` in the README's Flow).
    pub refire_while: Vec<(String, String)>,
    /// Fields the message carries besides `Id`; empty means every field of the record.
    pub fields: Vec<String>,
    pub action_id: ActionId,
    /// The definition's API version, as it appears in EnterpriseUrl and PartnerUrl.
    pub api_version: String,
    /// "Send Session ID": a live session of the integration user instead of a nil one.
    pub include_session_id: bool,
    /// Spell null fields `xsi:nil="true"` instead of leaving them out.
    pub nil_for_nulls: bool,
    /// At most this many notifications per message (Salesforce: 100).
    pub max_per_message: usize,
    /// First retry delay; each further one doubles, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Notifications older than this are dropped (Salesforce: 24 h).
    pub lifetime: Duration,
    /// How long one POST may take (Salesforce: 60 s).
    pub send_timeout: Duration,
    /// Base of EnterpriseUrl/PartnerUrl; the simulator's own URL when unset.
    pub instance_url: Option<Url>,
}

impl OutboundConfig {
    /// Salesforce's timings (30 s doubling to 2 h, dropped after 24 h), the stage rule, and
    /// the fields the ingress reads.
    pub fn new(endpoint_url: Url) -> OutboundConfig {
        OutboundConfig {
            endpoint_url,
            object: "Opportunity".to_owned(),
            trigger_fields: vec!["StageName".to_owned()],
            excluded_user: None,
            refire_while: vec![(
                "ACE_Sync_Status__c".to_owned(),
                "Needs attention".to_owned(),
            )],
            fields: [
                "ACE_Opportunity_Id__c",
                "ACE_Sync__c",
                "AccountId",
                "Amount",
                "CloseDate",
                "Description",
                "IsClosed",
                "IsWon",
                "LastModifiedById",
                "LastModifiedDate",
                "LeadSource",
                "Name",
                "NextStep",
                "OwnerId",
                "Probability",
                "StageName",
                "SystemModstamp",
                "Type",
                "Use_Cases__c",
            ]
            .map(str::to_owned)
            .to_vec(),
            action_id: ActionId::parse("04k5g000000XYZaAAO")
                .unwrap_or_else(|_| unreachable!("a valid literal")),
            api_version: "62.0".to_owned(),
            include_session_id: false,
            nil_for_nulls: false,
            max_per_message: 100,
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(2 * 3600),
            lifetime: Duration::from_secs(24 * 3600),
            send_timeout: Duration::from_secs(60),
            instance_url: None,
        }
    }

    /// The delay before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(30));
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    Pending,
    Delivered,
    /// Past its lifetime without an ack: gone, as in Salesforce.
    Dropped,
}

/// One row of "View Message Delivery Status".
#[derive(Debug, Clone)]
pub struct NotificationStatus {
    pub id: NotificationId,
    pub record_id: SfRecordId,
    pub state: NotificationState,
    pub attempts: u32,
    pub queued_at: Instant,
    pub next_attempt: Option<Instant>,
    pub last_failure: Option<String>,
}

/// What one POST achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Acked,
    Failed { reason: String },
}

/// One POST of one message.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub notifications: Vec<NotificationId>,
    /// The SOAP envelope sent.
    pub body: String,
    pub outcome: DeliveryOutcome,
    /// When the POST started, and when its answer (or its failure) was in.
    pub sent_at: Instant,
    pub answered_at: Instant,
}

pub(super) struct OutboundState {
    pub(super) config: OutboundConfig,
    statuses: Vec<NotificationStatus>,
    log: Vec<DeliveryAttempt>,
}

impl OutboundState {
    pub(super) fn new(config: OutboundConfig) -> Self {
        Self {
            config,
            statuses: Vec::new(),
            log: Vec::new(),
        }
    }

    pub(super) fn knows(&self, id: &str) -> bool {
        self.statuses.iter().any(|s| s.id.as_str() == id)
    }

    pub(super) fn enqueue(&mut self, id: NotificationId, record_id: SfRecordId) {
        let now = Instant::now();
        self.statuses.push(NotificationStatus {
            id,
            record_id,
            state: NotificationState::Pending,
            attempts: 0,
            queued_at: now,
            next_attempt: Some(now),
            last_failure: None,
        });
    }

    /// Forgets notifications queued after the first `len` (a rolled-back transaction).
    pub(super) fn truncate(&mut self, len: usize) {
        self.statuses.truncate(len);
    }

    pub(super) fn statuses(&self) -> &[NotificationStatus] {
        &self.statuses
    }

    pub(super) fn log(&self) -> &[DeliveryAttempt] {
        &self.log
    }

    /// Drops what outlived its lifetime; then either the notifications due now (oldest
    /// first, at most one message's worth) or when the next one falls due.
    fn due(&mut self, now: Instant) -> Result<Vec<(NotificationId, SfRecordId)>, Option<Instant>> {
        let lifetime = self.config.lifetime;
        for status in &mut self.statuses {
            if status.state == NotificationState::Pending
                && now.duration_since(status.queued_at) >= lifetime
            {
                status.state = NotificationState::Dropped;
                status.next_attempt = None;
            }
        }
        let mut pending: Vec<&NotificationStatus> = self
            .statuses
            .iter()
            .filter(|s| s.state == NotificationState::Pending)
            .collect();
        pending.sort_by_key(|s| s.next_attempt);
        let due: Vec<(NotificationId, SfRecordId)> = pending
            .iter()
            .filter(|s| s.next_attempt.is_some_and(|at| at <= now))
            .take(self.config.max_per_message.max(1))
            .map(|s| (s.id.clone(), s.record_id.clone()))
            .collect();
        if due.is_empty() {
            Err(pending.first().and_then(|s| s.next_attempt))
        } else {
            Ok(due)
        }
    }

    fn record(&mut self, attempt: DeliveryAttempt, now: Instant) {
        for status in &mut self.statuses {
            if !attempt.notifications.contains(&status.id) {
                continue;
            }
            status.attempts += 1;
            match &attempt.outcome {
                DeliveryOutcome::Acked => {
                    status.state = NotificationState::Delivered;
                    status.next_attempt = None;
                }
                DeliveryOutcome::Failed { reason } => {
                    status.last_failure = Some(reason.clone());
                    let next = now + self.config.backoff(status.attempts);
                    if next.duration_since(status.queued_at) >= self.config.lifetime {
                        status.state = NotificationState::Dropped;
                        status.next_attempt = None;
                    } else {
                        status.next_attempt = Some(next);
                    }
                }
            }
        }
        self.log.push(attempt);
    }
}

/// The sender: runs until `cancel`.
pub(super) async fn run(shared: Arc<Shared>, cancel: CancellationToken) {
    let http = reqwest::Client::new();
    loop {
        let batch = {
            let mut org = shared.lock();
            let now = Instant::now();
            let Some(outbound) = org.outbound.as_mut() else {
                return;
            };
            match outbound.due(now) {
                Ok(due) => {
                    let config = outbound.config.clone();
                    Ok((
                        envelope(&mut org, &config, &shared.base_url, &due),
                        due,
                        config,
                    ))
                }
                Err(next) => Err(next),
            }
        };
        match batch {
            Ok((body, due, config)) => {
                let sent_at = Instant::now();
                let outcome = post(&http, &config, &body).await;
                let answered_at = Instant::now();
                let attempt = DeliveryAttempt {
                    notifications: due.into_iter().map(|(id, _)| id).collect(),
                    body,
                    outcome,
                    sent_at,
                    answered_at,
                };
                if let Some(outbound) = shared.lock().outbound.as_mut() {
                    outbound.record(attempt, answered_at);
                }
                shared.changed();
            }
            Err(next) => {
                let wait = async {
                    match next {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = shared.wake.notified() => {}
                    () = wait => {}
                }
            }
        }
    }
}

async fn post(http: &reqwest::Client, config: &OutboundConfig, body: &str) -> DeliveryOutcome {
    let sent = http
        .post(config.endpoint_url.clone())
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .timeout(config.send_timeout)
        .body(body.to_owned())
        .send()
        .await;
    let failed = |reason: String| DeliveryOutcome::Failed { reason };
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return failed(format!("timed out after {:?}", config.send_timeout));
        }
        Err(e) => return failed(format!("could not connect: {e}")),
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status != reqwest::StatusCode::OK {
        return failed(format!("HTTP {}", status.as_u16()));
    }
    if !is_ack(&text) {
        return failed("the answer is not an acknowledgement".to_owned());
    }
    DeliveryOutcome::Acked
}

/// Whether `body` is a SOAP answer with `notificationsResponse/Ack = true` in the outbound
/// namespace (an `Ack` elsewhere, e.g. under a `notifications` root, does not count).
pub fn is_ack(body: &str) -> bool {
    let mut reader = quick_xml::NsReader::from_str(body);
    let mut path: Vec<(bool, String)> = Vec::new();
    loop {
        match reader.read_resolved_event() {
            Ok((ns, Event::Start(start))) => {
                let outbound = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == OUTBOUND_NS);
                path.push((outbound, start.local_name().as_ref().to_owned()));
            }
            Ok((_, Event::End(_))) => {
                path.pop();
            }
            Ok((_, Event::Text(text))) => {
                let in_ack = matches!(
                    path.as_slice(),
                    [.., (true, parent), (true, ack)]
                        if parent == "notificationsResponse" && ack == "Ack"
                );
                if in_ack {
                    return text.xml10_content().trim() == "true";
                }
            }
            Ok((_, Event::Eof)) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `Decimal` as Java's `Double.toString` prints it: `125000.0`, `48000.5`, `1.2E7`, `1.0E-4`.
pub fn java_double(value: &Decimal) -> String {
    let text = value.as_str();
    let (sign, body) = match text.strip_prefix('-') {
        Some(body) => ("-", body),
        None => ("", text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if value.is_zero() {
        return "0.0".to_owned();
    }
    let exponent: i64 = if int != "0" {
        int.len() as i64 - 1
    } else {
        -(frac.bytes().take_while(|b| *b == b'0').count() as i64 + 1)
    };
    if (-3..7).contains(&exponent) {
        let frac = if frac.is_empty() { "0" } else { frac };
        return format!("{sign}{int}.{frac}");
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_owned();
    let digits = digits.trim_end_matches('0');
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{exponent}")
}

fn om_value(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(s) => escape(s),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Number(d) => java_double(d),
        FieldValue::Integer(i) => i.to_string(),
        FieldValue::Date(d) => format_date(*d),
        FieldValue::Datetime(at) => {
            let format = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            at.to_offset(time::UtcOffset::UTC)
                .format(&format)
                .unwrap_or_default()
        }
        FieldValue::Multi(values) => escape(&values.join(";")),
    }
}

/// The SOAP message for `due`, with each record's current data.
fn envelope(
    org: &mut Org,
    config: &OutboundConfig,
    base_url: &Url,
    due: &[(NotificationId, SfRecordId)],
) -> String {
    let instance = config
        .instance_url
        .as_ref()
        .unwrap_or(base_url)
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let session = if config.include_session_id {
        let user = org.integration_user.clone();
        format!("<SessionId>{}</SessionId>", escape(&org.open_session(user)))
    } else {
        "<SessionId xsi:nil=\"true\"/>".to_owned()
    };
    let org15 = org.org_id.key15().to_owned();
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
    out.push_str(" <soapenv:Body>\n");
    out.push_str(&format!("  <notifications xmlns=\"{OUTBOUND_NS}\">\n"));
    out.push_str(&format!(
        "   <OrganizationId>{}</OrganizationId>\n",
        org.org_id
    ));
    out.push_str(&format!("   <ActionId>{}</ActionId>\n", config.action_id));
    out.push_str(&format!("   {session}\n"));
    for (kind, tag) in [("c", "EnterpriseUrl"), ("u", "PartnerUrl")] {
        out.push_str(&format!(
            "   <{tag}>{instance}/services/Soap/{kind}/{}/{org15}</{tag}>\n",
            config.api_version
        ));
    }
    for (notification, record_id) in due {
        out.push_str("   <Notification>\n");
        out.push_str(&format!("    <Id>{notification}</Id>\n"));
        out.push_str(&format!(
            "    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
            config.object
        ));
        out.push_str(&format!("     <sf:Id>{record_id}</sf:Id>\n"));
        // A record deleted before delivery is sent without data (salesforce.md §1.6).
        if let Some(record) = org.record(record_id).filter(|r| !r.deleted) {
            let names: Vec<String> = if config.fields.is_empty() {
                record.fields.keys().cloned().collect()
            } else {
                config.fields.clone()
            };
            let mut sorted: BTreeMap<&str, Option<&FieldValue>> = BTreeMap::new();
            for name in &names {
                if name != "Id" {
                    sorted.insert(name, record.fields.get(name));
                }
            }
            // BTreeMap<&str> orders by bytes: the case-sensitive ASCII order of the captures.
            for (name, value) in sorted {
                match value {
                    Some(value) => out.push_str(&format!(
                        "     <sf:{name}>{}</sf:{name}>\n",
                        om_value(value)
                    )),
                    None if config.nil_for_nulls => {
                        out.push_str(&format!("     <sf:{name} xsi:nil=\"true\"/>\n"))
                    }
                    None => {}
                }
            }
        }
        out.push_str("    </sObject>\n");
        out.push_str("   </Notification>\n");
    }
    out.push_str("  </notifications>\n");
    out.push_str(" </soapenv:Body>\n");
    out.push_str("</soapenv:Envelope>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::org::SimUser;
    use ace_sync::domain::ids::{SfOrgId, SfUserId};
    use ace_sync::domain::sobject::{parse_date, parse_datetime};

    #[test]
    fn doubles_print_the_java_way() {
        for (raw, java) in [
            ("125000", "125000.0"),
            ("48000.5", "48000.5"),
            ("0", "0.0"),
            ("75", "75.0"),
            ("12000000", "1.2E7"),
            ("0.0001", "1.0E-4"),
            ("0.001", "0.001"),
            ("-3.25", "-3.25"),
        ] {
            assert_eq!(java_double(&Decimal::parse(raw).unwrap()), java, "{raw}");
        }
    }

    #[test]
    fn acks_must_be_in_the_outbound_namespace() {
        let ack = include_str!("testdata/ack.xml");
        assert!(is_ack(ack));
        assert!(!is_ack(&ack.replace("<Ack>true", "<Ack>false")));
        assert!(!is_ack(
            &ack.replace("notificationsResponse", "notifications")
        ));
        assert!(!is_ack(
            &ack.replace(OUTBOUND_NS, "http://example.com/other")
        ));
        assert!(!is_ack("<html>ok</html>"));
        assert!(!is_ack(""));
    }

    /// The envelope of the captured single-notification sample, byte for byte.
    #[test]
    fn the_envelope_matches_the_captured_shape() {
        let integration = SimUser {
            id: SfUserId::parse("0055g00000IntUs").unwrap(),
            username: "ace-sync@acme.example".into(),
        };
        let rep = SfUserId::parse("0055g00000UsrAbAAJ").unwrap();
        let mut org = Org::new(
            SfOrgId::parse("00D5g00000ABCdeEAH").unwrap(),
            "ck".into(),
            integration,
            vec![],
            None,
        );
        let id = SfRecordId::parse("0065g00000QrStUAAV").unwrap();
        let text = |s: &str| FieldValue::Text(s.to_owned());
        let mut fields = BTreeMap::new();
        fields.insert("ACE_Sync__c".to_owned(), FieldValue::Bool(false));
        fields.insert("AccountId".to_owned(), text("0015g00000LmNoPAAV"));
        fields.insert(
            "Amount".to_owned(),
            FieldValue::Number(Decimal::parse("125000").unwrap()),
        );
        fields.insert(
            "CloseDate".to_owned(),
            FieldValue::Date(parse_date("2026-09-30").unwrap()),
        );
        fields.insert(
            "Description".to_owned(),
            text("Phase 1 & 2 <pilot>\nsecond line"),
        );
        fields.insert("IsClosed".to_owned(), FieldValue::Bool(false));
        fields.insert("IsWon".to_owned(), FieldValue::Bool(false));
        fields.insert("LeadSource".to_owned(), text("Partner Referral"));
        fields.insert("Name".to_owned(), text("Acme - Data Platform Migration"));
        fields.insert("OwnerId".to_owned(), text(rep.as_str()));
        fields.insert(
            "Probability".to_owned(),
            FieldValue::Number(Decimal::parse("75").unwrap()),
        );
        fields.insert("StageName".to_owned(), text("Proposal/Price Quote"));
        fields.insert("Type".to_owned(), text("New Customer"));
        fields.insert(
            "Use_Cases__c".to_owned(),
            FieldValue::Multi(vec!["Migration".into(), "Analytics".into()]),
        );
        org.insert("Opportunity", id.clone(), fields, &rep);
        let at = parse_datetime("2026-08-14T18:27:02.000Z").unwrap();
        if let Some(record) = org.records.get_mut(&id) {
            record
                .fields
                .insert("LastModifiedDate".into(), FieldValue::Datetime(at));
            record
                .fields
                .insert("SystemModstamp".into(), FieldValue::Datetime(at));
        }
        let mut config = OutboundConfig::new(Url::parse("http://127.0.0.1:1/om").unwrap());
        config.instance_url = Some(Url::parse("https://acme.my.salesforce.com").unwrap());
        let due = vec![(NotificationId::parse("04l5g00000AbCdEAAV").unwrap(), id)];
        let body = envelope(
            &mut org,
            &config,
            &Url::parse("http://127.0.0.1:1").unwrap(),
            &due,
        );
        assert_eq!(body, include_str!("testdata/om_single.xml"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut config = OutboundConfig::new(Url::parse("http://127.0.0.1:1/").unwrap());
        config.retry_base = Duration::from_secs(30);
        config.retry_cap = Duration::from_secs(100);
        assert_eq!(config.backoff(1), Duration::from_secs(30));
        assert_eq!(config.backoff(2), Duration::from_secs(60));
        assert_eq!(config.backoff(3), Duration::from_secs(100));
        assert_eq!(config.backoff(40), Duration::from_secs(100));
    }
}
