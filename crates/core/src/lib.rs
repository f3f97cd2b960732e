//! syncbridge-core: every rule of the gateway that can be a pure function.
//!
//! Nothing here performs I/O, reads a clock or draws random numbers: time and
//! randomness are arguments, so each rule is tested natively and the worker
//! (`crates/edge`) stays a thin shell that turns HTTP into calls to this crate.
//!
//! One module per concern:
//!
//! | module | rules |
//! | --- | --- |
//! | [`route`] | the route table: method and path to a [`route::Route`] |
//! | [`console`] | the operator console's files: paths, content types, security headers |
//! | [`config`] | every setting, its default and bound ([`Settings`]) |
//! | [`error`] | the error shapes and codes callers see |
//! | [`body_limit`] | the limit on a request body: refused before reading, read whole, or read as a stream and cut off |
//! | [`admin`] | who may call the REST routes ([`admin::authorize`]) |
//! | [`signature`], [`request_id`], [`ids`] | Corezoid signatures, self-authenticating request ids, UUIDs |
//! | [`b64`] | base64: padded encoding, the lenient decoding of a `whsec_` secret |
//! | [`sync_api`], [`engine`], [`callback`] | the Sync API: parsing, deadlines, the task sent to the engine, its callback, the answer |
//! | [`channel`], [`request_log`] | integration channels and their list query; the inbound request log |
//! | [`stats`] | a channel's overview: requests per minute and by outcome, deliveries by state |
//! | [`webhook`] | inbound webhooks: the event, the process's answer, CORS |
//! | [`websocket`] | inbound WebSocket connections: connection ids, the `$wsMessage` event |
//! | [`eventing`] | events, patterns, the replay buffer, subscriptions, rate limits |
//! | [`outbound`] | outbound callbacks: configuration, templates, the allow-list, retries, deliveries |
//!
//! Every public item is documented (`missing_docs`), and errors are typed
//! enums whose `Display` is the message a caller sees.

#![warn(missing_docs, unreachable_pub)]

pub mod admin;
pub mod b64;
pub mod body_limit;
pub mod callback;
pub mod channel;
pub mod config;
pub mod console;
pub mod engine;
pub mod error;
pub mod eventing;
pub mod ids;
pub mod log_line;
pub mod outbound;
pub mod request_id;
pub mod request_log;
pub mod route;
pub mod signature;
pub mod stats;
pub mod sync_api;
pub mod webhook;
pub mod websocket;

pub use config::Settings;
pub use error::ApiError;
