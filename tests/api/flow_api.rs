//! The API Salesforce Flows call ("Check with ACE", "ACE status", "Sync now"), served by a real
//! ingress joined to the whole world (the Salesforce and Partner Central simulators, moto's
//! SQS, a worker driven step by step): its operations, who may call them, the settings it
//! needs, and the OpenAPI 3.0 document Salesforce imports.

mod auth;
mod external_services;
mod operations;
mod settings;

use std::time::Duration;

use ace_sync::config::Settings;
use ace_sync::startup::{Application, Role};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::helpers::env;
use crate::helpers::world::World;

/// A key that may check and read status, not queue work.
pub const CHECK_KEY: &str = "check-key-0123456789abcdefghijklmnop";
/// A key that may do everything.
pub const SYNC_KEY: &str = "sync-key-0123456789abcdefghijklmnopq";
/// The next key of the Flows, being rotated in beside [`CHECK_KEY`].
pub const NEXT_CHECK_KEY: &str = "next-check-key-0123456789abcdefghijk";

/// The `[api]` settings of the tests: the three keys above.
pub fn api_settings() -> String {
    format!(
        "[api]\nenabled = true\ndeadline = \"30s\"\n\
         [api.keys.flows]\nkey = \"{CHECK_KEY}\"\nscopes = [\"check\", \"status\"]\n\
         [api.keys.flows-next]\nkey = \"{NEXT_CHECK_KEY}\"\nscopes = [\"check\", \"status\"]\n\
         [api.keys.admin]\nkey = \"{SYNC_KEY}\"\nscopes = [\"check\", \"status\", \"sync\"]\n"
    )
}

/// An ingress serving the API, on the world's changes queue, Salesforce and Partner Central.
pub struct ApiIngress {
    pub base: String,
    http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for ApiIngress {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An answer: the status and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
    pub www_authenticate: Option<String>,
}

impl ApiIngress {
    pub async fn start(world: &World) -> ApiIngress {
        let base = format!(
            "[http]\nport = 0\nworkers = 1\n[queue]\nchanges_queue_url = \"{}\"\nendpoint_url = \"{}\"\nsend_deadline = \"5s\"\ncall_timeout = \"2s\"\n[ace]\nendpoint_url = \"{}\"\ncatalog = \"Sandbox\"\nretry_base_delay = \"10ms\"\n",
            world.changes.url,
            env::sqs_endpoint(),
            world.pc.endpoint_url()
        );
        let settings =
            Settings::from_toml_layers(&[&base, &world.sf.settings_toml(), &api_settings()])
                .expect("API settings");
        let app = Application::build_role(settings, Role::Serve)
            .await
            .expect("an ingress serving the API");
        let shutdown = CancellationToken::new();
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        ApiIngress {
            base: address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            shutdown,
        }
    }

    /// `method path` with `key` (none: no Authorization header).
    pub async fn call(&self, method: &str, path: &str, key: Option<&str>) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "get" | "GET" => self.http.get(url),
            "post" | "POST" => self.http.post(url),
            other => panic!("no {other} in the API"),
        };
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the ingress answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{method} {path} answered {status} with non-JSON {text:?}: {e}")
        });
        Answer {
            status,
            body,
            content_type,
            www_authenticate,
        }
    }

    pub async fn check(&self, id: &str, query: &str, key: &str) -> Answer {
        self.call(
            "GET",
            &format!("/api/v1/opportunities/{id}/check{query}"),
            Some(key),
        )
        .await
    }

    pub async fn status(&self, id: &str, key: &str) -> Answer {
        self.call(
            "GET",
            &format!("/api/v1/opportunities/{id}/status"),
            Some(key),
        )
        .await
    }

    pub async fn sync(&self, id: &str, key: &str) -> Answer {
        self.call(
            "POST",
            &format!("/api/v1/opportunities/{id}/sync"),
            Some(key),
        )
        .await
    }

    /// One sample of /metrics (0 when absent).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(sample).map(str::trim))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }
}
