//! One file per resource's routes. Each handler takes the request's
//! [`Ctx`](crate::ctx::Ctx) and returns [`Handled`](crate::http::Handled).

pub mod callback;
pub mod channels;
pub mod deliveries;
pub mod events;
pub mod sync;
pub mod webhook;
pub mod websocket;
