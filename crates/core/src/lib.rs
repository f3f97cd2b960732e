//! syncbridge-core: every rule of the gateway that can be a pure function.
//!
//! Nothing here performs I/O, reads a clock or draws random numbers: time and
//! randomness are arguments, so each rule is tested natively and the worker
//! (`crates/edge`) stays a thin shell that turns HTTP into calls to this crate.

pub mod admin;
pub mod callback;
pub mod channel;
pub mod config;
pub mod engine;
pub mod error;
pub mod eventing;
pub mod ids;
pub mod outbound;
pub mod request_id;
pub mod request_log;
pub mod route;
pub mod signature;
pub mod sync_api;
pub mod webhook;
pub mod websocket;

pub use config::Settings;
pub use error::ApiError;
