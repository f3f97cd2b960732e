//! Test support for syncbridge: a simulated process engine that speaks
//! Corezoid's API on loopback, a launcher for the real worker under workerd,
//! and a client that signs Sync API calls from the documented formula.

pub mod client;
pub mod engine;
pub mod receiver;
pub mod worker;

/// A name no other call in this process (or another test process) gets:
/// tests tag what they create with it, to find their own records.
pub fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
