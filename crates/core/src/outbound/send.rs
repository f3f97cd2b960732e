//! A send (`POST …/{id}/send` and `…/send/test`): its `Idempotency-Key`,
//! its body of variables, and the request it renders for the channel.

use super::{callback_id, check_destination, render, Rendered};
use crate::channel::Channel;
use crate::config::Settings;
use crate::error::RestError;
use serde_json::{Map, Value};

/// Longest `Idempotency-Key`, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The send's `Idempotency-Key` header, when given: 1 to
/// [`MAX_IDEMPOTENCY_KEY`] bytes, else a 400.
pub fn idempotency_key(header: Option<String>) -> Result<Option<String>, RestError> {
    match header {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY => Err(RestError::bad_request(
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        )),
        Some(k) => Ok(Some(k)),
    }
}

/// The send's body, `{"variables": {…}}`: the variables. An empty (or
/// all-whitespace) body, an absent or null `variables` mean none; anything
/// else is a 400 that says what is wrong.
pub fn send_variables(body: &[u8]) -> Result<Map<String, Value>, RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))?;
    let Value::Object(mut o) = v else {
        return Err(RestError::bad_request(
            "the body must be a JSON object: {\"variables\": {…}}",
        ));
    };
    if let Some(k) = o.keys().find(|k| *k != "variables") {
        return Err(RestError::bad_request(format!(
            "Unknown field `{k}`; use `variables`"
        )));
    }
    match o.shift_remove("variables") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(RestError::bad_request("`variables` must be an object")),
    }
}

/// The request a send of `vars` makes for `channel` at `now_ms`: the
/// channel must have a callback configuration (409) and a destination url
/// (409) that the allow-list takes (422); the template must render (400,
/// 422) to at most `CALLBACK_MAX_BYTES` (413).
pub fn prepare(
    settings: &Settings,
    channel: &Channel,
    vars: &Map<String, Value>,
    now_ms: u64,
) -> Result<Rendered, RestError> {
    let cfg = channel.opts.callback.as_ref().ok_or_else(|| {
        RestError::conflict("This channel has no callback configuration (opts.callback)")
    })?;
    if channel.url.is_empty() {
        return Err(RestError::conflict("This channel has no destination url"));
    }
    check_destination(&channel.url, &settings.callback_allowed_hosts)
        .map_err(|e| RestError::new(422, e.to_string()))?;
    let rendered = render(cfg, &channel.url, vars, &callback_id(now_ms))?;
    rendered.check_size(settings.callback_max_bytes)?;
    Ok(rendered)
}
