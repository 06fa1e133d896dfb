//! What the settings point at, loaded and checked exactly as start does: the mapping (a file,
//! its text, or the embedded default; parsed and checked against AWS's service model) and the
//! Salesforce private key (read and parsed). `ace-sync config check` and start share these
//! functions, so the check cannot call valid what start would refuse.
//!
//! Also the settings a production deployment should not keep: the ones still at the values
//! the embedded demo uses. They are warnings, not errors: the demo runs on them.

use crate::ace::mapping::{self, Mapping, MappingError};
use crate::ace::model::ServiceModel;
use crate::ace::opportunity::Catalog;
use crate::secret::Secret;

use super::Settings;

/// The org id of the embedded demo and the Salesforce simulator.
const DEMO_ORG_ID: &str = "00D5g00000ABCde";

/// The Sandbox catalog's test solution, which the embedded default mapping associates.
const SANDBOX_TEST_SOLUTION: &str = "S-1234567";

/// A setting still at a value meant for the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDefault {
    /// The dotted key, e.g. `ace.catalog`.
    pub key: &'static str,
    /// What is wrong with it, in an operator's words.
    pub message: String,
}

impl Settings {
    /// The mapping the workers use: `ace.mapping_file`, `ace.mapping` or the embedded default,
    /// with `ace.solution_ids` applied, checked against AWS's service model. Every problem is
    /// returned, each naming the setting it came from.
    pub fn load_mapping(&self, model: &ServiceModel) -> Result<Mapping, Vec<String>> {
        let (key, parsed) = match (&self.ace.mapping_file, &self.ace.mapping) {
            (Some(path), _) => ("ace.mapping_file", Mapping::from_file(path)),
            (None, Some(text)) => ("ace.mapping", Mapping::parse(text)),
            (None, None) => (
                "the embedded default mapping",
                Ok(Mapping::default_mapping()),
            ),
        };
        let mapping = parsed.map_err(|e| match e {
            MappingError::Invalid { problems } => problems
                .into_iter()
                .map(|problem| format!("key `{key}`: {problem}"))
                .collect(),
            other => vec![format!(
                "key `{key}`: {}",
                crate::telemetry::error_chain(&other)
            )],
        })?;
        let mapping = mapping.with_solutions(self.ace.solution_ids.clone());
        let problems: Vec<String> = mapping::check(&mapping, model)
            .iter()
            .map(|problem| format!("key `{key}`: {problem}"))
            .collect();
        if problems.is_empty() {
            Ok(mapping)
        } else {
            Err(problems)
        }
    }

