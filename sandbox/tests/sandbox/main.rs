//! The sandbox crate's tests: the simulators on the wire (driven by the real AWS SDK client
//! and by third-party clients), and the demo through the real development binary.

mod demo;
mod partner_central_sim;
mod rules_agree;
mod salesforce_clients;
mod salesforce_records;

/// Lets the moved modules keep naming `crate::helpers::{env, sqs}`.
mod helpers {
    pub use ace_sync_sandbox::testkit::{env, sqs};
}
