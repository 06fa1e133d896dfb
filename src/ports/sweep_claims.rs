//! Which worker process sweeps a time bucket. Every replica wakes at the start of every bucket;
//! the deduplication ids keep the queue from holding a record twice, but each sweep lists both
//! sides, and ACE's read quota is the account's, not the process's. A claim lets the first
//! replica sweep and the others stand down.

use std::fmt::Debug;

use async_trait::async_trait;

#[async_trait]
pub trait SweepClaims: Send + Sync + Debug {
    /// Claims `bucket` of the org `org` for this process: `Ok(true)` when no replica has
    /// claimed it (or a later one) yet. An `Err` says the claim could not be made; the caller
    /// sweeps anyway, since a second sweep costs reads and a missed one loses coverage.
    async fn claim(&self, org: &str, bucket: i64) -> Result<bool, String>;
}
