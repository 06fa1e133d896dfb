//! The Partner Central port on `aws-sdk-partnercentralselling` (=1.84.0): the default AWS
//! credential chain, region and catalog from the `[ace]` settings, an endpoint override for
//! the simulator. The operations are in [`opportunities`] and [`invitations`]; this file holds
//! the client and how it calls.
//!
//! Every call goes through [`PartnerCentralClient::call`]: writes first wait for the shared
//! [`WriteLimiter`] (1 write/s per account, ace-api.md §10), throttling and transient failures
//! are retried with exponential back-off (the SDK's own retries are off, so every attempt of a
//! write passes the limiter), and each attempt is counted by operation and outcome.

pub mod convert;
pub mod error;
mod invitations;
pub mod limiter;
mod opportunities;
pub mod quota;
mod quota_metrics;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use self::convert::MissingMember;
use self::error::{OperationError, classify};
pub use self::limiter::WriteLimiter;
use crate::ace::mapping::Submission;
use crate::ace::opportunity::Catalog;
use crate::config::AceSettings;
use crate::domain::ids::AceOpportunityId;
use crate::ports::partner_central::{AceError, FieldError};
use aws_sdk_partnercentralselling::Client;
use aws_sdk_partnercentralselling::config::http::HttpResponse;
use aws_sdk_partnercentralselling::error::SdkError;
use aws_sdk_partnercentralselling::types as sdk;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// ACE call counters.
#[derive(Debug, Clone, Default)]
pub struct PartnerCentralMetrics {
    calls: Family<CallLabels, Counter>,
    throttles: Family<OperationLabels, Counter>,
}

impl PartnerCentralMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "ace_calls",
            "Partner Central API call attempts by operation and outcome (ok, validation, not_found, access_denied, conflict, throttled, quota, unavailable, unexpected)",
            metrics.calls.clone(),
        );
        registry.register(
            "ace_throttles",
            "ThrottlingException answers from Partner Central, by operation (each one slows every write of the process)",
            metrics.throttles.clone(),
        );
        metrics
    }

    fn call(&self, operation: &'static str, outcome: &'static str) {
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
    }
}

fn outcome(result: &Result<impl Sized, AceError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AceError::Validation { .. }) => "validation",
        Err(AceError::NotFound { .. }) => "not_found",
        Err(AceError::AccessDenied { .. }) => "access_denied",
        Err(AceError::Conflict { .. }) => "conflict",
        Err(AceError::Throttled { .. }) => "throttled",
        Err(AceError::QuotaExceeded { .. }) => "quota",
        Err(AceError::Unavailable { .. }) => "unavailable",
        Err(AceError::Unexpected { .. }) => "unexpected",
    }
}

/// Whether a call spends the write quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// An SDK client from the default AWS credential chain, with the configured region, call
/// timeout and (for the simulator) endpoint.
pub async fn sdk_client(settings: &AceSettings) -> Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region.clone()))
        .load()
        .await;
    Client::from_conf(sdk_config(settings, &shared).build())
}

/// The service configuration over a shared AWS configuration (credentials, region): timeouts
/// from the settings, the endpoint override, and no SDK retries — the adapter retries itself,
/// so that every attempt of a write waits for the write limiter.
pub fn sdk_config(
    settings: &AceSettings,
    shared: &aws_config::SdkConfig,
) -> aws_sdk_partnercentralselling::config::Builder {
    use aws_sdk_partnercentralselling::config::retry::RetryConfig;
    use aws_sdk_partnercentralselling::config::timeout::TimeoutConfig;
    let mut config = aws_sdk_partnercentralselling::config::Builder::from(shared)
        .region(aws_sdk_partnercentralselling::config::Region::new(
            settings.region.clone(),
        ))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.call_timeout.min(Duration::from_secs(5)))
                .operation_attempt_timeout(settings.call_timeout)
                .build(),
        )
        .retry_config(RetryConfig::disabled());
    if let Some(endpoint) = &settings.endpoint_url {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    config
}

/// How calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// Exponential with jitter: between half and all of `base · 2^(attempt-1)`, at most 20 s.
    fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(Duration::from_secs(20));
        let half = full / 2;
        half + full.mul_f64(fastrand::f64() * 0.5)
    }
}

