//! What the test suites of both crates share: the environment `scripts/test` sets up, and a
//! real SQS-compatible server (moto) reached through the real aws-sdk-sqs client.

pub mod env;
pub mod sqs;
pub mod sqs_server;
