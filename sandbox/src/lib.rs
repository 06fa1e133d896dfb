//! What ace-sync needs to run without an AWS account or a Salesforce org, and nothing the
//! production service runs: faithful simulators of the two services it talks to, on the wire
//! ([`salesforce`], [`partner_central`]), and the embedded [`demo`].
//!
//! This crate depends on the product library (AWS's service model and its validator, the
//! domain types, the application itself for the demo), never the other way round, so the
//! production build (`cargo build -p ace-sync`) contains none of it. The development binary
//! `ace-sync-dev` is the production command line plus `demo` and `sandbox …`.

pub mod cli;
pub mod demo;
pub mod partner_central;
pub mod salesforce;
pub mod testkit;
