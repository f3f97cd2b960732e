//! Inbound WebSocket connections (`websocket`): connection ids, the
//! `$wsMessage` event, its reply URL and the request to the process.

use serde_json::json;
use syncbridge_core::channel::{self, Channel};
use syncbridge_core::engine::Protocol;
use syncbridge_core::websocket::{
    connection_id, connection_id_ok, forward_message, message_event, reply_url, Message,
    WsForwardError, MESSAGE_EVENT_TYPE, REPLY_URL_TTL_S,
};

const SECRET: &[u8] = b"callback-secret-for-tests";

fn chan(ws_process: &str) -> Channel {
    let mut ch = channel::create(
        &json!({"code": "ws", "token_remote": "remote-secret"}),
        "chan-1".into(),
        "ab".repeat(16),
        "2026-01-01T00:00:00.000Z",
    )
    .unwrap();
    ch.recv_svcscriptcode_ws = ws_process.into();
    ch
}

#[test]
fn connection_ids_name_their_channel_and_expire() {
    let now = 1_800_000_000;
    let id = connection_id(SECRET, [7; 16], now, "chan-1");
    assert_eq!(id.len(), syncbridge_core::request_id::REQUEST_ID_LEN);
    assert!(connection_id_ok(SECRET, "chan-1", &id, now));
    assert!(connection_id_ok(
        SECRET,
        "chan-1",
        &id,
        now + REPLY_URL_TTL_S
    ));
    assert!(!connection_id_ok(
        SECRET,
        "chan-1",
        &id,
        now + REPLY_URL_TTL_S + 1
    ));
    assert!(
        !connection_id_ok(SECRET, "chan-2", &id, now),
        "another channel's id"
    );
    assert!(!connection_id_ok(
        b"another-secret-0123",
        "chan-1",
        &id,
        now
    ));
    let mut tampered = id.clone().into_bytes();
    tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
    assert!(!connection_id_ok(
        SECRET,
        "chan-1",
        std::str::from_utf8(&tampered).unwrap(),
        now
    ));
    // Not a request id (its MAC domain is its own), and owned by `ws:{channel_id}`.
    use syncbridge_core::request_id::{self, IdError, Purpose};
    assert_eq!(
        request_id::verify(SECRET, &id, now, 0),
        Err(IdError::Invalid)
    );
    let both = [Purpose::SyncApi, Purpose::Webhook];
    assert_eq!(
        request_id::verify_for(SECRET, &both, &id, now, 0),
        Err(IdError::Invalid)
    );
    let v = request_id::verify_for(SECRET, &[Purpose::Connection], &id, now, 0).unwrap();
    assert_eq!(v.purpose, Purpose::Connection);
    assert!(v.owned_by(SECRET, "ws:chan-1"));
    assert!(!v.owned_by(SECRET, "chan-1"));
    // And a request id issued to `ws:chan-1` (a login of that name) is no
    // connection id.
    let forged = request_id::issue(SECRET, [7; 16], now + 60, "ws:chan-1");
    assert!(!connection_id_ok(SECRET, "chan-1", &forged, now));
    assert_eq!(REPLY_URL_TTL_S, 7 * 24 * 3600);
}

#[test]
fn reply_urls() {
    assert_eq!(
        reply_url("https://gw.example", "c1", "k1"),
        "https://gw.example/api/1/plugins/ws/c1/k1"
    );
    assert_eq!(
        reply_url("https://gw.example/", "c1", "k1"),
        "https://gw.example/api/1/plugins/ws/c1/k1"
    );
}

#[test]
fn a_text_message_event() {
    let ch = chan("https://proc.example/ws");
    let e = message_event(
        &ch,
        "ev-1",
        "conn-1",
        Message::Text("hi \"you\""),
        "https://gw/r",
    );
    assert_eq!(
        e,
        json!({
            "event": {"id": "ev-1", "type": "$wsMessage"},
            "channel": channel::public_view(&ch),
            "connection_id": "conn-1",
            "message": "hi \"you\"",
            "__callback_url": "https://gw/r",
        })
    );
    assert_eq!(MESSAGE_EVENT_TYPE, "$wsMessage");
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "event",
            "channel",
            "connection_id",
            "message",
            "__callback_url"
        ]
    );
    // The channel is shown without its secrets.
    assert!(e["channel"].get("token_local").is_none());
    assert!(e["channel"].get("token_remote").is_none());
}

#[test]
fn a_binary_message_event_is_base64() {
    let ch = chan("https://proc.example/ws");
    let e = message_event(&ch, "ev-2", "conn-1", Message::Binary(&[0, 255, 1, 2]), "u");
    assert_eq!(e["message"], "AP8BAg==");
    assert_eq!(e["message_encoding"], "base64");
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.last(), Some(&"message_encoding"));
    let empty = message_event(&ch, "ev-3", "conn-1", Message::Binary(&[]), "u");
    assert_eq!(
        (
            empty["message"].as_str(),
            empty["message_encoding"].as_str()
        ),
        (Some(""), Some("base64"))
    );
    let text = message_event(&ch, "ev-4", "conn-1", Message::Text(""), "u");
    assert!(text.get("message_encoding").is_none());
}

fn processes(list: &str) -> syncbridge_core::outbound::AllowList {
    syncbridge_core::outbound::AllowList::parse_for(
        syncbridge_core::outbound::ListKind::Process,
        list,
    )
    .unwrap()
}

#[test]
fn the_message_goes_to_an_http_process_only() {
    let event = json!({"event": {"id": "e"}});
    let allowed = processes("*, http://proc.example");
    for url in ["http://proc.example/ws", "https://proc.example/ws?x=1"] {
        let f = forward_message(&chan(url), &event, &allowed).unwrap();
        assert_eq!(f.url, url);
        assert_eq!(f.body, event.to_string());
        assert!(f.headers.is_empty());
        assert_eq!(f.protocol, Protocol::Webhook);
    }
    for url in [
        "",
        "ws://proc.example",
        "HTTPS://proc.example",
        "corezoid:5",
        "proc",
    ] {
        let e = forward_message(&chan(url), &event, &allowed).unwrap_err();
        assert_eq!(e, WsForwardError::NoProcess, "{url:?}");
        assert_eq!(e.to_string(), "recv_svcscriptcode_ws names no http process");
    }
}

#[test]
fn the_message_goes_only_to_a_process_process_allowed_hosts_allows() {
    let event = json!({"event": {"id": "e"}});
    let default = processes("*");
    for url in [
        "http://proc.example/ws",
        "https://127.0.0.1/ws",
        "https://10.1.2.3/ws",
        "https://[fe80::1]/ws",
        "https://metadata/computeMetadata",
    ] {
        let e = forward_message(&chan(url), &event, &default).unwrap_err();
        assert!(matches!(e, WsForwardError::NotAllowed(_)), "{url}: {e:?}");
        let m = e.to_string();
        assert!(
            m.starts_with("recv_svcscriptcode_ws: ") && m.contains("PROCESS_ALLOWED_HOSTS"),
            "{m}"
        );
    }
    assert!(forward_message(&chan("https://proc.example/ws"), &event, &default).is_ok());
    let local = processes("http://127.0.0.1");
    assert!(forward_message(&chan("http://127.0.0.1:9000/ws"), &event, &local).is_ok());
}
