//! Operator commands that work on a running deployment's queues and both sides: the
//! dead-letter queue ([`dlq`]). Each is a library function the CLI calls, so tests drive the
//! same code on moto.

pub mod dlq;
