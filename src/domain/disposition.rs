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
    /// A failure that retrying cannot fix, recorded where someone can act on it (the
    /// record): delete.
    Permanent { reason: String },
    /// A problem with the deployment (credentials, permissions, the org): the message is
    /// kept and comes back after the longest back-off, until an operator fixes it or it is
    /// parked in the dead-letter queue.
    Outage { reason: String },
    /// A message that can neither be processed nor recorded anywhere a person would look
    /// (it cannot be read): parked in the dead-letter queue now, with the reason.
    DeadLetter { reason: String },
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

/// What kind of deployment problem an outage is, by who fixes it and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutageKind {
    /// The connected app, its certificate, the integration user, or the org id: Salesforce
    /// refuses to sign us in, or signs us in to an org we do not serve.
    SalesforceAuth,
    /// Signed in, but the integration user may not read or write what it must (fields
    /// missing or not visible, sharing).
    SalesforceAccess,
    /// Partner Central refuses the account or role (IAM, the partner's benefits, the
    /// catalog), or a setting it must know (a solution id) is wrong.
    PartnerCentralAccess,
    /// An answer or a job this version cannot use: an operator must look.
    Unexpected,
}

impl OutageKind {
    pub fn label(self) -> &'static str {
        match self {
            OutageKind::SalesforceAuth => "salesforce_auth",
            OutageKind::SalesforceAccess => "salesforce_access",
            OutageKind::PartnerCentralAccess => "partner_central_access",
            OutageKind::Unexpected => "unexpected",
        }
    }

    pub const ALL: [OutageKind; 4] = [
        OutageKind::SalesforceAuth,
        OutageKind::SalesforceAccess,
        OutageKind::PartnerCentralAccess,
        OutageKind::Unexpected,
    ];
}
