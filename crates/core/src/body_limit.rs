//! The limit on a request body: whether to read it and how, and when to
//! stop. The worker (`crates/edge`, `http::read_body_into`) does the
//! reading; every decision it makes about the limit is made here.
//!
//! - A declared `Content-Length` over the limit is refused before a byte
//!   is read.
//! - A body that declares a length within it is read whole, in one call
//!   to the runtime, with room for that length reserved first. What
//!   arrives is checked again, in case the runtime ever hands over more.
//! - A body with no length it can be held to (chunked, or a header that
//!   is not a number) is read as a stream and refused as soon as it
//!   passes the limit, so no more than the limit is ever held.

use crate::error::ApiError;

/// How a body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Read whole: it declared this many bytes, within the limit.
    Whole {
        /// The declared length, the room to reserve.
        declared: usize,
    },
    /// No usable length declared: read chunk by chunk, each one taken
    /// with [`BodyLimit::take`].
    Stream,
}

/// The body is longer than the limit (a 413 on every surface).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The limit it passed, in bytes.
    pub limit: usize,
}

impl From<TooLarge> for ApiError {
    fn from(e: TooLarge) -> Self {
        ApiError::too_large(e.limit)
    }
}

/// One body's limit and what has been taken of it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLimit {
    max: usize,
    taken: usize,
}

impl BodyLimit {
    /// A limit of `max` bytes, nothing taken yet.
    pub fn new(max: usize) -> Self {
        BodyLimit { max, taken: 0 }
    }

    /// How to read a body whose `Content-Length` header is
    /// `content_length` (None when absent): refused at once when it
    /// declares more than the limit.
    pub fn plan(&self, content_length: Option<&str>) -> Result<Plan, TooLarge> {
        match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(n) if n > self.max as u64 => Err(self.too_large()),
            // At most `max`, so it fits a usize.
            Some(n) => Ok(Plan::Whole {
                declared: n as usize,
            }),
            None => Ok(Plan::Stream),
        }
    }

    /// Takes `len` more bytes (a chunk, or a whole body as it arrived):
    /// refused, taking nothing, once the total would pass the limit.
    pub fn take(&mut self, len: usize) -> Result<(), TooLarge> {
        match self.taken.checked_add(len) {
            Some(total) if total <= self.max => {
                self.taken = total;
                Ok(())
            }
            _ => Err(self.too_large()),
        }
    }

    /// Bytes taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    fn too_large(&self) -> TooLarge {
        TooLarge { limit: self.max }
    }
}
