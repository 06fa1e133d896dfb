//! Shared test harness: the environment the test command sets up, a real SQS-compatible
//! server (moto) reached through the real aws-sdk-sqs client, and running instances of the
//! application.

pub mod app;
pub mod dynamodb;
pub mod fixtures;
pub mod world;

pub use ace_sync_sandbox::testkit::{env, sqs};