/// The Partner Central client. Cheap to clone; clones share the SDK client, the write
/// limiter and the metrics.
#[derive(Clone)]
pub struct PartnerCentralClient {
    client: Client,
    catalog: Catalog,
    limiter: Arc<WriteLimiter>,
    metrics: PartnerCentralMetrics,
    retry: RetryPolicy,
    find_max_pages: u32,
}

impl std::fmt::Debug for PartnerCentralClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerCentralClient")
            .field("catalog", &self.catalog)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// The in-process write limiter for these settings (interactive lane); build one per process
/// and share it. `startup` builds the deployment-wide one when `ace.quota.table` is set.
pub fn write_limiter(settings: &AceSettings) -> Arc<WriteLimiter> {
    let config = limiter::LimiterConfig::from_settings(settings);
    Arc::new(WriteLimiter::with_store(
        Arc::new(limiter::MemoryQuotaStore::new(config.policy.clone())),
        &config,
        limiter::QuotaMetrics::default(),
    ))
}

impl PartnerCentralClient {
    pub fn new(
        client: Client,
        settings: &AceSettings,
        limiter: Arc<WriteLimiter>,
        metrics: PartnerCentralMetrics,
    ) -> Self {
        Self {
            client,
            catalog: settings.catalog,
            limiter,
            metrics,
            retry: RetryPolicy {
                max_attempts: settings.max_attempts.max(1),
                base_delay: settings.retry_base_delay,
            },
            find_max_pages: settings.find_max_pages.max(1),
        }
    }

    pub fn catalog(&self) -> Catalog {
        self.catalog
    }

    /// One logical call: waits for the write limiter (writes), retries throttling and
    /// transient failures with back-off, counts every attempt.
    async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        kind: Kind,
        attempt_once: F,
    ) -> Result<T, AceError>
    where
        E: OperationError,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut attempt = 1;
        loop {
            if kind == Kind::Write {
                self.limiter.acquire(operation).await?;
            }
            let result = attempt_once().await.map_err(|e| classify(operation, e));
            self.metrics.call(operation, outcome(&result));
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let throttled = matches!(err, AceError::Throttled { .. });
            if throttled {
                self.metrics
                    .throttles
                    .get_or_create(&OperationLabels { operation })
                    .inc();
            }
            let retryable = matches!(
                err,
                AceError::Throttled { .. } | AceError::Unavailable { .. }
            );
            if !retryable || attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let delay = self.retry.delay(attempt);
            tracing::warn!(
                operation,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %crate::telemetry::error_chain(&err),
                "Partner Central call failed; retrying"
            );
            if throttled && kind == Kind::Write {
                // The write quota is the account's: every writer waits, not just this one.
                // (A throttled read says nothing about the write quota.)
                self.limiter.throttled(delay).await;
            } else {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }

    fn invalid_request(operation: &'static str, missing: MissingMember) -> AceError {
        AceError::Validation {
            operation,
            reason: "REQUEST_VALIDATION_FAILED".to_owned(),
            message: format!(
                "the request was not sent: {} (checked before sending)",
                missing
            ),
            errors: vec![FieldError {
                field_name: Some(missing.field.to_owned()),
                message: missing.to_string(),
                code: "REQUIRED_FIELD_MISSING".to_owned(),
            }],
        }
    }

    fn parse_id(operation: &'static str, raw: &str) -> Result<AceOpportunityId, AceError> {
        AceOpportunityId::parse(raw).map_err(|e| AceError::Unexpected {
            operation,
            what: e.to_string(),
        })
    }

    fn submission_to_sdk(
        operation: &'static str,
        submission: &Submission,
    ) -> Result<sdk::AwsSubmission, AceError> {
        sdk::AwsSubmission::builder()
            .involvement_type(sdk::SalesInvolvementType::from(
                submission.involvement_type.as_str(),
            ))
            .visibility(sdk::Visibility::from(submission.visibility.as_str()))
            .build()
            .map_err(|e| AceError::Unexpected {
                operation,
                what: format!("AwsSubmission: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
        };
        for attempt in 1..=3 {
            let full = Duration::from_millis(200 << (attempt - 1));
            let delay = policy.delay(attempt);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(policy.delay(30) <= Duration::from_secs(20));
    }
}
