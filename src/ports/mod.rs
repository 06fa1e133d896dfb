//! The seams between the sync's logic and the outside world. Ingress and workers depend on
//! these traits only; `startup` alone picks the adapters that implement them.

pub mod lanes;
pub mod partner_central;
pub mod queue;
pub mod salesforce;
pub mod sweep_claims;
