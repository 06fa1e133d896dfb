//! The integration tests: one binary, one module per area.

mod demo;
mod helpers;
mod ingress;
mod openapi;
mod queue_contract;
mod salesforce;
