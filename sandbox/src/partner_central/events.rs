//! EventBridge events of the simulated service (ace-api.md §9): source
//! `aws.partnercentral-selling`, the documented detail-types, a `detail` carrying the catalog and
//! ids only. They reach sinks the way an EventBridge rule delivers to SQS (the message body is
//! the whole event) and, as on EventBridge, best effort: a failing sink is logged and never
//! fails the API call that caused the event.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use ace_sync::ports::queue::{EnqueueError, JobQueue, OutgoingMessage};

pub const SOURCE: &str = "aws.partnercentral-selling";

/// The detail-types the simulator emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailType {
    OpportunityCreated,
    OpportunityUpdated,
    EngagementCreated,
    EngagementInvitationCreated,
    EngagementInvitationAccepted,
    EngagementInvitationRejected,
    EngagementInvitationExpired,
}

impl DetailType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpportunityCreated => "Opportunity Created",
            Self::OpportunityUpdated => "Opportunity Updated",
            Self::EngagementCreated => "Engagement Created",
            Self::EngagementInvitationCreated => "Engagement Invitation Created",
            Self::EngagementInvitationAccepted => "Engagement Invitation Accepted",
            Self::EngagementInvitationRejected => "Engagement Invitation Rejected",
            Self::EngagementInvitationExpired => "Engagement Invitation Expired",
        }
    }
}

/// One event, as EventBridge would put it on a target.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    pub id: String,
    pub detail_type: DetailType,
    /// The id of the resource the event is about (opportunity, invitation, engagement); a FIFO
    /// target groups by it.
    pub resource_id: String,
    /// The whole event.
    pub json: Value,
}

/// Where an event is, or is meant to be, delivered to.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub time: &'a str,
}

impl SimEvent {
    fn envelope(
        ctx: EventContext<'_>,
        detail_type: DetailType,
        resource_id: &str,
        resources: Vec<String>,
        detail: Value,
    ) -> SimEvent {
        let id = uuid_v4();
        // EventBridge's envelope version is "0" (AWS's own example for Opportunity events says
        // "1", which no EventBridge envelope carries).
        let json = json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type.as_str(),
            "source": SOURCE,
            "account": ctx.account_id,
            "time": ctx.time,
            "region": ctx.region,
            "resources": resources,
            "detail": detail,
        });
        SimEvent {
            id,
            detail_type,
            resource_id: resource_id.to_owned(),
            json,
        }
    }

    /// `Opportunity Created` / `Opportunity Updated`.
    pub fn opportunity(
        ctx: EventContext<'_>,
        detail_type: DetailType,
        catalog: &str,
        opportunity_id: &str,
        arn: &str,
    ) -> SimEvent {
        let url = format!(
            "https://partnercentral.awspartner.com/partnercentral2/s/opportunity?catalog={catalog}&id={opportunity_id}"
        );
        Self::envelope(
            ctx,
            detail_type,
            opportunity_id,
            vec![arn.to_owned()],
            json!({
                "schemaVersion": "1",
                "catalog": catalog,
                "opportunity": {"identifier": opportunity_id, "url": url},
            }),
        )
    }

    /// `Engagement Invitation Created|Accepted|Rejected|Expired`. Only `Created` carries the
    /// sender's company name and the expiration date (ace-api.md §9).
    pub fn invitation(
        ctx: EventContext<'_>,
        detail_type: DetailType,
        catalog: &str,
        inv: &InvitationFacts<'_>,
    ) -> SimEvent {
        let mut invitation = json!({
            "arn": inv.arn,
            "id": inv.id,
            "engagementId": inv.engagement_id,
            "senderAccountId": inv.sender_account_id,
            "receiverAccountId": inv.receiver_account_id,
            "participantType": inv.participant_type,
            "payloadType": inv.payload_type,
        });
        if detail_type == DetailType::EngagementInvitationCreated
            && let Some(object) = invitation.as_object_mut()
        {
            object.insert("senderCompanyName".into(), json!(inv.sender_company_name));
            object.insert("expirationDate".into(), json!(inv.expiration_date));
        }
        Self::envelope(
            ctx,
            detail_type,
            inv.id,
            vec![inv.arn.to_owned()],
            json!({"schemaVersion": "1", "catalog": catalog, "engagementInvitation": invitation}),
        )
    }

    /// `Engagement Created`.
    pub fn engagement_created(
        ctx: EventContext<'_>,
        catalog: &str,
        engagement_id: &str,
        engagement_arn: &str,
    ) -> SimEvent {
        Self::envelope(
            ctx,
            DetailType::EngagementCreated,
            engagement_id,
            vec![engagement_arn.to_owned()],
            json!({
                "schemaVersion": "1",
                "catalog": catalog,
                "engagement": {
                    "engagementArn": engagement_arn,
                    "engagementId": engagement_id,
                    "CreatedAt": ctx.time,
                    "CreatedBy": ctx.account_id,
                    "ContextTypes": ["CustomerProject"],
                },
            }),
        )
    }
}

