//! ace-sync keeps Salesforce opportunities and AWS Partner Central (ACE) in step.
//!
//! Salesforce outbound messages arrive at the [`ingress`], which acknowledges them only once
//! they are durably on a queue; workers read the queue and talk to ACE and Salesforce through
//! the [`ports`]. Salesforce Flows call the [`api`] (check with ACE, sync now, ACE status)
//! through an External Service. See README.md for the whole flow.

pub mod ace;
pub mod adapters;
pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod health;
pub mod ingress;
pub mod metrics;
pub mod ops;
pub mod ports;
pub mod secret;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod worker;
