//! A local Salesforce org on the wire: the OAuth 2.0 JWT bearer token endpoint, the REST
//! resources the sync uses (SOQL subset, sObject rows, create, upsert and read by External ID,
//! sObject Collections, describe and limits) in the URL forms third-party clients send them,
//! and outbound messages fired by a workflow rule, so the real client, and any other
//! Salesforce client (simple-salesforce is tested), works against it unchanged.
//!
//! [`SalesforceSim::start`] runs one on a port (0 in tests) from a [`Seed`], and the handle
//! gives the URL and credentials, in-process control (create or change a record as a user or
//! as the integration user, fault switches, session expiry) and inspection (records, the
//! request log, the API counter, the delivery log). [`run_standalone`] is `ace-sync sandbox
//! salesforce`.
//!
//! The behaviour follows salesforce.md §1, §3–6 and the captures in shared/samples/salesforce
//! (copied to `testdata/`); the fixtures' ids and the default timings are Salesforce's.

mod handle;
mod http;
mod keys;
pub mod org;
pub mod outbound;
pub mod schema;
mod seed;
pub mod soql;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use url::Url;

pub use handle::SalesforceSim;
pub use keys::KeyPair;
pub use org::{Faults, LoggedRequest, Record, SimUser};
pub use outbound::{
    DeliveryAttempt, DeliveryOutcome, NotificationState, NotificationStatus, OutboundConfig,
};
pub use schema::Rejection;
pub use seed::{Seed, SeedRecord};

/// The OAuth grant type of the JWT bearer flow.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// sObject Collections' per-call record limit.
const COLLECTIONS_MAX_RECORDS: usize = 200;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on port {port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot generate or read the connected app's RSA key: {0}")]
    Key(String),
    #[error("cannot write the key pair to {path}")]
    KeyFiles {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub seed: Seed,
    /// The connected app's key pair; a fresh one when `None`.
    pub key: Option<KeyPair>,
    /// Idle time after which a session is invalid (Salesforce's default: 2 h).
    pub session_timeout: Duration,
    /// REST calls allowed before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// Records per query page before `nextRecordsUrl` (Salesforce: 2000).
    pub query_page_size: usize,
    /// The outbound message and its rule; none when `None`.
    pub outbound: Option<OutboundConfig>,
    /// A My Domain URL accepted as JWT audience besides login/test and the simulator's URL.
    pub my_domain_url: Option<Url>,
}

impl SimConfig {
    pub fn new(seed: Seed) -> SimConfig {
        SimConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed,
            key: None,
            session_timeout: Duration::from_secs(2 * 3600),
            daily_api_limit: 15_000,
            query_page_size: 2000,
            outbound: None,
            my_domain_url: None,
        }
    }
}

/// What the HTTP handlers and the sender share.
struct Shared {
    org: Mutex<org::Org>,
    /// Wakes the outbound sender when something may have been queued.
    wake: Notify,
    /// Bumped after every REST call and every delivery attempt, for waiting in tests.
    changes: watch::Sender<u64>,
    base_url: Url,
    public_key: DecodingKey,
    audiences: Vec<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, org::Org> {
        self.org
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

/// `ace-sync sandbox salesforce`: the small org on `port`, optionally sending outbound
/// messages to `outbound_endpoint`, until `shutdown`. Prints how to connect.
pub async fn run_standalone(
    port: u16,
    outbound_endpoint: Option<Url>,
    shutdown: CancellationToken,
) -> Result<(), SimError> {
    let mut config = SimConfig::new(Seed::small());
    config.port = port;
    config.outbound = outbound_endpoint.map(OutboundConfig::new);
    let sim = SalesforceSim::start(config).await?;
    println!("Salesforce simulator listening on {}", sim.base_url());
    println!("  org id:        {}", sim.org_id());
    println!("  consumer key:  {}", sim.consumer_key());
    println!("  username:      {}", sim.username());
    println!("  private key:   {}", sim.private_key_path().display());
    println!("  public key:    {}", sim.public_key_path().display());
    println!("Settings for ace-sync:\n{}", sim.settings_toml());
    println!(
        "Move a stage as a sales rep (fires the outbound message when --outbound-endpoint is set):\n  \
         curl -X PATCH -H 'Content-Type: application/json' -d '{{\"StageName\":\"Closed Won\"}}' \\\n    \
         {}/__sim/as/rep@acme.example/sobjects/Opportunity/0065g00000QrStUAAV",
        sim.base_url().as_str().trim_end_matches('/')
    );
    shutdown.cancelled().await;
    sim.stop().await;
    Ok(())
}
