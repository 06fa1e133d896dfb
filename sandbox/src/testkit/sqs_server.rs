//! The SQS server for the load benches: rustack, the fast local server, when it is present
//! (`RUSTACK`, or `../shared/tools/rustack/rustack` beside the repository), moto otherwise.
//! moto is one Python thread (about 35–150 messages/s): right for correctness, the bottleneck
//! of any run that measures throughput or convergence.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use super::sqs::{self, MotoProcess};

/// A running SQS server, stopped when dropped.
pub enum SqsServer {
    Rustack { child: Child, port: u16 },
    Moto(MotoProcess),
}

impl SqsServer {
    /// rustack when its binary is there, else moto (from the test tools' virtualenv).
    pub async fn start() -> SqsServer {
        let binary = std::env::var("RUSTACK").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/tools/rustack/rustack"
            )
            .to_owned()
        });
        if !std::path::Path::new(&binary).exists() {
            return SqsServer::Moto(MotoProcess::start(sqs::free_port()).await);
        }
        let port = sqs::free_port();
        let child = Command::new(&binary)
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("SERVICES", "sqs")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start rustack ({binary}): {e}"));
        let server = SqsServer::Rustack { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "rustack did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    pub fn port(&self) -> u16 {
        match self {
            SqsServer::Rustack { port, .. } => *port,
            SqsServer::Moto(moto) => moto.port,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn name(&self) -> &'static str {
        match self {
            SqsServer::Rustack { .. } => "rustack",
            SqsServer::Moto(_) => "moto",
        }
    }

    /// A FIFO queue; on moto with a dead-letter queue after `max_receive_count` receives, on
    /// rustack (which has no redrive) without one. Its URL.
    pub async fn fifo(&self, client: &Client, prefix: &str, max_receive_count: u32) -> String {
        if let SqsServer::Moto(_) = self {
            return sqs::fifo_queue(client, prefix, max_receive_count).await.url;
        }
        client
            .create_queue()
            .queue_name(format!("{}.fifo", sqs::unique_name(prefix)))
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .expect("create queue")
            .queue_url()
            .expect("queue url")
            .to_owned()
    }
}

impl Drop for SqsServer {
    fn drop(&mut self) {
        if let SqsServer::Rustack { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
