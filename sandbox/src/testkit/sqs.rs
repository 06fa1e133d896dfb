//! Real SQS semantics from moto's server: a fresh FIFO queue (with its dead-letter queue) per
//! test, and private moto processes for tests that stop and restart the server.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use super::env;

/// An SQS client for `endpoint` with static test credentials.
pub fn client(endpoint: &str) -> Client {
    let credentials =
        aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "tests");
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// A client for the shared moto server.
pub fn shared_client() -> Client {
    client(&env::sqs_endpoint())
}

/// A new FIFO queue and its dead-letter queue, named uniquely for this test.
#[derive(Debug, Clone)]
pub struct FifoQueue {
    pub url: String,
    pub dlq_url: String,
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

/// Creates a FIFO queue whose messages move to a FIFO dead-letter queue after
/// `max_receive_count` receives.
pub async fn fifo_queue(client: &Client, prefix: &str, max_receive_count: u32) -> FifoQueue {
    fifo_queue_named(client, &unique_name(prefix), max_receive_count).await
}

/// As [`fifo_queue`], with the given name (without `.fifo`).
pub async fn fifo_queue_named(client: &Client, name: &str, max_receive_count: u32) -> FifoQueue {
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create dead-letter queue");
    let dlq_url = dlq.queue_url().expect("queue url").to_owned();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dead-letter queue arn")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn attribute");
    let queue = client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(
                r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}"#
            ),
        )
        .send()
        .await
        .expect("create queue");
    FifoQueue {
        url: queue.queue_url().expect("queue url").to_owned(),
        dlq_url,
    }
}

/// Every message currently visible on a queue, received and deleted (draining it).
pub async fn drain(client: &Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        let messages = out.messages();
        if messages.is_empty() {
            return bodies;
        }
        for message in messages {
            bodies.push(message.body().unwrap_or_default().to_owned());
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

/// Messages on a queue: (visible, in flight).
pub async fn counts(client: &Client, url: &str) -> (u64, u64) {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let count = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A moto server of this test's own, stopped when dropped.
pub struct MotoProcess {
    child: Child,
    pub port: u16,
}

impl MotoProcess {
    pub async fn start(port: u16) -> MotoProcess {
        let child = Command::new(env::venv_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = MotoProcess { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if http
                .get(format!("{}/moto-api/", moto.endpoint()))
                .send()
                .await
                .is_ok()
            {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Puts one message on a FIFO queue, as the ingress or a worker would.
pub async fn send_fifo(
    client: &Client,
    url: &str,
    message: &ace_sync::ports::queue::OutgoingMessage,
) {
    client
        .send_message()
        .queue_url(url)
        .message_group_id(&message.group_id)
        .message_deduplication_id(&message.dedup_id)
        .message_body(&message.body)
        .send()
        .await
        .expect("send");
}
