//! What each subcommand does, once `main` has parsed the command line and loaded settings.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::startup::{Application, StartupError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("the HTTP server failed")]
    Server(#[source] std::io::Error),
    #[error("{url} answered {status}")]
    Unhealthy { url: String, status: u16 },
    #[error("cannot reach {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// `ace-sync serve`: the ingress, until SIGTERM or Ctrl-C.
pub async fn serve(settings: Settings) -> Result<(), CommandError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let app = Application::build(settings).await?;
    app.run_until_stopped(shutdown)
        .await
        .map_err(CommandError::Server)?;
    tracing::info!("stopped");
    Ok(())
}

/// `ace-sync sandbox salesforce`: the simulated org, until SIGTERM or Ctrl-C.
pub async fn sandbox_salesforce(
    port: u16,
    outbound_endpoint: Option<url::Url>,
) -> Result<(), crate::sim::salesforce::SimError> {
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    crate::sim::salesforce::run_standalone(port, outbound_endpoint, shutdown).await
}

/// `ace-sync openapi`: the OpenAPI document, as committed in `openapi.yaml`.
pub fn openapi() -> String {
    crate::ingress::openapi::yaml()
}

/// `ace-sync healthcheck`: succeeds when `url` answers 2xx within `timeout`. Container
/// health checks use it, so the image needs no curl.
pub async fn healthcheck(url: &str, timeout: Duration) -> Result<(), CommandError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|source| CommandError::Unreachable {
            url: url.to_owned(),
            source,
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(CommandError::Unhealthy {
            url: url.to_owned(),
            status: response.status().as_u16(),
        })
    }
}
