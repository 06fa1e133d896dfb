//! Outbound messages the way Salesforce sends them (salesforce.md §1): a workflow rule queues
//! a notification; a background sender batches due notifications (≤ 100 per SOAP message),
//! fills them with the record's data *at send time*, POSTs them, and counts only HTTP 200
//! with a correct-namespace `<Ack>true</Ack>` as delivered. Anything else is retried with
//! exponential back-off up to a cap, and a notification older than its lifetime is dropped.
//!
//! The envelope is byte-shaped like the captures in shared/samples/salesforce/om_*.xml: `sf:Id`
//! first, the other fields in case-sensitive ASCII order of API name, nulls omitted (or
//! `xsi:nil` when configured), a nil `SessionId` unless configured, and `/c/` and `/u/` URLs
//! carrying the 15-character org id (`envelope`).

mod envelope;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Shared;
use ace_sync::domain::ids::{ActionId, NotificationId, SfRecordId, SfUserId};
use envelope::envelope;
pub use envelope::{is_ack, java_double};

/// The namespace of `notifications` and of the acknowledgement.
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";

/// The outbound message definition and the workflow rule that fires it.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Where messages go (the definition's Endpoint URL).
    pub endpoint_url: Url,
    /// The sObject type the rule watches.
    pub object: String,
    /// The rule fires when one of these changes (`ISCHANGED(StageName)`, and the rep's answer
    /// to an AWS referral, `ISCHANGED(ACE_Invitation_Decision__c)`).
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
            trigger_fields: vec![
                "StageName".to_owned(),
                "ACE_Invitation_Decision__c".to_owned(),
            ],
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

#[cfg(test)]
mod tests {
    use super::*;

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
