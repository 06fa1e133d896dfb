//! Wiring of the ACE write quota: the limiter every write of the process waits on, over the
//! deployment's DynamoDB item or the process's own bucket, and the bulk lane it gates.

use std::sync::Arc;

use prometheus_client::registry::Registry;

use super::StartupError;
use crate::adapters::dynamodb_quota::{self, DynamoDbQuotaStore};
use crate::adapters::dynamodb_sweep::DynamoDbSweepClaims;
use crate::adapters::partner_central::limiter::{
    self, LimiterConfig, MemoryQuotaStore, QuotaMetrics, QuotaStore, Request, WriteLimiter,
};
use crate::adapters::partner_central::{self as pc, PartnerCentralClient, PartnerCentralMetrics};
use crate::config::Settings;
use crate::domain::lane::Lane;
use crate::ports::lanes::LaneGate;
use crate::ports::partner_central::PartnerCentral;
use crate::ports::sweep_claims::SweepClaims;
use crate::worker::reconcile::Reconciler;

/// The bulk lane's reconciler, and the gate that pauses its worker.
pub(super) struct BulkLane {
    pub(super) reconciler: Arc<Reconciler>,
    pub(super) gate: Option<Arc<dyn LaneGate>>,
}

/// The write limiter: the deployment's, in the DynamoDB table `ace.quota.table`, or this
/// process's own. A configured table that cannot be read stops the start.
async fn build_limiter(
    settings: &Settings,
    registry: &mut Registry,
) -> Result<WriteLimiter, StartupError> {
    let config = LimiterConfig::from_settings(&settings.ace);
    let quota = &settings.ace.quota;
    let store: Arc<dyn QuotaStore> = match &quota.table {
        Some(table) => {
            let store = DynamoDbQuotaStore::new(
                dynamodb_quota::client(quota).await,
                table,
                &quota.key,
                config.policy.clone(),
            );
            store
                .apply(Request::Observe, limiter::now_ms())
                .await
                .map_err(|source| StartupError::Quota {
                    table: table.clone(),
                    source,
                })?;
            tracing::info!(
                table,
                key = quota.key,
                "ACE write quota shared through DynamoDB"
            );
            Arc::new(store)
        }
        None => {
            tracing::info!(
                "ACE write quota kept in this process (ace.quota.table unset): run one worker process per Partner Central account"
            );
            Arc::new(MemoryQuotaStore::new(config.policy.clone()))
        }
    };
    Ok(WriteLimiter::with_store(
        store,
        &config,
        QuotaMetrics::register(registry),
    ))
}

/// The Partner Central clients of the two lanes (one SDK client, one limiter, a lane each),
/// and the bulk lane's gate.
pub(super) struct LaneClients {
    pub(super) interactive: Arc<dyn PartnerCentral>,
    pub(super) bulk: Arc<dyn PartnerCentral>,
    pub(super) gate: Option<Arc<dyn LaneGate>>,
}

/// The clients from the settings; a client handed in (the demo's, a test's) brings its own
/// limiter and serves both lanes.
pub(super) async fn lane_clients(
    settings: &Settings,
    handed_in: Option<Arc<dyn PartnerCentral>>,
    registry: &mut Registry,
) -> Result<LaneClients, StartupError> {
    if let Some(client) = handed_in {
        return Ok(LaneClients {
            interactive: client.clone(),
            bulk: client,
            gate: None,
        });
    }
    let limiter = build_limiter(settings, registry).await?;
    let bulk = limiter.for_lane(Lane::Bulk);
    let sdk = pc::sdk_client(&settings.ace).await;
    let metrics = PartnerCentralMetrics::register(registry);
    Ok(LaneClients {
        interactive: Arc::new(PartnerCentralClient::new(
            sdk.clone(),
            &settings.ace,
            Arc::new(limiter),
            metrics.clone(),
        )),
        bulk: Arc::new(PartnerCentralClient::new(
            sdk,
            &settings.ace,
            Arc::new(bulk.clone()),
            metrics,
        )),
        gate: Some(Arc::new(bulk)),
    })
}

/// The sweep's claims, in the quota's table when there is one (the deployment's replicas share
/// it); without one, every process sweeps every bucket.
pub(super) async fn sweep_claims(settings: &Settings) -> Option<Arc<dyn SweepClaims>> {
    let quota = &settings.ace.quota;
    let table = quota.table.as_ref()?;
    Some(Arc::new(DynamoDbSweepClaims::new(
        dynamodb_quota::client(quota).await,
        table,
        &quota.key,
    )))
}
