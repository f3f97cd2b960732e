//! The worker's own log lines, written as JSON text directly (no JSON tree
//! is built on the per-request path).

/// The one line of every request:
/// `{"log":"request","id","method","route","status","duration_ms"}`. The
/// route is its template, so no token, signature or request id reaches the
/// log; every string is JSON-escaped.
pub fn request(id: &str, method: &str, route: &str, status: u16, duration_ms: u64) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
    format!(
        "{{\"log\":\"request\",\"id\":{},\"method\":{},\"route\":{},\"status\":{status},\"duration_ms\":{duration_ms}}}",
        s(id),
        s(method),
        s(route)
    )
}
