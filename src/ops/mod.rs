//! Operator commands that work on a running deployment's queues and both sides: the
//! dead-letter queue ([`dlq`]), the first load ([`backfill`]), and the drift report and manual
//! reconciles ([`drift`]). Each is a library function the CLI calls, so tests drive the same
//! code on moto and the simulators.

pub mod backfill;
pub mod dlq;
pub mod drift;
