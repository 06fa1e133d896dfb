//! A running simulated org: starting it, what a client needs to connect (URL, credentials,
//! settings), in-process control (changes as a user, faults, session expiry) and inspection
//! (records, requests, the API counter, the outbound queue and its deliveries).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use ace_sync::domain::ids::{SfOrgId, SfRecordId, SfUserId};
use ace_sync::domain::sobject::FieldValue;

use super::keys::{KeyPair, write_key_files};
use super::org::{self, Faults, LoggedRequest, Record, SimUser};
use super::outbound::{self, DeliveryAttempt, NotificationStatus};
use super::schema::Rejection;
use super::{Shared, SimConfig, SimError, http};

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
                .wrap(actix_web::middleware::NormalizePath::trim())
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

    /// The live records of `sobject_type` whose `field` holds `value` (compared as Salesforce
    /// compares External IDs), in creation order: e.g. the opportunity an AWS referral became.
    pub fn find_by(&self, sobject_type: &str, field: &str, value: &str) -> Vec<Record> {
        self.shared
            .lock()
            .find_by(sobject_type, field, value)
            .into_iter()
            .cloned()
            .collect()
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

    /// Creates a record as `user` the way a REST POST does (field names checked, required
    /// fields, unique values, audit fields, workflow rule), e.g. a rep entering a new
    /// opportunity. Values are taken as given, as in [`update_as`](Self::update_as).
    pub fn create_as(
        &self,
        user: &SfUserId,
        sobject_type: &str,
        fields: &[(&str, FieldValue)],
    ) -> Result<SfRecordId, Rejection> {
        let result = {
            let mut org = self.shared.lock();
            let object = org.schema.object(sobject_type).cloned().ok_or_else(|| {
                Rejection::new(404, "NOT_FOUND", "The requested resource does not exist")
            })?;
            let mut checked = BTreeMap::new();
            for (name, value) in fields {
                let def = object.field(name).ok_or_else(|| {
                    Rejection::new(
                        400,
                        "INVALID_FIELD",
                        format!("No such column '{name}' on sobject of type {}", object.name),
                    )
                })?;
                checked.insert(def.name, Some(value.clone()));
            }
            org.create(object.name, checked, user)
        };
        self.shared.wake.notify_one();
        self.shared.changed();
        result
    }

    /// [`create_as`](Self::create_as) by the sales rep.
    pub fn create_as_user(
        &self,
        sobject_type: &str,
        fields: &[(&str, FieldValue)],
    ) -> Result<SfRecordId, Rejection> {
        let rep = self.sales_rep_id().clone();
        self.create_as(&rep, sobject_type, fields)
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
