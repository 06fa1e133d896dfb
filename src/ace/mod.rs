//! What ace-sync knows about ACE, as data and pure functions: AWS's service model, the mapping
//! from a Salesforce record to an ACE opportunity, and the pre-flight check.

pub mod model;
