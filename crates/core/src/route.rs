//! The gateway's route table, as a pure function of method and path.
//!
//! Keeping it here (not in the worker) makes the table testable natively and
//! gives later tooling (the OpenAPI check) one list to compare against.

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /api/1/json/{login}/{unixtime}/{signature}`
    SyncApi {
        login: &'a str,
        unixtime: &'a str,
        signature: &'a str,
    },
    /// `POST /api/1/plugins/callback/{request_id}`
    Callback {
        request_id: &'a str,
    },
    /// `GET /healthz`: liveness, touches nothing; the benchmark's baseline.
    Health,
    /// A known path with a method it does not take; carries the allowed one.
    MethodNotAllowed {
        allowed: &'static str,
    },
    NotFound,
}

/// Every route as `(method, path template)`, for documentation and checks.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/1/json/{login}/{unixtime}/{signature}"),
    ("POST", "/api/1/plugins/callback/{request_id}"),
    ("GET", "/healthz"),
];

pub fn route<'a>(method: &str, path: &'a str) -> Route<'a> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (allowed, matched) = match segs.as_slice() {
        ["api", "1", "json", login, unixtime, signature]
            if !login.is_empty() && !unixtime.is_empty() && !signature.is_empty() =>
        {
            (
                "POST",
                Route::SyncApi {
                    login,
                    unixtime,
                    signature,
                },
            )
        }
        ["api", "1", "plugins", "callback", request_id] if !request_id.is_empty() => {
            ("POST", Route::Callback { request_id })
        }
        ["healthz"] => ("GET", Route::Health),
        _ => return Route::NotFound,
    };
    if method == allowed || (allowed == "GET" && method == "HEAD") {
        matched
    } else {
        Route::MethodNotAllowed { allowed }
    }
}
