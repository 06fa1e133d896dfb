//! What ace-sync knows about ACE, as data and pure functions: AWS's service model, the ACE
//! opportunity as a typed value, the mapping from a Salesforce record to it, AWS's business
//! rules, the pre-flight check, and how an update merges with what ACE holds.

pub mod mapping;
pub mod model;
pub mod opportunity;
pub mod preflight;
pub mod referrals;
pub mod rules;
pub mod update;
