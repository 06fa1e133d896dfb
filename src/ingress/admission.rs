//! Bounds on what the ingress holds at once, over every request: bytes of bodies being read
//! and parsed, and notifications being queued. A request that would pass either bound is
//! refused at once (503, so Salesforce retries it) instead of being buffered, which keeps the
//! process's memory bounded whatever arrives.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shared bounds; clones share them.
#[derive(Debug, Clone)]
pub struct Admission {
    bytes: Arc<Semaphore>,
    notifications: Arc<Semaphore>,
    max_bytes: usize,
    max_notifications: usize,
}

/// Which bound a request would have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ingress holds its limit of {limit} {what} in flight")]
pub struct Overloaded {
    pub what: &'static str,
    pub limit: usize,
}

/// A share of a bound, given back when dropped.
#[derive(Debug, Default)]
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
    amount: usize,
}

impl Held {
    /// How much of the bound this holds.
    pub fn amount(&self) -> usize {
        self.amount
    }

    /// Adds `other` to this share.
    pub fn merge(&mut self, other: Held) {
        self.amount += other.amount;
        match (&mut self.permit, other.permit) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

impl Admission {
    pub fn new(max_notifications: usize, max_bytes: usize) -> Self {
        let max_bytes = max_bytes.min(u32::MAX as usize);
        let max_notifications = max_notifications.min(u32::MAX as usize);
        Self {
            bytes: Arc::new(Semaphore::new(max_bytes)),
            notifications: Arc::new(Semaphore::new(max_notifications)),
            max_bytes,
            max_notifications,
        }
    }

    /// Takes `amount` bytes of the body bound, or says it is full.
    pub fn bytes(&self, amount: usize) -> Result<Held, Overloaded> {
        take(
            &self.bytes,
            amount,
            "bytes of message bodies",
            self.max_bytes,
        )
    }

    /// Takes `amount` notifications of the queueing bound, or says it is full.
    pub fn notifications(&self, amount: usize) -> Result<Held, Overloaded> {
        take(
            &self.notifications,
            amount,
            "notifications",
            self.max_notifications,
        )
    }

    /// Notifications being queued now.
    pub fn notifications_in_flight(&self) -> usize {
        self.max_notifications - self.notifications.available_permits()
    }

    /// Bytes of bodies being read or parsed now.
    pub fn bytes_in_flight(&self) -> usize {
        self.max_bytes - self.bytes.available_permits()
    }
}

fn take(
    semaphore: &Arc<Semaphore>,
    amount: usize,
    what: &'static str,
    limit: usize,
) -> Result<Held, Overloaded> {
    if amount == 0 {
        return Ok(Held::default());
    }
    let overloaded = Overloaded { what, limit };
    let permits = u32::try_from(amount).map_err(|_| overloaded)?;
    let permit = semaphore
        .clone()
        .try_acquire_many_owned(permits)
        .map_err(|_| overloaded)?;
    Ok(Held {
        permit: Some(permit),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_refused_past_the_bound_and_given_back_when_dropped() {
        let admission = Admission::new(100, 1000);
        let first = admission.notifications(60).unwrap();
        assert_eq!(admission.notifications_in_flight(), 60);
        assert_eq!(
            admission.notifications(41).unwrap_err(),
            Overloaded {
                what: "notifications",
                limit: 100
            }
        );
        let second = admission.notifications(40).unwrap();
        drop(first);
        assert_eq!(admission.notifications_in_flight(), 40);
        drop(second);
        assert_eq!(admission.notifications_in_flight(), 0);
        assert!(admission.notifications(100).is_ok());
    }

    #[test]
    fn shares_merge_and_are_given_back_together() {
        let admission = Admission::new(100, 1000);
        let mut held = admission.bytes(0).unwrap();
        held.merge(admission.bytes(300).unwrap());
        held.merge(admission.bytes(500).unwrap());
        assert_eq!(held.amount(), 800);
        assert_eq!(admission.bytes_in_flight(), 800);
        assert!(admission.bytes(201).is_err());
        drop(held);
        assert_eq!(admission.bytes_in_flight(), 0);
    }
}
