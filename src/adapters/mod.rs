//! One real implementation per port, plus the embedded in-memory queue.

pub mod batcher;
pub mod dynamodb_quota;
pub mod dynamodb_sweep;
pub mod memory_queue;
pub mod partner_central;
pub mod salesforce;
pub mod sqs;
