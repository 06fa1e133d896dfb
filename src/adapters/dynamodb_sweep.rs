//! Sweep claims in the quota's DynamoDB table (`ace.quota.table`): one item per org,
//! `pk` = `<ace.quota.key>#sweep#<org>`, holding the last bucket claimed (`bucket`, N). A claim
//! is a `PutItem` that succeeds only when the item is missing or names an earlier bucket, so
//! of the replicas waking for the same bucket exactly one gets it.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::ports::sweep_claims::SweepClaims;

#[derive(Debug, Clone)]
pub struct DynamoDbSweepClaims {
    client: Client,
    table: String,
    key: String,
}

impl DynamoDbSweepClaims {
    /// Claims kept in `table`, beside the write quota item named `key`.
    pub fn new(client: Client, table: &str, key: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
            key: key.to_owned(),
        }
    }
}

#[async_trait]
impl SweepClaims for DynamoDbSweepClaims {
    async fn claim(&self, org: &str, bucket: i64) -> Result<bool, String> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("{}#sweep#{org}", self.key)))
            .item("bucket", AttributeValue::N(bucket.to_string()))
            .condition_expression("attribute_not_exists(pk) OR #bucket < :bucket")
            .expression_attribute_names("#bucket", "bucket")
            .expression_attribute_values(":bucket", AttributeValue::N(bucket.to_string()));
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(format!(
                "PutItem on the DynamoDB table {}: {}",
                self.table,
                crate::telemetry::error_chain(&aws_sdk_dynamodb::Error::from(e))
            )),
        }
    }
}
