//! The sync's own vocabulary. Nothing here knows about HTTP, SQS or an SDK.

pub mod disposition;
pub mod ids;
pub mod job;
// AWS referrals: the invitation job (worker/referrals).
pub mod lane;
pub mod referral;
pub mod sobject;