/// What an invitation event says about the invitation.
#[derive(Debug, Clone, Copy)]
pub struct InvitationFacts<'a> {
    pub arn: &'a str,
    pub id: &'a str,
    pub engagement_id: &'a str,
    pub sender_account_id: &'a str,
    pub receiver_account_id: &'a str,
    pub sender_company_name: &'a str,
    pub expiration_date: &'a str,
    pub participant_type: &'a str,
    pub payload_type: &'a str,
}

/// A random RFC 4122 version-4 UUID.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = fastrand::u8(..);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Why a sink did not take an event.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("SQS SendMessage to {queue_url} failed")]
    Sqs {
        queue_url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the job queue did not take the event")]
    Queue(#[source] EnqueueError),
}

/// A target of the simulated EventBridge rule.
#[async_trait]
pub trait EventSink: Send + Sync + fmt::Debug {
    async fn deliver(&self, event: &SimEvent) -> Result<(), SinkError>;
}

/// An SQS queue, reached with aws-sdk-sqs. For a FIFO queue the message group is the resource
/// id (so one opportunity's events stay in order) and the deduplication id the event id.
#[derive(Clone)]
pub struct SqsEventSink {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl fmt::Debug for SqsEventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqsEventSink")
            .field("queue_url", &self.queue_url)
            .finish()
    }
}

