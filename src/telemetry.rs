//! Logging: one `tracing` subscriber, JSON for pipelines or pretty for people.
//!
//! Spans carry the Salesforce record id, notification id and ACE id as fields, so one record
//! can be followed across the ingress and the workers. Secrets never reach a log line: the
//! types that hold them print `[redacted]`, and the outbound message's `SessionId` is dropped
//! while parsing.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::{LogFormat, TelemetrySettings};

/// A subscriber writing to `sink`.
pub fn subscriber<W>(settings: &TelemetrySettings, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // The filter was checked when the settings were loaded.
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    match settings.format {
        LogFormat::Json => Box::new(
            Registry::default().with(filter).with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(sink),
            ),
        ),
        LogFormat::Pretty => Box::new(
            Registry::default().with(filter).with(
                tracing_subscriber::fmt::layer()
                    .with_target(true)
                    .with_writer(sink),
            ),
        ),
    }
}

/// Installs the process-wide subscriber, writing to stdout. Call once, from `main`.
pub fn init(settings: &TelemetrySettings) {
    let subscriber = subscriber(settings, std::io::stdout);
    // Fails only if a subscriber is already installed, in which case that one stays.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// [`init`] for the operator commands, whose standard output is their report: logs go to
/// standard error.
pub fn init_for_command(settings: &TelemetrySettings) {
    let subscriber = subscriber(settings, std::io::stderr);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// An error and its sources, joined: what a log line should show.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
