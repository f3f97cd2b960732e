//! Fuzzing of every parser in the core, as property tests (`proptest`).
//!
//! One module per parser family. Each property runs [`cases`] cases
//! (`FUZZ_CASES`, default [`DEFAULT_CASES`]: a short pass, so `make test`
//! stays fast; `make fuzz` runs 200,000 per property in an optimised build)
//! of arbitrary bytes and of structure-aware inputs (JSON shaped like the
//! real bodies, with the real field names and tricky values), and asserts
//! that nothing panics and, where there is one, a property of the result.
//!
//! A failure prints the shrunk input and the seed. The seed is fixed
//! ([`DEFAULT_SEED`]) so `make test` is reproducible; `FUZZ_SEED=N` picks
//! another (`make fuzz` draws a fresh one and prints it). With
//! `FUZZ_REPORT=path`, each property appends `name<TAB>cases<TAB>seconds<TAB>accepted`.
//!
//! `worker` is the end-to-end side: fuzzed bodies to the real worker's
//! routes, none of which may answer 5xx except the documented 502/503/504.

mod allowlist;
mod callback;
mod channel;
mod eventing;
mod gen;
mod ids;
mod list;
mod outbound;
mod route;
mod sync_api;
mod webhook;
mod worker;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::fmt::Debug;
use std::time::Instant;

/// Cases per property in a plain `cargo test`.
pub const DEFAULT_CASES: u32 = 256;
/// The seed of a plain `cargo test`.
pub const DEFAULT_SEED: u64 = 0x005e_ed9f;

/// Cases per property: `FUZZ_CASES`, or [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

thread_local! {
    static ACCEPTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts a case whose input the parser accepted (reported with the
/// property's figures, so a generator that never gets past the parser's
/// first check shows).
pub fn accepted() {
    ACCEPTED.with(|a| a.set(a.get() + 1));
}

/// Runs `test` on [`cases`] values of `strategy`. A panic inside `test` (or
/// inside the code under test) is a failure, shrunk and reported with the
/// property's name and seed.
pub fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    fuzz_n(name, cases(), strategy, test)
}

/// As [`fuzz`], with a case count of its own (a fraction of [`cases`] for
/// the slow properties).
pub fn fuzz_n<S>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let cases = cases.max(1);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..Config::default()
    };
    // One stream per property, so a property's cases do not depend on the
    // others' (or on their order).
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed().to_le_bytes());
    for (i, b) in name.bytes().enumerate() {
        key[8 + i % 24] ^= b;
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
    let mut runner = TestRunner::new_with_rng(config, rng);
    ACCEPTED.with(|a| a.set(0));
    let start = Instant::now();
    // Generating the nested inputs takes more stack than a test thread's
    // 2 MiB in a debug build: run on a larger one.
    let result = stacker::grow(64 << 20, || runner.run(&strategy, test));
    let secs = start.elapsed().as_secs_f64();
    let ok = ACCEPTED.with(|a| a.get());
    eprintln!("fuzz {name}: {cases} cases in {secs:.2} s, {ok} accepted");
    if let Ok(path) = std::env::var("FUZZ_REPORT") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{name}\t{cases}\t{secs:.2}\t{ok}");
        }
    }
    if let Err(e) = result {
        panic!("fuzz {name} (FUZZ_SEED={}): {e}", seed());
    }
}

/// `prop_assert!` for a condition, with a message built only on failure.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(proptest::test_runner::TestCaseError::fail(format!($($fmt)+)));
        }
    };
}
