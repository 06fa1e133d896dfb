//! The events queue's processor: Partner Central's EventBridge events (delivered best
//! effort, ace-api.md §9) become reconcile jobs for the Salesforce record they concern, on the
//! changes queue, in the record's message group. It never writes to Salesforce itself: the
//! reconcile does, one record at a time, whatever the order events arrive in.
//!
//! An opportunity event names only the ACE id; the record is its `PartnerOpportunityIdentifier`
//! (one GetOpportunity), or, for an accepted AWS referral, the record naming it. Events about
//! engagement invitations become invitation jobs when the mapping brings referrals in
//! (`referrals::events`); events about opportunities with no Salesforce record are counted
//! and logged.

use std::sync::Arc;

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use time::OffsetDateTime;

use super::Processor;
use super::referrals;
use crate::ace::opportunity::Catalog;
use crate::domain::disposition::{Classify, Disposition, OutageKind};
use crate::domain::ids::{AceOpportunityId, SfOpportunityId};
use crate::domain::job::{Reason, Reconcile};
use crate::health::Outages;
use crate::ports::partner_central::{AceError, PartnerCentral};
use crate::ports::queue::{JobQueue, OutgoingMessage, ReceivedMessage};
use crate::ports::salesforce::SalesforceOrg;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    detail_type: String,
    outcome: &'static str,
}

/// Events by detail-type and what became of them.
#[derive(Debug, Clone, Default)]
pub struct EventMetrics {
    events: Family<EventLabels, Counter>,
}

impl EventMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "ace_events",
            "Partner Central events, by detail-type and outcome (queued, not_linked, unknown_opportunity, not_referral, invalid, failed, not_handled, other_catalog, ignored)",
            metrics.events.clone(),
        );
        metrics
    }

    fn count(&self, detail_type: &str, outcome: &'static str) {
        self.events
            .get_or_create(&EventLabels {
                detail_type: detail_type.chars().take(60).collect(),
                outcome,
            })
            .inc();
    }
}

/// Turns events into reconcile jobs.
pub struct EventsProcessor {
    ace: Arc<dyn PartnerCentral>,
    sf: Arc<dyn SalesforceOrg>,
    changes: Arc<dyn JobQueue>,
    catalog: Catalog,
    metrics: EventMetrics,
    outages: Outages,
    /// AWS referrals are brought in (worker/referrals/events.rs).
    referrals: bool,
}

/// The part of an EventBridge event read here (ace-api.md §9).
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    time: Option<OffsetDateTime>,
    detail: EventDetail,
}

#[derive(Debug, Deserialize)]
struct EventDetail {
    catalog: Option<String>,
    opportunity: Option<EventOpportunity>,
}

#[derive(Debug, Deserialize)]
struct EventOpportunity {
    identifier: String,
}

impl EventsProcessor {
    pub fn new(
        ace: Arc<dyn PartnerCentral>,
        sf: Arc<dyn SalesforceOrg>,
        changes: Arc<dyn JobQueue>,
        catalog: Catalog,
        metrics: EventMetrics,
        outages: Outages,
    ) -> Self {
        Self {
            ace,
            sf,
            changes,
            catalog,
            metrics,
            outages,
            referrals: false,
        }
    }

    /// AWS referrals: turn `Engagement Invitation …` events into invitation jobs, and find an
    /// accepted referral's record by its ACE id (the mapping has a `[referrals]` section).
    pub fn with_referrals(mut self, enabled: bool) -> Self {
        self.referrals = enabled;
        self
    }

