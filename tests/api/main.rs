//! The integration tests: one binary, one module per area.

mod ace_mapping;
mod backfill;
mod batcher;
mod deploy;
mod e2e;
mod flow_api;
mod helpers;
mod ingress;
mod openapi;
mod outages;
mod partner_central_client;
mod production_build;
mod queue_contract;
mod quota;
mod reconcile;
mod referrals;
mod roles;
mod salesforce;
mod sqs_faults;
mod sweep;
mod two_workers;
