//! What became of one unit of work, in the terms the queue understands.

use std::time::Duration;

/// The outcome of processing a queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Finished (or nothing to do): delete the message.
    Done,
    /// Not a failure, but not yet: make the message visible again after exactly `after` (a
    /// job that must not run before a given time).
    Later { after: Duration },
    /// A transient failure: make the message visible again after `after`.
    Retry { after: Duration, reason: String },
    /// A failure that retrying cannot fix: record it where someone can act on it, then delete.
    Permanent { reason: String },
}

/// Whether an error is worth retrying. Adapters classify their errors at the seam so the
/// worker never has to inspect an SDK's error type.
pub trait Classify {
    /// `Some(hint)` when a retry may succeed, with the delay the remote side asked for, if any.
    fn retry_hint(&self) -> Option<Option<Duration>>;

    fn is_retryable(&self) -> bool {
        self.retry_hint().is_some()
    }
}
