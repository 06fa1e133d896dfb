//! One real implementation per port, plus the embedded in-memory queue.

pub mod memory_queue;
pub mod sqs;
