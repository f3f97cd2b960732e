//! Error shapes a caller sees. Every error has an HTTP status, a stable code
//! and a human description; the code never changes once published.

use serde_json::{json, Value};

/// Where an error is reported, which decides its JSON shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Corezoid Sync API: `{"request_proc": code, "description": …}`.
    SyncApi,
    /// Every other route (callbacks, unknown routes):
    /// `{"proc": "error", "code": code, "description": …}`.
    Plugin,
}

/// An error of the Sync API, the callback route and the other plugin routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The stable code (`format_error`, `access_denied`, …).
    pub code: &'static str,
    /// A human description.
    pub description: String,
}

impl ApiError {
    /// An error with its status, code and description.
    pub fn new(status: u16, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
        }
    }

    /// 400: the body is not JSON of the documented shape.
    pub fn format(description: impl Into<String>) -> Self {
        Self::new(400, "format_error", description)
    }
    /// 400: `ops` missing, empty or longer than the limit.
    pub fn ops(description: impl Into<String>) -> Self {
        Self::new(400, "ops_error", description)
    }
    /// 403: unknown login, wrong signature or stale time.
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(403, "access_denied", description)
    }
    /// 413: body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "body_too_large",
            format!("Request body is larger than {limit} bytes"),
        )
    }
    /// 403: a signed request seen before within its signature's window
    /// (`SIGNATURE_REPLAY_PROTECTION`).
    pub fn replayed() -> Self {
        Self::new(
            403,
            "replayed",
            "This signed request was already received: sign each request anew (another \
             unixtime or body)",
        )
    }
    /// 404: no such route or object.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(404, "not_found", description)
    }
    /// 405: the path takes other methods (`allowed`, as for `Allow`).
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            format!("Method not allowed; use {allowed}"),
        )
    }
    /// 500: the gateway itself is misconfigured (a missing or invalid setting).
    pub fn config(description: impl Into<String>) -> Self {
        Self::new(500, "config_error", description)
    }
    /// 504: the request gave no `timeout` and the default ran out.
    pub fn gateway_timeout() -> Self {
        Self::new(504, "timeout", "Gateway Time-out")
    }

    /// The JSON body of the error on `surface`.
    pub fn to_json(&self, surface: Surface) -> Value {
        match surface {
            Surface::SyncApi => json!({
                "request_proc": self.code,
                "description": self.description,
            }),
            Surface::Plugin => json!({
                "proc": "error",
                "code": self.code,
                "description": self.description,
            }),
        }
    }
}

/// An error of the channel REST API (Oktell Studio's shape):
/// `{"error_code": 1404, "error_message": "Lookup failed"}`. The code is
/// 1000 + the HTTP status, so it is stable and self-explaining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    /// The HTTP status.
    pub status: u16,
    /// A human description, the answer's `error_message`.
    pub error_message: String,
}

impl RestError {
    /// An error with its status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        RestError {
            status,
            error_message: message.into(),
        }
    }
    /// The answer's `error_code`: 1000 + the status.
    pub fn error_code(&self) -> u32 {
        1000 + u32::from(self.status)
    }
    /// 400: a field is unknown, of the wrong type, or has a bad value.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    /// 401: no admin token (or process key), or a wrong one.
    pub fn unauthorized() -> Self {
        Self::new(401, "Missing or wrong Authorization: Bearer token")
    }
    /// 500: an admin-only route while `ADMIN_TOKEN` is unset.
    pub fn admin_token_unset() -> Self {
        Self::internal("setting ADMIN_TOKEN is not set, so the channel API is closed")
    }
    /// 404: no such object (a message that names it).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
    /// 404: a LOOKUP found nothing.
    pub fn lookup_failed() -> Self {
        Self::new(404, "Lookup failed")
    }
    /// 409: the request conflicts with the object's state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }
    /// 413: body over `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(413, format!("Request body is larger than {limit} bytes"))
    }
    /// 500: the gateway could not do its part (a missing binding, a database error).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
    /// The JSON body: `{"error_code": …, "error_message": …}`.
    pub fn to_json(&self) -> Value {
        json!({"error_code": self.error_code(), "error_message": self.error_message})
    }
}

impl From<ApiError> for RestError {
    fn from(e: ApiError) -> Self {
        RestError::new(e.status, e.description)
    }
}
