//! Test support for syncbridge: a simulated process engine that speaks
//! Corezoid's API on loopback ([`engine`]), a receiver of outbound callbacks
//! ([`receiver`]), a launcher for the real worker under workerd ([`worker`]),
//! a client that signs Sync API calls from the documented formula
//! ([`client`]), and the end-to-end harness built on them ([`harness`]).
//! The load generators (`bench/loadgen`) and `make dev`'s demo engine use
//! it too.

pub mod client;
pub mod engine;
pub mod harness;
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

/// Asserts `result` is a [`RestError`](syncbridge_core::error::RestError)
/// with `status` (and the matching `error_code`) whose message holds every
/// one of `needles`; returns the message.
#[track_caller]
pub fn assert_rest_err<T: std::fmt::Debug>(
    result: Result<T, syncbridge_core::error::RestError>,
    status: u16,
    needles: &[&str],
) -> String {
    let err = result.expect_err("expected an error");
    assert_eq!(err.status, status, "{err:?}");
    assert_eq!(err.error_code(), 1000 + u32::from(status));
    for needle in needles {
        assert!(
            err.error_message.contains(needle),
            "message {:?} should contain {needle:?}",
            err.error_message
        );
    }
    err.error_message
}
