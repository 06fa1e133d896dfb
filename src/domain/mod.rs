//! The sync's own vocabulary. Nothing here knows about HTTP, SQS or an SDK.

pub mod disposition;
pub mod ids;
pub mod job;
pub mod lane;
pub mod sobject;
