//! The faults the chaos run injects from outside the processes: the SQS outage (a proxy that
//! refuses and cuts connections), EventBridge losing events, and worker processes killed.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use ace_sync_sandbox::partner_central::{self as pc, SqsEventSink};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A TCP proxy that can refuse and cut every connection: the SQS outage.
#[derive(Clone)]
pub(super) struct Proxy {
    up: Arc<AtomicBool>,
    /// Cancelled when the proxy goes down, cutting the connections it carries.
    epoch: Arc<std::sync::Mutex<CancellationToken>>,
    port: u16,
}

impl Proxy {
    pub(super) async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let proxy = Proxy {
            up: Arc::new(AtomicBool::new(true)),
            epoch: Arc::new(std::sync::Mutex::new(CancellationToken::new())),
            port: listener.local_addr().unwrap().port(),
        };
        let this = proxy.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !this.up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let cut = this.epoch.lock().unwrap().clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.cancelled() => {}
                    }
                });
            }
        });
        proxy
    }

    pub(super) fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            let mut epoch = self.epoch.lock().unwrap();
            epoch.cancel();
            *epoch = CancellationToken::new();
        }
    }

    pub(super) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// EventBridge losing a share of the events (percent).
#[derive(Debug)]
pub(super) struct LossyBus {
    pub(super) inner: SqsEventSink,
    pub(super) loss_percent: Arc<AtomicU32>,
    pub(super) lost: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl pc::EventSink for LossyBus {
    async fn deliver(&self, event: &pc::SimEvent) -> Result<(), pc::SinkError> {
        if fastrand::u32(0..100) < self.loss_percent.load(Ordering::SeqCst) {
            self.lost.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        self.inner.deliver(event).await
    }
}

/// The worker processes, killed and restarted at will.
pub(super) struct Workers {
    pub(super) env: Vec<(String, String)>,
    pub(super) children: Vec<Option<tokio::process::Child>>,
    pub(super) kills: u32,
}

impl Workers {
    pub(super) fn spawn(env: &[(String, String)]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_ace-sync"))
            .arg("work")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("ACE_SYNC_HTTP__PORT", "0")
            .stdin(Stdio::null())
            .stdout(log("work"))
            .stderr(log("work"))
            .kill_on_drop(true)
            .spawn()
            .expect("start ace-sync work")
    }

    pub(super) async fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill().await;
            self.kills += 1;
        }
    }

    /// A worker that exits without being killed makes the run meaningless: stop here.
    pub(super) fn assert_alive(&mut self) {
        for child in self.children.iter_mut().flatten() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("an `ace-sync work` process exited by itself ({status}); see work.log");
            }
        }
    }

    pub(super) fn restart_dead(&mut self) {
        for slot in &mut self.children {
            if slot.is_none() {
                *slot = Some(Self::spawn(&self.env));
            }
        }
    }
}

/// Where a process's output goes: `<target>/tmp/chaos/<name>.log`, appended to by every
/// process of that name (a restarted worker's lines follow the killed one's).
pub(super) fn log(name: &str) -> Stdio {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chaos");
    std::fs::create_dir_all(&dir).expect("the log directory");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .expect("a log file");
    Stdio::from(file)
}
