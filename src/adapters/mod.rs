//! One real implementation per port, plus the embedded in-memory queue.

pub mod batcher;
pub mod memory_queue;
pub mod partner_central;
pub mod salesforce;
pub mod sqs;
