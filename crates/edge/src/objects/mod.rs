//! The Durable Object classes, one file each (bound in `wrangler.toml`).

pub mod destination;
pub mod hub;
pub mod rendezvous;
pub mod replay;
