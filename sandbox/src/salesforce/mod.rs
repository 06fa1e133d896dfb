//! A local Salesforce org on the wire: the OAuth 2.0 JWT bearer token endpoint, the REST
//! resources the sync uses (SOQL subset, sObject rows, sObject Collections), and outbound
//! messages fired by a workflow rule, so the real client, and any other Salesforce client,
//! works against it unchanged.
//!
//! [`SalesforceSim::start`] runs one on a port (0 in tests) from a [`Seed`], and the handle
//! gives the URL and credentials, in-process control (change a record as a user or as the
//! integration user, fault switches, session expiry) and inspection (records, the request log,
//! the API counter, the delivery log). [`run_standalone`] is `ace-sync sandbox salesforce`.
//!
//! The behaviour follows salesforce.md §1, §3–6 and the captures in shared/samples/salesforce
//! (copied to `testdata/`); the fixtures' ids and the default timings are Salesforce's.

mod http;
pub mod org;
pub mod outbound;
pub mod schema;
pub mod soql;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use ace_sync::domain::ids::{SfOrgId, SfRecordId, SfUserId};
use ace_sync::domain::sobject::{Decimal, FieldValue, parse_date};
use ace_sync::secret::Secret;
pub use org::{Faults, LoggedRequest, Record, SimUser};
pub use outbound::{
    DeliveryAttempt, DeliveryOutcome, NotificationState, NotificationStatus, OutboundConfig,
};
pub use schema::Rejection;

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

/// The connected app's RSA key pair, PEM-encoded (PKCS#8 private key, SPKI public key).
#[derive(Clone)]
pub struct KeyPair {
    private_pem: Secret,
    public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair { private: [redacted], .. }")
    }
}

impl KeyPair {
    /// A fresh RSA 2048 key pair.
    pub fn generate() -> Result<KeyPair, SimError> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| SimError::Key(e.to_string()))?;
        let private = key.as_der().map_err(|e| SimError::Key(e.to_string()))?;
        let public = key
            .public_key()
            .as_der()
            .map_err(|e| SimError::Key(e.to_string()))?;
        Ok(KeyPair {
            private_pem: Secret::new(pem::encode(&pem::Pem::new("PRIVATE KEY", private.as_ref()))),
            public_pem: pem::encode(&pem::Pem::new("PUBLIC KEY", public.as_ref())),
        })
    }

    pub fn private_pem(&self) -> &Secret {
        &self.private_pem
    }

    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

/// What the org holds at start.
#[derive(Debug, Clone)]
pub struct Seed {
    pub org_id: SfOrgId,
    /// The connected app's consumer key.
    pub consumer_key: String,
    /// The user ace-sync signs in as.
    pub integration_user: SimUser,
    /// Other users (sales reps).
    pub users: Vec<SimUser>,
    pub records: Vec<SeedRecord>,
}

/// A record at start, created by the first user other than the integration user.
#[derive(Debug, Clone)]
pub struct SeedRecord {
    pub sobject_type: &'static str,
    pub id: SfRecordId,
    pub fields: BTreeMap<String, FieldValue>,
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_owned())
}

