//! What the process knows is wrong with its deployment right now: outages that no retry of a
//! single message fixes (Salesforce refusing the connected app, Partner Central denying
//! access, a record the integration user cannot see). Workers report them as they meet them
//! and clear them when work succeeds again; `/health/ready` answers 503 `degraded` while any
//! is open, and a gauge per kind lets an alert say what to fix.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

pub use crate::domain::disposition::OutageKind;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// One open outage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub kind: OutageKind,
    pub since: OffsetDateTime,
    /// The last error met, with its causes.
    pub reason: String,
}

/// The open outages of this process. Cheap to clone; clones share them.
#[derive(Debug, Clone)]
pub struct Outages {
    open: Arc<Mutex<BTreeMap<OutageKind, Outage>>>,
    gauge: Family<KindLabel, Gauge>,
    met: Family<KindLabel, Counter>,
}

impl Outages {
    pub fn register(registry: &mut Registry) -> Self {
        let outages = Outages {
            open: Arc::default(),
            gauge: Family::default(),
            met: Family::default(),
        };
        registry.register(
            "outage",
            "1 while a deployment problem of this kind is open (workers keep the affected messages; /health/ready says degraded)",
            outages.gauge.clone(),
        );
        registry.register(
            "deployment_errors",
            "Errors only an operator can fix, by kind (salesforce_auth, salesforce_access, partner_central_access, unexpected)",
            outages.met.clone(),
        );
        for kind in OutageKind::ALL {
            outages
                .gauge
                .get_or_create(&KindLabel { kind: kind.label() })
                .set(0);
        }
        outages
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<OutageKind, Outage>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A deployment problem was met: opens (or updates) the outage of its kind.
    pub fn report(&self, kind: OutageKind, reason: &str) {
        self.met
            .get_or_create(&KindLabel { kind: kind.label() })
            .inc();
        let mut open = self.lock();
        let opened = !open.contains_key(&kind);
        let since = open
            .get(&kind)
            .map_or_else(OffsetDateTime::now_utc, |o| o.since);
        open.insert(
            kind,
            Outage {
                kind,
                since,
                reason: reason.to_owned(),
            },
        );
        drop(open);
        self.gauge
            .get_or_create(&KindLabel { kind: kind.label() })
            .set(1);
        if opened {
            tracing::error!(
                kind = kind.label(),
                reason,
                "deployment problem: messages are kept until an operator fixes it"
            );
        }
    }

    /// Work went through again: every outage is over.
    pub fn clear(&self) {
        let mut open = self.lock();
        if open.is_empty() {
            return;
        }
        for kind in open.keys() {
            tracing::info!(kind = kind.label(), "deployment problem over");
            self.gauge
                .get_or_create(&KindLabel { kind: kind.label() })
                .set(0);
        }
        open.clear();
    }

    /// The open outages, oldest kind first.
    pub fn open(&self) -> Vec<Outage> {
        self.lock().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_open_until_work_goes_through() {
        let outages = Outages::register(&mut Registry::default());
        assert!(outages.open().is_empty());
        outages.report(
            OutageKind::SalesforceAuth,
            "invalid_grant: expired certificate",
        );
        outages.report(OutageKind::SalesforceAuth, "invalid_grant: still expired");
        let open = outages.open();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].reason, "invalid_grant: still expired");
        outages.clear();
        assert!(outages.open().is_empty());
    }
}