    /// The connected app's private key as PEM text (`salesforce.private_key`, or the file
    /// `salesforce.private_key_path` names), parsed as the RSA key the JWT bearer flow signs
    /// with. `None` when neither is set. The problem never contains the key.
    pub fn load_private_key(&self) -> Result<Option<Secret>, String> {
        let sf = &self.salesforce;
        let (key, pem) = match (&sf.private_key, &sf.private_key_path) {
            (Some(pem), _) => ("salesforce.private_key", pem.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "key `salesforce.private_key_path`: cannot read {}: {e}",
                        path.display()
                    )
                })?;
                ("salesforce.private_key_path", Secret::new(text))
            }
            (None, None) => return Ok(None),
        };
        jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes()).map_err(|e| {
            format!(
                "key `{key}`: not an RSA private key in PEM form (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`): {e}"
            )
        })?;
        Ok(Some(pem))
    }

    /// What a role refuses to start with, whatever else is set: safe defaults for production.
    /// `embedded_queue` is true where the in-memory queue may stand in for SQS (`ace-sync
    /// all`, which consumes what it queues; the demo).
    pub fn safety_problems(&self, serves: bool, works: bool, embedded_queue: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if (serves || works) && !embedded_queue && self.queue.changes_queue_url.is_none() {
            problems.push(
                "key `queue.changes_queue_url` (ACE_SYNC_QUEUE__CHANGES_QUEUE_URL): `serve` and `work` need the SQS FIFO queue they share; the embedded in-memory queue is for `ace-sync all` and the demo only, since no other process can read it and nothing on it survives a restart"
                    .to_owned(),
            );
        }
        if (serves || works) && self.salesforce.org_ids.is_empty() {
            problems.push(
                "key `salesforce.org_ids` (ACE_SYNC_SALESFORCE__ORG_IDS): list your Salesforce organization id (00D…): the ingress accepts outbound messages from it only, and the workers sign in to it only"
                    .to_owned(),
            );
        }
        if serves && !self.http.host.is_loopback() && self.ingress.shared_secret.is_none() {
            problems.push(format!(
                "key `ingress.shared_secret` (ACE_SYNC_INGRESS__SHARED_SECRET): the ingress listens on {} and must then require a shared secret, or anyone who can reach it and knows an org id (not a secret) can spend your org's API calls; set one (in the outbound message's URL path or the X-Ace-Sync-Secret header), or listen on a loopback address",
                self.http.host
            ));
        }
        problems
    }

    /// Everything start would refuse beyond the settings themselves: for a process that runs
    /// workers, a complete Salesforce client, a key that parses and a sound mapping; for any
    /// process, a key that parses when one is given.
    pub fn runtime_problems(&self, runs_workers: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if runs_workers && !self.salesforce.client_configured() {
            problems.push(
                "key `salesforce.consumer_key`, `salesforce.username` and `salesforce.private_key_path` (or `salesforce.private_key`): the workers need a Salesforce client (see the README's Setting up Salesforce)"
                    .to_owned(),
            );
        }
        if let Err(problem) = self.load_private_key() {
            problems.push(problem);
        }
        if runs_workers {
            match ServiceModel::load() {
                Ok(model) => {
                    if let Err(mapping_problems) = self.load_mapping(&model) {
                        problems.extend(mapping_problems);
                    }
                }
                Err(e) => problems.push(format!(
                    "AWS's service model cannot be loaded: {}",
                    crate::telemetry::error_chain(&e)
                )),
            }
        }
        problems
    }

    /// The settings still at values meant for the demo or a test, which a production
    /// deployment should change. Logged as warnings at start; `config check` lists them.
    pub fn demo_defaults(&self, runs_workers: bool, runs_ingress: bool) -> Vec<DemoDefault> {
        let mut found = Vec::new();
        let mut warn =
            |key: &'static str, message: String| found.push(DemoDefault { key, message });
        if runs_workers && self.ace.catalog == Catalog::Sandbox {
            warn(
                "ace.catalog",
                "is `Sandbox`: opportunities go to Partner Central's test catalog, not to AWS (set `AWS` for real opportunities)".to_owned(),
            );
        }
        if self
            .salesforce
            .org_ids
            .iter()
            .any(|id| id.as_str().starts_with(DEMO_ORG_ID))
        {
            warn(
                "salesforce.org_ids",
                format!("holds the demo org {DEMO_ORG_ID}: list your own organization id"),
            );
        }
        if runs_workers
            && self.ace.catalog == Catalog::Aws
            && self.ace.solution_ids.is_empty()
            && self.ace.mapping_file.is_none()
            && self.ace.mapping.is_none()
        {
            warn(
                "ace.solution_ids",
                format!(
                    "is empty, so the default mapping's {SANDBOX_TEST_SOLUTION} (the Sandbox catalog's test solution) is associated: list your own solutions"
                ),
            );
        }
        if runs_ingress && self.ingress.shared_secret.is_none() {
            warn(
                "ingress.shared_secret",
                "is unset: anyone who learns the endpoint and your org id can queue jobs"
                    .to_owned(),
            );
        }
        for (key, url) in [
            ("ace.endpoint_url", &self.ace.endpoint_url),
            ("queue.endpoint_url", &self.queue.endpoint_url),
        ] {
            if let Some(url) = url {
                warn(
                    key,
                    format!(
                        "points at {url} instead of AWS (meant for simulators and local servers)"
                    ),
                );
            }
        }
        if self.salesforce.login_url.scheme() != "https" {
            warn(
                "salesforce.login_url",
                format!(
                    "{} is not https (meant for the simulator)",
                    self.salesforce.login_url
                ),
            );
        }
        found
    }
}