impl SqsEventSink {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> SqsEventSink {
        SqsEventSink {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl EventSink for SqsEventSink {
    async fn deliver(&self, event: &SimEvent) -> Result<(), SinkError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(event.json.to_string());
        if self.queue_url.ends_with(".fifo") {
            send = send
                .message_group_id(&event.resource_id)
                .message_deduplication_id(&event.id);
        }
        send.send().await.map(|_| ()).map_err(|e| SinkError::Sqs {
            queue_url: self.queue_url.clone(),
            source: Box::new(e),
        })
    }
}

/// Any job queue of the product (the embedded demo uses the in-memory one).
#[derive(Debug, Clone)]
pub struct JobQueueEventSink {
    queue: Arc<dyn JobQueue>,
}

impl JobQueueEventSink {
    pub fn new(queue: Arc<dyn JobQueue>) -> JobQueueEventSink {
        JobQueueEventSink { queue }
    }
}

#[async_trait]
impl EventSink for JobQueueEventSink {
    async fn deliver(&self, event: &SimEvent) -> Result<(), SinkError> {
        self.queue
            .enqueue(vec![OutgoingMessage {
                group_id: event.resource_id.clone(),
                dedup_id: event.id.clone(),
                body: event.json.to_string(),
            }])
            .await
            .map_err(SinkError::Queue)
    }
}

enum BusMessage {
    Event(SimEvent),
    Flush(oneshot::Sender<()>),
}

/// Publishes events in order to every sink from one background task, so the API never waits
/// for a sink.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: mpsc::UnboundedSender<BusMessage>,
}

impl fmt::Debug for BusMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Event(e) => write!(f, "Event({})", e.id),
            Self::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl EventBus {
    /// The bus and the delivery loop to spawn; the loop ends when `stop` fires or every bus
    /// clone is dropped (flush first to deliver what is pending).
    pub fn new(
        sinks: Vec<Arc<dyn EventSink>>,
        stop: CancellationToken,
    ) -> (EventBus, impl Future<Output = ()> + Send + 'static) {
        let (tx, mut rx) = mpsc::unbounded_channel::<BusMessage>();
        let delivery = async move {
            loop {
                let message = tokio::select! {
                    biased;
                    message = rx.recv() => match message {
                        Some(m) => m,
                        None => return,
                    },
                    _ = stop.cancelled() => return,
                };
                match message {
                    BusMessage::Event(event) => {
                        for sink in &sinks {
                            if let Err(e) = sink.deliver(&event).await {
                                tracing::warn!(
                                    event_id = %event.id,
                                    detail_type = event.detail_type.as_str(),
                                    sink = ?sink,
                                    error = %ace_sync::telemetry::error_chain(&e),
                                    "event delivery failed (best effort, like EventBridge)"
                                );
                            }
                        }
                    }
                    BusMessage::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        };
        (EventBus { tx }, delivery)
    }

    pub fn publish(&self, event: SimEvent) {
        if self.tx.send(BusMessage::Event(event)).is_err() {
            tracing::debug!("event bus stopped; event dropped");
        }
    }

    /// Waits until every event published before the call has been offered to every sink.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(BusMessage::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> EventContext<'static> {
        EventContext {
            account_id: "123456789012",
            region: "us-east-1",
            time: "2025-01-02T03:04:05Z",
        }
    }

    #[test]
    fn opportunity_events_have_the_documented_shape() {
        let e = SimEvent::opportunity(
            ctx(),
            DetailType::OpportunityUpdated,
            "Sandbox",
            "O1234567",
            "arn:aws:partnercentral:us-east-1:123456789012:catalog/Sandbox/opportunity/O1234567",
        );
        assert_eq!(e.json["source"], "aws.partnercentral-selling");
        assert_eq!(e.json["detail-type"], "Opportunity Updated");
        assert_eq!(e.json["detail"]["catalog"], "Sandbox");
        assert_eq!(e.json["detail"]["opportunity"]["identifier"], "O1234567");
        assert_eq!(e.json["id"], e.id.as_str());
        assert_eq!(e.resource_id, "O1234567");
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid_v4(), id);
    }

    #[derive(Debug)]
    struct Failing;

    #[async_trait]
    impl EventSink for Failing {
        async fn deliver(&self, _: &SimEvent) -> Result<(), SinkError> {
            Err(SinkError::Sqs {
                queue_url: "q".into(),
                source: "down".into(),
            })
        }
    }

    #[tokio::test]
    async fn a_failing_sink_does_not_stop_delivery_to_the_others() {
        let settings = ace_sync::config::MemoryQueueSettings {
            visibility_timeout: std::time::Duration::from_secs(30),
            max_receive_count: 5,
            deduplication_window: std::time::Duration::from_secs(300),
        };
        let queue = Arc::new(ace_sync::adapters::memory_queue::MemoryQueue::new(
            "events", settings,
        ));
        let (bus, delivery) = EventBus::new(
            vec![
                Arc::new(Failing),
                Arc::new(JobQueueEventSink::new(queue.clone())),
            ],
            CancellationToken::new(),
        );
        tokio::spawn(delivery);
        bus.publish(SimEvent::opportunity(
            ctx(),
            DetailType::OpportunityCreated,
            "AWS",
            "O1",
            "arn:o",
        ));
        bus.flush().await;
        assert_eq!(queue.depth(), 1);
    }
}