fn number(s: &str) -> FieldValue {
    FieldValue::Number(Decimal::parse(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

fn date(s: &str) -> FieldValue {
    FieldValue::Date(parse_date(s).unwrap_or_else(|| unreachable!("a valid literal")))
}

fn id<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| unreachable!("seed ids are valid literals"))
}

impl Seed {
    /// An org with users and no records.
    pub fn empty() -> Seed {
        Seed {
            // The sample org of salesforce.md, also the default `salesforce.org_ids`.
            org_id: id("00D5g00000ABCdeEAH"),
            consumer_key: "3MVG9sim.ace-sync.connected-app".to_owned(),
            integration_user: SimUser {
                id: id("0055g00000IntUsAAJ"),
                username: "ace-sync@acme.example".to_owned(),
            },
            users: vec![SimUser {
                id: id("0055g00000UsrAbAAJ"),
                username: "rep@acme.example".to_owned(),
            }],
            records: Vec::new(),
        }
    }

    /// A small org: two accounts and the three opportunities of the samples.
    pub fn small() -> Seed {
        let mut seed = Seed::empty();
        let record = |sobject_type, raw_id: &str, fields: &[(&str, FieldValue)]| SeedRecord {
            sobject_type,
            id: id(raw_id),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        };
        seed.records = vec![
            record(
                "Account",
                "0015g00000LmNoPAAV",
                &[
                    ("Name", text("Acme Corporation")),
                    ("Website", text("https://acme.example")),
                    ("BillingStreet", text("1 Main Street")),
                    ("BillingCity", text("Berlin")),
                    ("BillingPostalCode", text("10115")),
                    ("BillingCountry", text("Germany")),
                    ("BillingCountryCode", text("DE")),
                    ("Industry", text("Manufacturing")),
                ],
            ),
            record(
                "Account",
                "0015g00000GlBxRAAV",
                &[
                    ("Name", text("Globex")),
                    ("Website", text("https://globex.example")),
                    ("BillingCity", text("Springfield")),
                    ("BillingState", text("Oregon")),
                    ("BillingStateCode", text("OR")),
                    ("BillingPostalCode", text("97403")),
                    ("BillingCountry", text("United States")),
                    ("BillingCountryCode", text("US")),
                    ("Industry", text("Technology")),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStUAAV",
                &[
                    ("Name", text("Acme - Data Platform Migration")),
                    ("AccountId", text("0015g00000LmNoPAAV")),
                    ("StageName", text("Proposal/Price Quote")),
                    ("Amount", number("125000")),
                    ("CloseDate", date("2026-09-30")),
                    ("Description", text("Phase 1 & 2 <pilot>\nsecond line")),
                    ("LeadSource", text("Partner Referral")),
                    ("Type", text("New Customer")),
                    ("ACE_Sync__c", FieldValue::Bool(false)),
                    (
                        "Use_Cases__c",
                        FieldValue::Multi(vec!["Migration".into(), "Analytics".into()]),
                    ),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStVAAV",
                &[
                    ("Name", text("Acme - Renewal FY27")),
                    ("AccountId", text("0015g00000LmNoPAAV")),
                    ("StageName", text("Negotiation/Review")),
                    ("Amount", number("48000.5")),
                    ("CloseDate", date("2026-08-14")),
                ],
            ),
            record(
                "Opportunity",
                "0065g00000QrStWAAV",
                &[
                    ("Name", text("Globex - Pilot")),
                    ("AccountId", text("0015g00000GlBxRAAV")),
                    ("StageName", text("Qualification")),
                    ("CloseDate", date("2026-08-14")),
                ],
            ),
        ];
        seed
    }
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

/// A running simulator. Dropping it stops the server and removes the key files.
pub struct SalesforceSim {
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    cancel: CancellationToken,
    keys: KeyPair,
    key_dir: PathBuf,
    consumer_key: String,
    integration_user: SimUser,
    other_users: Vec<SimUser>,
}

impl std::fmt::Debug for SalesforceSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceSim")
            .field("base_url", &self.shared.base_url.as_str())
            .finish_non_exhaustive()
    }
}

fn write_key_files(keys: &KeyPair) -> Result<PathBuf, SimError> {
    let dir = std::env::temp_dir().join(format!("ace-sync-sf-sim-{:016x}", fastrand::u64(..)));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SimError::KeyFiles { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let private = dir.join("private_key.pem");
    std::fs::write(&private, keys.private_pem().expose()).map_err(io(&private))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&private))?;
    }
    let public = dir.join("public_key.pem");
    std::fs::write(&public, keys.public_pem()).map_err(io(&public))?;
    Ok(dir)
}

