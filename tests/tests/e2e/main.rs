//! End-to-end tests of syncbridge: the real wasm worker in workerd (through
//! Miniflare) with real Durable Objects, D1 and queues, a simulated Corezoid
//! engine and HTTP process, and a receiver of outbound callbacks, all on
//! loopback. One module per area; the harness they share is
//! `syncbridge_tests::harness`.
//!
//!   cargo test -p syncbridge-tests --test e2e              # every area
//!   cargo test -p syncbridge-tests --test e2e sync::       # one area
//!   cargo test -p syncbridge-tests --test e2e sync::happy  # one test

mod channels;
mod console;
mod delivery_controls;
mod eventing;
mod eventing_limits;
mod hardening;
mod hot_paths;
mod listings;
mod openapi;
mod outbound;
mod requests;
mod stats;
mod sync;
mod webhooks;
