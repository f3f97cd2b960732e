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

/// The value of one field of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// A string, JSON-escaped.
    Str(&'a str),
    /// A whole number.
    Num(u64),
}

/// A log line of `fields`, in their order, as compact JSON text: what
/// `serde_json::json!` of the same fields prints, written without building a
/// JSON tree (each call site of the worker is then a list, not a tree's code).
pub fn fields(fields: &[(&str, Field<'_>)]) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::from("{");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&s(name));
        out.push(':');
        match value {
            Field::Str(v) => out.push_str(&s(v)),
            Field::Num(n) => out.push_str(&n.to_string()),
        }
    }
    out.push('}');
    out
}