    async fn opportunity_event(&self, event: &Event, id: AceOpportunityId) -> Disposition {
        let detail_type = event.detail_type.as_str();
        let opportunity = match self.ace.get(&id).await {
            Ok(opportunity) => opportunity,
            Err(AceError::NotFound { .. }) => {
                self.metrics.count(detail_type, "unknown_opportunity");
                return Disposition::Done;
            }
            Err(e) => return self.failed(e.retry_hint(), e.deployment_problem(), &e),
        };
        let mut record = opportunity
            .body
            .partner_opportunity_identifier
            .as_deref()
            .and_then(|p| SfOpportunityId::parse(p).ok());
        // AWS referrals: an accepted referral's opportunity is named by its record instead.
        if record.is_none() && self.referrals {
            record = match referrals::events::record_of(self.sf.as_ref(), &id).await {
                Ok(found) => found,
                Err(e) => return referrals::events::retry_or_keep(&e),
            };
        }
        let Some(record) = record else {
            self.metrics.count(detail_type, "not_linked");
            tracing::info!(ace_id = %id, detail_type, "an event for an opportunity with no Salesforce record (an AWS referral not yet brought in); not synced");
            return Disposition::Done;
        };
        let org = match self.sf.identity().await {
            Ok(identity) => identity.org_id,
            Err(e) => return self.failed(e.retry_hint(), e.deployment_problem(), &e),
        };
        let job = Reconcile {
            org_id: org,
            record_id: record.to_record_id(),
            reason: Reason::AceEvent {
                event_id: event.id.clone().unwrap_or_else(|| {
                    format!("{id}@{}", OffsetDateTime::now_utc().unix_timestamp_nanos())
                }),
                detail_type: detail_type.to_owned(),
                ace_id: id.clone(),
            },
            changed_at: event.time,
            queued_at: OffsetDateTime::now_utc(),
        };
        match self
            .changes
            .enqueue(vec![OutgoingMessage::from(&job)])
            .await
        {
            Ok(()) => {
                self.outages.clear();
                self.metrics.count(detail_type, "queued");
                tracing::debug!(ace_id = %id, sf_opportunity_id = %record, detail_type, "reconcile queued");
                Disposition::Done
            }
            Err(e) => Disposition::Retry {
                after: std::time::Duration::ZERO,
                reason: crate::telemetry::error_chain(&e),
            },
        }
    }

    /// A failed call: retried when transient, kept as an outage when only an operator can fix
    /// it, otherwise parked with its reason (there is no record to write it on).
    fn failed(
        &self,
        hint: Option<Option<std::time::Duration>>,
        deployment: Option<OutageKind>,
        error: &dyn std::error::Error,
    ) -> Disposition {
        let reason = crate::telemetry::error_chain(error);
        match (hint, deployment) {
            (Some(after), _) => Disposition::Retry {
                after: after.unwrap_or_default(),
                reason,
            },
            (None, Some(kind)) => {
                self.outages.report(kind, &reason);
                Disposition::Outage { reason }
            }
            (None, None) => Disposition::DeadLetter { reason },
        }
    }
}

#[async_trait]
impl Processor for EventsProcessor {
    async fn process(&self, message: &ReceivedMessage) -> Disposition {
        let event: Event = match serde_json::from_str(&message.body) {
            Ok(event) => event,
            Err(e) => {
                return Disposition::DeadLetter {
                    reason: format!("not an EventBridge event from Partner Central: {e}"),
                };
            }
        };
        if event.source != "aws.partnercentral-selling" {
            self.metrics.count(&event.detail_type, "ignored");
            return Disposition::Done;
        }
        if event.detail.catalog.as_deref() != Some(self.catalog.as_str()) {
            self.metrics.count(&event.detail_type, "other_catalog");
            return Disposition::Done;
        }
        match event.detail_type.as_str() {
            "Opportunity Created" | "Opportunity Updated" => {
                let Some(id) = event
                    .detail
                    .opportunity
                    .as_ref()
                    .and_then(|o| AceOpportunityId::parse(&o.identifier).ok())
                else {
                    return Disposition::DeadLetter {
                        reason: "an opportunity event without a valid opportunity identifier"
                            .into(),
                    };
                };
                self.opportunity_event(&event, id).await
            }
            // AWS referrals.
            detail_type
                if self.referrals && referrals::events::DETAIL_TYPES.contains(&detail_type) =>
            {
                let (outcome, disposition) = referrals::events::on_event(
                    &message.body,
                    detail_type,
                    self.sf.as_ref(),
                    self.changes.as_ref(),
                )
                .await;
                self.metrics.count(detail_type, outcome);
                disposition
            }
            other => {
                self.metrics.count(other, "not_handled");
                tracing::info!(detail_type = other, "Partner Central event not acted on");
                Disposition::Done
            }
        }
    }

    fn name(&self) -> &'static str {
        "events"
    }
}
