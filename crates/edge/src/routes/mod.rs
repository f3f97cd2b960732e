//! One file per resource's routes. Each handler takes the request's
//! [`Ctx`](crate::ctx::Ctx) and returns [`Handled`](crate::http::Handled).

pub mod callback;
pub mod channel;
pub mod console;
pub mod eventing;
pub mod outbound;
pub mod sync;
pub mod webhook;
pub mod websocket;
