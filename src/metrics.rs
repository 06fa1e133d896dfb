//! The Prometheus registry. Each component defines its own metric families with a
//! `register(&mut Registry)` constructor; `startup` builds one registry, hands the families
//! to the components that update them, and serves the registry at `GET /metrics`.

use std::sync::Arc;

use prometheus_client::registry::Registry;

/// The registry after every component has registered: read-only from here on.
#[derive(Clone)]
pub struct MetricsRegistry(Arc<Registry>);

impl MetricsRegistry {
    pub fn new(registry: Registry) -> Self {
        Self(Arc::new(registry))
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0);
        out
    }
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsRegistry")
    }
}

/// A fresh registry with the `ace_sync` prefix.
pub fn registry() -> Registry {
    Registry::with_prefix("ace_sync")
}
