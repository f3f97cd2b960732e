//! Sending one event to a hub's WebSocket subscribers.
//!
//! Each subscriber socket is tagged, when it is accepted, with its kind:
//! [`ALL`] when it wants every event (no patterns, or `*`), [`SOME`] when its
//! patterns must be matched (they are in its attachment, which survives
//! hibernation). An event goes to every [`ALL`] socket without reading
//! anything of it, in one call into JavaScript that loops over the sockets
//! and sends the one string; only [`SOME`] sockets have their attachment
//! read. Sockets accepted by older versions carry neither tag: while a hub
//! has any ([`untagged`]), every subscriber is matched by its attachment
//! ([`by_attachment`]).

use super::SubscriberState;
use syncbridge_core::eventing;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, worker_sys::web_sys, State, WebSocket};

/// Tag of a subscriber that wants every event.
pub const ALL: &str = "subscriber:all";
/// Tag of a subscriber whose patterns are matched per event.
pub const SOME: &str = "subscriber:some";

#[wasm_bindgen(inline_js = "
export function send_to_tagged(state, tag, text) {
  const sockets = state.getWebSockets(tag);
  for (const ws of sockets) {
    try { ws.send(text); } catch (_) { /* gone meanwhile: not the publisher's problem */ }
  }
  return sockets.length;
}
export function count_tagged(state, tag) {
  return state.getWebSockets(tag).length;
}
")]
extern "C" {
    /// Sends `text` to every socket of `state` tagged `tag`; how many.
    fn send_to_tagged(state: &JsValue, tag: &str, text: &JsValue) -> u32;
    /// How many sockets of `state` are tagged `tag`.
    fn count_tagged(state: &JsValue, tag: &str) -> u32;
}

/// True when some subscriber socket carries neither [`ALL`] nor [`SOME`]
/// (accepted by an older version).
pub fn untagged(state: &State) -> bool {
    let raw: &JsValue = state.as_raw().as_ref();
    let tagged = count_tagged(raw, ALL) + count_tagged(raw, SOME);
    count_tagged(raw, super::SUBSCRIBER) != tagged
}

/// Sends `text` (an event of type `kind`) to every [`ALL`] subscriber and to
/// each [`SOME`] subscriber whose patterns match. The text crosses into
/// JavaScript once.
pub fn send(state: &State, kind: &str, text: &str) {
    let raw: &JsValue = state.as_raw().as_ref();
    let js_text = JsValue::from_str(text);
    send_to_tagged(raw, ALL, &js_text);
    let some = state.get_websockets_with_tag(SOME);
    if !some.is_empty() {
        matching(&some, kind, &js_text);
    }
}

/// Sends `text` to each of `subscribers` whose attachment's patterns match
/// `kind` (a socket without one gets everything).
pub fn by_attachment(subscribers: &[WebSocket], kind: &str, text: &str) {
    if !subscribers.is_empty() {
        matching(subscribers, kind, &JsValue::from_str(text));
    }
}

fn matching(subscribers: &[WebSocket], kind: &str, js_text: &JsValue) {
    let Some(first) = subscribers.first() else {
        return;
    };
    let first: &web_sys::WebSocket = first.as_ref();
    let send = js_sys::Reflect::get(first, &JsValue::from_str("send"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    for ws in subscribers {
        let wanted = ws
            .deserialize_attachment::<SubscriberState>()
            .ok()
            .flatten()
            .is_none_or(|s| eventing::matches(&s.patterns, kind));
        if !wanted {
            continue;
        }
        // A subscriber that went away meanwhile is not the publisher's problem.
        let raw: &web_sys::WebSocket = ws.as_ref();
        match &send {
            Some(f) => drop(f.call1(raw, js_text)),
            None => drop(ws.send_with_str(js_text.as_string().unwrap_or_default())),
        }
    }
}
