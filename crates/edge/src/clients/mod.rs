//! Requests from the worker to its Durable Objects: the only code that
//! knows an object's internal routes, shared by the object's class (which
//! serves them) and its callers.

pub mod destination;
pub mod hub;
pub mod rendezvous;
pub mod replay;
