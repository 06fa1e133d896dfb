//! What the workers' and the API's reconcilers are made of.

use std::sync::Arc;

use prometheus_client::registry::Registry;

use super::StartupError;
use super::quota::{BulkLane, LaneClients, lane_clients};
use crate::ace::mapping::Mapping;
use crate::ace::model::ServiceModel;
use crate::adapters::salesforce::{ClientConfig, SalesforceClient, SalesforceMetrics};
use crate::api::read_only::{ReadOnlyAce, ReadOnlySalesforce};
use crate::config::Settings;
use crate::ports::partner_central::PartnerCentral;
use crate::ports::salesforce::SalesforceOrg;
use crate::worker::reconcile::{ReconcileMetrics, Reconciler};

/// The clients, the mapping and the model a reconciler works with: the workers', and the
/// API's (the same, behind wrappers that cannot write).
pub(super) struct ReconcilerParts {
    salesforce: Arc<dyn SalesforceOrg>,
    /// The interactive lane's client (the API's too).
    partner_central: Arc<dyn PartnerCentral>,
    /// The bulk lane's: the same calls, with the bulk lane's share of the write quota.
    bulk: Arc<dyn PartnerCentral>,
    gate: Option<Arc<dyn crate::ports::lanes::LaneGate>>,
    mapping: Arc<Mapping>,
    model: Arc<ServiceModel>,
    catalog: crate::ace::opportunity::Catalog,
    metrics: ReconcileMetrics,
}

impl ReconcilerParts {
    pub(super) async fn build(
        settings: &Settings,
        for_workers: bool,
        salesforce: Option<Arc<dyn SalesforceOrg>>,
        partner_central: Option<Arc<dyn PartnerCentral>>,
        registry: &mut Registry,
    ) -> Result<ReconcilerParts, StartupError> {
        let missing = |e| {
            if for_workers {
                StartupError::Salesforce(e)
            } else {
                StartupError::ApiSalesforce(e)
            }
        };
        let salesforce = match salesforce {
            Some(client) => client,
            None => {
                let config = ClientConfig::from_settings(settings).map_err(missing)?;
                let client = SalesforceClient::new(&config, SalesforceMetrics::register(registry))
                    .map_err(missing)?;
                Arc::new(client)
            }
        };
        let LaneClients {
            interactive: partner_central,
            bulk,
            gate,
        } = lane_clients(settings, partner_central, registry).await?;
        let model = ServiceModel::load().map_err(StartupError::Model)?;
        // The same loading and checks as `ace-sync config check` (config/resources.rs).
        let mapping = settings.load_mapping(&model).map_err(|problems| {
            StartupError::Mapping(crate::config::ConfigError::many(problems))
        })?;
        Ok(ReconcilerParts {
            salesforce,
            partner_central,
            bulk,
            gate,
            mapping: Arc::new(mapping),
            model: Arc::new(model),
            catalog: settings.ace.catalog,
            metrics: ReconcileMetrics::register(registry),
        })
    }

    /// The workers' reconcilers: the interactive lane's, and the bulk lane's (the same, with
    /// the bulk lane's handle on the write quota).
    pub(super) fn reconcilers(self) -> (Arc<Reconciler>, BulkLane) {
        let bulk = Reconciler::new(
            self.salesforce.clone(),
            self.bulk,
            self.mapping.clone(),
            self.model.clone(),
            self.catalog,
            self.metrics.clone(),
        );
        let interactive = Reconciler::new(
            self.salesforce,
            self.partner_central,
            self.mapping,
            self.model,
            self.catalog,
            self.metrics,
        );
        (
            Arc::new(interactive),
            BulkLane {
                reconciler: Arc::new(bulk),
                gate: self.gate,
            },
        )
    }

    /// The API's: the same steps, with clients that refuse every write.
    pub(super) fn read_only(&self) -> Reconciler {
        Reconciler::new(
            Arc::new(ReadOnlySalesforce(self.salesforce.clone())),
            Arc::new(ReadOnlyAce(self.partner_central.clone())),
            self.mapping.clone(),
            self.model.clone(),
            self.catalog,
            self.metrics.clone(),
        )
    }
}

/// What the operator commands (`backfill`, `reconcile`) work with: a reconciler that cannot
/// write, for previews; the Salesforce client, which writes the backfill's links; Partner
/// Central, reads only; and the lanes, when the settings name a queue.
pub struct OperatorParts {
    pub preview: Reconciler,
    pub salesforce: Arc<dyn SalesforceOrg>,
    pub ace: Arc<dyn PartnerCentral>,
    pub lanes: Option<crate::ports::lanes::Lanes>,
}

impl OperatorParts {
    /// Built from the settings, as a worker's are. The lanes are `None` without
    /// `queue.changes_queue_url`: an operator command never queues on an embedded queue no
    /// worker reads.
    pub async fn build(settings: &Settings) -> Result<OperatorParts, StartupError> {
        let mut registry = crate::metrics::registry();
        let parts = ReconcilerParts::build(settings, true, None, None, &mut registry).await?;
        let metrics = crate::adapters::sqs::SqsMetrics::register(&mut registry);
        let lanes = match &settings.queue.changes_queue_url {
            None => None,
            Some(_) => {
                let changes = super::QueueHandle::changes(settings, metrics.clone()).await;
                let bulk = super::QueueHandle::bulk(settings, metrics).await;
                Some(crate::ports::lanes::Lanes::new(
                    changes.as_job_queue(),
                    bulk.as_ref().map(super::QueueHandle::as_job_queue),
                    settings.queue.bulk_notifications,
                ))
            }
        };
        Ok(OperatorParts {
            preview: parts.read_only(),
            salesforce: parts.salesforce.clone(),
            ace: Arc::new(ReadOnlyAce(parts.partner_central.clone())),
            lanes,
        })
    }
}
