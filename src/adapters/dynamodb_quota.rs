//! The ACE write quota shared by every process of a deployment, in one DynamoDB item
//! (`aws-sdk-dynamodb`): the [`QuotaState`] of `partner_central::quota`, changed only by
//! conditional writes on a version number, so that processes racing for the same slot never
//! both get it.
//!
//! One operation changes the state: `PutItem` with the condition `v = :version` on the copy
//! this process last wrote or read. When another process wrote meanwhile, the condition fails,
//! the item is read again (`GetItem`, strongly consistent) and the change recomputed. Slots
//! are reserved in leases (see `partner_central::limiter`), so the item sees about one write
//! per ACE write at most, far below what one DynamoDB item takes; conflicts cost a retry, not
//! a wrong answer. Answers that change nothing (bulk told to wait, a spent budget, the usage
//! for metrics) are always computed from a fresh read and write nothing.
//!
//! Item: `pk` (S, the account's key), `v` (N, version), `tat` (N, ms since the epoch), `counts`
//! (M: window bucket → writes), `thr_at` (N) and `thr_f` (N) for the last throttle.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::partner_central::limiter::{QuotaStore, QuotaStoreError};
use crate::adapters::partner_central::quota::{Decision, QuotaPolicy, QuotaState, Request, Usage};
use crate::config::QuotaSettings;

/// Conditional writes tried before giving up on one request (each after a fresh read).
const MAX_ATTEMPTS: u32 = 12;

/// The shared quota in a DynamoDB table whose partition key is `pk` (a string).
#[derive(Debug)]
pub struct DynamoDbQuotaStore {
    client: Client,
    table: String,
    key: String,
    policy: QuotaPolicy,
    /// The state and version this process last saw: the first attempt's guess.
    last: Mutex<Option<(QuotaState, u64)>>,
}

/// Why the quota item could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DynamoDbQuotaError {
    #[error("{operation} on the quota table {table} failed")]
    Call {
        operation: &'static str,
        table: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the quota item {key} in {table} holds an unreadable {attribute}")]
    Corrupt {
        table: String,
        key: String,
        attribute: &'static str,
    },
    #[error("the quota item in {table} kept changing under {attempts} attempts to update it")]
    Contended { table: String, attempts: u32 },
}

/// A DynamoDB client for the quota settings: the default AWS credential chain, the table's
/// region, and an endpoint override for local servers.
pub async fn client(settings: &QuotaSettings) -> Client {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(settings.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Some(endpoint) = &settings.endpoint_url {
        config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    Client::from_conf(config.build())
}

impl DynamoDbQuotaStore {
    pub fn new(client: Client, table: &str, key: &str, policy: QuotaPolicy) -> Self {
        Self {
            client,
            table: table.to_owned(),
            key: key.to_owned(),
            policy,
            last: Mutex::new(None),
        }
    }

    fn call_error(
        &self,
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> DynamoDbQuotaError {
        DynamoDbQuotaError::Call {
            operation,
            table: self.table.clone(),
            source: Box::new(source),
        }
    }

    fn remember(&self, seen: Option<(QuotaState, u64)>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = seen;
    }

    fn remembered(&self) -> Option<(QuotaState, u64)> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The item as it is now.
    async fn read(&self) -> Result<(QuotaState, u64), DynamoDbQuotaError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.call_error("GetItem", aws_sdk_dynamodb::Error::from(e)))?;
        let seen = match out.item() {
            Some(item) => self.decode(item)?,
            None => (QuotaState::default(), 0),
        };
        self.remember(Some(seen.clone()));
        Ok(seen)
    }

    /// Writes `state` as version `version + 1` if the item is still at `version`; `false`
    /// when another process got there first.
    async fn write(&self, state: &QuotaState, version: u64) -> Result<bool, DynamoDbQuotaError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.encode(state, version + 1)));
        put = if version == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("v = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        };
        match put.send().await {
            Ok(_) => {
                self.remember(Some((state.clone(), version + 1)));
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.remember(None);
                Ok(false)
            }
            Err(e) => Err(self.call_error("PutItem", aws_sdk_dynamodb::Error::from(e))),
        }
    }

    fn encode(&self, state: &QuotaState, version: u64) -> HashMap<String, AttributeValue> {
        let n = |v: String| AttributeValue::N(v);
        let counts = state
            .counts
            .iter()
            .map(|(bucket, count)| (bucket.to_string(), n(count.to_string())))
            .collect();
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(self.key.clone())),
            ("v".to_owned(), n(version.to_string())),
            ("tat".to_owned(), n(format!("{:.3}", state.tat_ms))),
            ("counts".to_owned(), AttributeValue::M(counts)),
            ("thr_at".to_owned(), n(state.throttled_at_ms.to_string())),
            (
                "thr_f".to_owned(),
                n(format!("{:.6}", state.factor_at_throttle)),
            ),
        ])
    }

    fn decode(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<(QuotaState, u64), DynamoDbQuotaError> {
        let corrupt = |attribute| DynamoDbQuotaError::Corrupt {
            table: self.table.clone(),
            key: self.key.clone(),
            attribute,
        };
        let number = |name: &'static str| -> Result<&str, DynamoDbQuotaError> {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .map(String::as_str)
                .ok_or_else(|| corrupt(name))
        };
        let version = number("v")?.parse().map_err(|_| corrupt("v"))?;
        let mut counts = BTreeMap::new();
        for (bucket, count) in item
            .get("counts")
            .and_then(|v| v.as_m().ok())
            .ok_or_else(|| corrupt("counts"))?
        {
            let bucket = bucket.parse().map_err(|_| corrupt("counts"))?;
            let count = count
                .as_n()
                .ok()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| corrupt("counts"))?;
            counts.insert(bucket, count);
        }
        let state = QuotaState {
            tat_ms: number("tat")?.parse().map_err(|_| corrupt("tat"))?,
            counts,
            throttled_at_ms: number("thr_at")?.parse().map_err(|_| corrupt("thr_at"))?,
            factor_at_throttle: number("thr_f")?.parse().map_err(|_| corrupt("thr_f"))?,
        };
        Ok((state, version))
    }

    async fn apply_request(
        &self,
        request: Request,
        now_ms: u64,
    ) -> Result<(Decision, Usage), DynamoDbQuotaError> {
        let mut guess = self.remembered();
        for attempt in 0..MAX_ATTEMPTS {
            let fresh = guess.is_none();
            let (state, version) = match guess.take() {
                Some(seen) => seen,
                None => self.read().await?,
            };
            let mut next = state.clone();
            let decision = next.apply(&self.policy, request, now_ms);
            let changes = matches!(request, Request::Throttled { .. })
                || matches!(decision, Decision::Granted { .. });
            if !changes {
                if fresh {
                    return Ok((decision, next.usage(&self.policy, now_ms)));
                }
                // An answer that writes nothing must come from the item as it is.
                continue;
            }
            if self.write(&next, version).await? {
                return Ok((decision, next.usage(&self.policy, now_ms)));
            }
            // Another process changed the item: spread the retries a little.
            let jitter = fastrand::u64(0..=(2 << attempt.min(5)));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        Err(DynamoDbQuotaError::Contended {
            table: self.table.clone(),
            attempts: MAX_ATTEMPTS,
        })
    }
}

#[async_trait]
impl QuotaStore for DynamoDbQuotaStore {
    async fn apply(
        &self,
        request: Request,
        now_ms: u64,
    ) -> Result<(Decision, Usage), QuotaStoreError> {
        Ok(self.apply_request(request, now_ms).await?)
    }

    fn kind(&self) -> &'static str {
        "dynamodb"
    }
}
