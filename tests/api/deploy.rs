//! Deployment: what `deploy/` ships (CloudFormation, Kubernetes, Salesforce metadata,
//! dashboards and alerts) checked offline against the code, and configuration fit for
//! containers, checked on the real binary.

mod aws;
mod config;
mod iam;
mod kubernetes;
mod observability;
mod salesforce_flows;
mod salesforce_metadata;
mod support;
mod yaml;
