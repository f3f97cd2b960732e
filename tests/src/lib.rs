//! Test support for syncbridge: a simulated process engine that speaks
//! Corezoid's API on loopback, a launcher for the real worker under workerd,
//! and a client that signs Sync API calls from the documented formula.

pub mod client;
pub mod engine;
pub mod receiver;
pub mod worker;
