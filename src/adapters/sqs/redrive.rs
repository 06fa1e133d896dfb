//! The SQS queue's dead-letter side: its redrive policy (the receive limit, the dead-letter
//! queue), and moving a message there with a reason, which SQS's own redrive cannot record.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use serde::Deserialize;

use super::{SqsQueue, classify};
use crate::ports::queue::{QueueError, ReceivedMessage, dead_letter_attributes};

/// `RedrivePolicy`, as SQS returns it (JSON in a queue attribute; `maxReceiveCount` comes as
/// a number or a string).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedrivePolicy {
    dead_letter_target_arn: String,
    max_receive_count: serde_json::Value,
}

/// A queue's redrive policy, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub max_receive_count: u32,
    pub dead_letter_queue_url: String,
}

impl SqsQueue {
    /// The queue's redrive policy, with the dead-letter queue's URL; `None` without one.
    pub async fn redrive(&self) -> Result<Option<Redrive>, QueueError> {
        let result = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await;
        let output = match result {
            Ok(output) => {
                self.metrics.call("GetQueueAttributes", "ok");
                output
            }
            Err(e) => {
                self.metrics.call("GetQueueAttributes", "failed");
                return Err(classify("GetQueueAttributes", e));
            }
        };
        let Some(raw) = output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
        else {
            return Ok(None);
        };
        let refused = |what: String| QueueError::Refused {
            operation: "GetQueueAttributes",
            source: what.into(),
        };
        let policy: RedrivePolicy = serde_json::from_str(raw)
            .map_err(|e| refused(format!("RedrivePolicy {raw:?} is not one: {e}")))?;
        let max_receive_count = match &policy.max_receive_count {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| refused(format!("maxReceiveCount in {raw:?}")))?;
        // arn:aws:sqs:<region>:<account>:<name>
        let mut parts = policy.dead_letter_target_arn.rsplit(':');
        let (Some(name), Some(account)) = (parts.next(), parts.next()) else {
            return Err(refused(format!(
                "deadLetterTargetArn {:?}",
                policy.dead_letter_target_arn
            )));
        };
        let url = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await;
        let url = match url {
            Ok(output) => {
                self.metrics.call("GetQueueUrl", "ok");
                output.queue_url().unwrap_or_default().to_owned()
            }
            Err(e) => {
                self.metrics.call("GetQueueUrl", "failed");
                return Err(classify("GetQueueUrl", e));
            }
        };
        Ok(Some(Redrive {
            max_receive_count,
            dead_letter_queue_url: url,
        }))
    }

    /// Sends `message` to the dead-letter queue with the reason as message attributes, then
    /// deletes it here. A crash between the two leaves it on both queues, which `ace-sync dlq
    /// replay` and the reconciler's idempotence make harmless.
    pub(super) async fn move_to_dead_letters(
        &self,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        let Some(redrive) = self.redrive().await? else {
            return Err(QueueError::Refused {
                operation: "dead_letter",
                source: format!("queue {} has no redrive policy", self.url).into(),
            });
        };
        let attributes: BTreeMap<String, String> =
            dead_letter_attributes(reason, message.receive_count);
        let mut send = self
            .client
            .send_message()
            .queue_url(&redrive.dead_letter_queue_url)
            .message_body(&message.body);
        if redrive.dead_letter_queue_url.ends_with(".fifo") {
            send = send
                .message_group_id(
                    message
                        .group_id
                        .clone()
                        .unwrap_or_else(|| message.message_id.clone()),
                )
                .message_deduplication_id(format!("dlq:{}", message.message_id));
        }
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| QueueError::Refused {
                    operation: "SendMessage",
                    source: Box::new(e),
                })?;
            send = send.message_attributes(name, value);
        }
        match send.send().await {
            Ok(_) => self.metrics.call("SendMessage", "ok"),
            Err(e) => {
                self.metrics.call("SendMessage", "failed");
                return Err(classify("SendMessage", e));
            }
        }
        use crate::ports::queue::JobSource;
        self.delete(std::slice::from_ref(&message.receipt)).await
    }
}