impl SalesforceSim {
    /// Starts the server (and the outbound sender, when configured) on the current runtime.
    pub async fn start(config: SimConfig) -> Result<SalesforceSim, SimError> {
        let keys = match config.key {
            Some(keys) => keys,
            None => KeyPair::generate()?,
        };
        let public_key = DecodingKey::from_rsa_pem(keys.public_pem().as_bytes())
            .map_err(|e| SimError::Key(e.to_string()))?;
        let listener =
            std::net::TcpListener::bind((config.host, config.port)).map_err(|source| {
                SimError::Bind {
                    port: config.port,
                    source,
                }
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| SimError::Bind {
                port: config.port,
                source,
            })?
            .port();
        let host = match config.host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let base_url = Url::parse(&format!("http://{host}:{port}"))
            .map_err(|e| SimError::Key(format!("base URL: {e}")))?;
        let mut audiences = vec![
            "https://login.salesforce.com".to_owned(),
            "https://test.salesforce.com".to_owned(),
            base_url.as_str().trim_end_matches('/').to_owned(),
        ];
        if let Some(domain) = &config.my_domain_url {
            audiences.push(domain.as_str().trim_end_matches('/').to_owned());
        }
        let seed = config.seed;
        let has_outbound = config.outbound.is_some();
        let mut org = org::Org::new(
            seed.org_id.clone(),
            seed.consumer_key.clone(),
            seed.integration_user.clone(),
            seed.users.clone(),
            config.outbound,
        );
        org.session_timeout = config.session_timeout;
        org.daily_api_limit = config.daily_api_limit;
        org.query_page_size = config.query_page_size;
        let creator = seed
            .users
            .first()
            .map(|u| u.id.clone())
            .unwrap_or_else(|| seed.integration_user.id.clone());
        for record in seed.records {
            let sobject_type = org
                .schema
                .object(record.sobject_type)
                .map(|o| o.name)
                .unwrap_or(record.sobject_type);
            org.insert(sobject_type, record.id, record.fields, &creator);
        }
        let key_dir = write_key_files(&keys)?;
        let shared = Arc::new(Shared {
            org: Mutex::new(org),
            wake: Notify::new(),
            changes: watch::channel(0).0,
            base_url,
            public_key,
            audiences,
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .configure(http::routes)
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .map_err(|source| SimError::Bind { port, source })?
        .run();
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        let cancel = CancellationToken::new();
        if has_outbound {
            tokio::spawn(outbound::run(shared.clone(), cancel.clone()));
        }
        Ok(SalesforceSim {
            shared,
            server: handle,
            server_task,
            cancel,
            keys,
            key_dir,
            consumer_key: seed.consumer_key,
            integration_user: seed.integration_user,
            other_users: seed.users,
        })
    }

    /// `http://127.0.0.1:<port>`: login URL, My Domain and instance URL at once.
    pub fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    pub fn org_id(&self) -> SfOrgId {
        self.shared.lock().org_id.clone()
    }

    pub fn consumer_key(&self) -> &str {
        &self.consumer_key
    }

    /// The integration user's username (the JWT `sub`).
    pub fn username(&self) -> &str {
        &self.integration_user.username
    }

    pub fn integration_user_id(&self) -> &SfUserId {
        &self.integration_user.id
    }

    /// A user who is not the integration user: a sales rep, whose edits fire the rule.
    pub fn sales_rep_id(&self) -> &SfUserId {
        self.other_users
            .first()
            .map(|u| &u.id)
            .unwrap_or(&self.integration_user.id)
    }

    pub fn keys(&self) -> &KeyPair {
        &self.keys
    }

    pub fn private_key_path(&self) -> PathBuf {
        self.key_dir.join("private_key.pem")
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.key_dir.join("public_key.pem")
    }

    /// A `[salesforce]` settings layer that points ace-sync at this org.
    pub fn settings_toml(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        format!(
            "[salesforce]\norg_ids = [{}]\nlogin_url = {}\nconsumer_key = {}\nusername = {}\nprivate_key_path = {}\n",
            quote(self.org_id().as_str()),
            quote(self.base_url().as_str()),
            quote(&self.consumer_key),
            quote(self.username()),
            quote(&self.private_key_path().to_string_lossy()),
        )
    }

    /// A record as stored (the Recycle Bin included).
    pub fn record(&self, id: &SfRecordId) -> Option<Record> {
        self.shared.lock().record(id).cloned()
    }

    /// Changes a record as `user` the way a REST PATCH does (field names checked, audit fields
    /// stamped, workflow rule evaluated), e.g. a rep moving the stage. Values are taken as
    /// given, so tests can also set what the schema would refuse.
    pub fn update_as(
        &self,
        user: &SfUserId,
        id: &SfRecordId,
        changes: &[(&str, Option<FieldValue>)],
    ) -> Result<(), Rejection> {
        let result = {
            let mut org = self.shared.lock();
            let object = org
                .record(id)
                .and_then(|r| org.schema.object(r.sobject_type))
                .cloned()
                .ok_or_else(|| {
                    Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
                })?;
            let mut checked = BTreeMap::new();
            for (name, value) in changes {
                let def = object.field(name).ok_or_else(|| {
                    Rejection::new(
                        400,
                        "INVALID_FIELD",
                        format!("No such column '{name}' on sobject of type {}", object.name),
                    )
                })?;
                checked.insert(def.name, value.clone());
            }
            org.update(id, checked, user)
        };
        self.shared.wake.notify_one();
        self.shared.changed();
        result
    }

    /// [`update_as`](Self::update_as) by the sales rep.
    pub fn update_as_user(
        &self,
        id: &SfRecordId,
        changes: &[(&str, Option<FieldValue>)],
    ) -> Result<(), Rejection> {
        let rep = self.sales_rep_id().clone();
        self.update_as(&rep, id, changes)
    }

    /// [`update_as`](Self::update_as) by the integration user.
    pub fn update_as_integration_user(
        &self,
        id: &SfRecordId,
        changes: &[(&str, Option<FieldValue>)],
    ) -> Result<(), Rejection> {
        let user = self.integration_user.id.clone();
        self.update_as(&user, id, changes)
    }

    /// Moves a record to the Recycle Bin.
    pub fn delete(&self, id: &SfRecordId) -> Result<(), Rejection> {
        self.shared.lock().delete(id)
    }

    /// Every session becomes invalid: the next REST call gets `401 INVALID_SESSION_ID`.
    pub fn expire_all_sessions(&self) {
        self.shared.lock().expire_all_sessions();
    }

    /// Changes the fault switches.
    pub fn set_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.lock().faults);
    }

    /// Sets the daily API limit (the counter stays).
    pub fn set_daily_api_limit(&self, limit: u64) {
        self.shared.lock().daily_api_limit = limit;
    }

    /// REST calls counted against the limit so far.
    pub fn api_calls(&self) -> u64 {
        self.shared.lock().api_calls
    }

    /// Token requests received so far (successful or not).
    pub fn token_requests(&self) -> u64 {
        self.shared.lock().token_requests
    }

    /// Every REST request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The outbound message queue, one row per notification.
    pub fn notifications(&self) -> Vec<NotificationStatus> {
        self.shared
            .lock()
            .outbound
            .as_ref()
            .map(|o| o.statuses().to_vec())
            .unwrap_or_default()
    }

    /// Every delivery attempt so far.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.shared
            .lock()
            .outbound
            .as_ref()
            .map(|o| o.log().to_vec())
            .unwrap_or_default()
    }

    /// Waits until `done` holds for the notifications, re-checking after each REST call and
    /// delivery attempt; false if `timeout` passes first.
    pub async fn wait_for_notifications(
        &self,
        timeout: Duration,
        done: impl Fn(&[NotificationStatus]) -> bool,
    ) -> bool {
        self.wait_until(timeout, |sim| done(&sim.notifications()))
            .await
    }

    /// Waits until `done` holds for the org, re-checking after each REST call, delivery
    /// attempt and in-process change; false if `timeout` passes first.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&SalesforceSim) -> bool,
    ) -> bool {
        let mut changes = self.shared.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return done(self),
            }
        }
    }

    /// Stops the server and the sender and removes the key files.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.server.stop(true).await;
        let _ = std::fs::remove_dir_all(&self.key_dir);
    }

    /// Whether the server task is still running.
    pub fn is_running(&self) -> bool {
        !self.server_task.is_finished()
    }
}

impl Drop for SalesforceSim {
    fn drop(&mut self) {
        self.cancel.cancel();
        // Sends the stop command now; the server winds down on its own.
        drop(self.server.stop(false));
        let _ = std::fs::remove_dir_all(&self.key_dir);
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
