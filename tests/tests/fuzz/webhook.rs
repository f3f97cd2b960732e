//! Inbound webhooks: `webhook::reply` (the process's answer as HTTP),
//! `webhook::event` (the event handed to the process, with `body_value`,
//! `cookies`, `query`), `is_sync`, and CORS (`allowed_origin`, `preflight`).

use crate::gen::{bytes, json, leaf, mutated_json, object_of, text, token};
use crate::{check, fuzz};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use syncbridge_core::channel;
use syncbridge_core::webhook::{self, Inbound};

fn header_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => select(&["text/plain", "application/json", "a=b; Path=/", " padded\t", "x\r\nInjected: 1", "é", ""][..])
            .prop_map(Value::from),
        2 => text().prop_map(Value::from),
        1 => vec(prop_oneof![text().prop_map(Value::from), leaf()], 0..3).prop_map(Value::Array),
        1 => leaf(),
        1 => json(),
    ]
}

/// A callback shaped like a sync webhook's answer.
pub fn answer() -> impl Strategy<Value = Value> {
    let code = prop_oneof![
        (100u64..700).prop_map(Value::from),
        select(&["200", "204", "304", "", "2000", "20x", "099"][..]).prop_map(Value::from),
        leaf(),
    ];
    let headers = prop_oneof![
        3 => object_of(&["Content-Type", "content-type", "Set-Cookie", "x-a", "Content-Length",
                        "Transfer-Encoding", "bad name", "X-Ü"], header_value()),
        1 => json().prop_map(|v| Value::from(v.to_string())),
        1 => leaf(),
    ];
    (
        proptest::option::of(code),
        proptest::option::of(prop_oneof![json(), text().prop_map(Value::from)]),
        proptest::option::of(headers),
    )
        .prop_map(|(c, body, h)| {
            let mut m = serde_json::Map::new();
            if let Some(c) = c {
                m.insert("response_code".into(), c);
            }
            if let Some(b) = body {
                m.insert("response_content".into(), b);
            }
            if let Some(h) = h {
                m.insert("response_headers".into(), h);
            }
            Value::Object(m)
        })
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[test]
fn replies_are_valid_http_or_refused() {
    fuzz(
        "webhook::reply",
        prop_oneof![4 => answer(), 1 => json()],
        |cb| {
            let Ok(r) = webhook::reply(&cb) else {
                return Ok(());
            };
            crate::accepted();
            check!((200..=599).contains(&r.status), "status {}", r.status);
            if matches!(r.status, 204 | 205 | 304) {
                check!(r.body.is_empty(), "a body with {}", r.status);
            }
            let ct = r
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .count();
            check!(ct == 1, "{ct} content-types");
            for (n, v) in &r.headers {
                check!(is_token(n), "header name {n:?}");
                check!(
                    v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)),
                    "header value {v:?}"
                );
                check!(
                    !["content-length", "transfer-encoding", "connection"]
                        .contains(&n.to_ascii_lowercase().as_str()),
                    "framing header {n} passed"
                );
            }
            Ok(())
        },
    );
}

#[test]
fn replies_take_mutated_answers() {
    fuzz("webhook::reply/mutated", mutated_json(answer()), |input| {
        if let Ok(v) = serde_json::from_slice::<Value>(&input) {
            let _ = webhook::reply(&v);
        }
        Ok(())
    });
}

fn url() -> impl Strategy<Value = String> {
    let q = vec(
        (
            prop_oneof![token(), "[a-z]{1,4}"],
            prop_oneof![token(), "[a-z%+0-9]{0,6}"],
        ),
        0..4,
    )
    .prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    prop_oneof![
        4 => (q, select(&["", "#frag", "#"][..])).prop_map(|(q, f)| format!("https://gw.example/api/token/v1/t/x?{q}{f}")),
        1 => text(),
    ]
}

/// method, url, headers, body, ip
type InboundParts = (
    String,
    String,
    Vec<(String, String)>,
    Vec<u8>,
    Option<String>,
);

fn inbound() -> impl Strategy<Value = InboundParts> {
    let ct = select(
        &[
            "application/json",
            "application/vnd.x+json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "text/plain",
            "APPLICATION/JSON",
            "",
        ][..],
    );
    let body = prop_oneof![
        2 => bytes(),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => mutated_json(json()),
    ];
    let headers = vec(
        (
            prop_oneof![
                select(&["cookie", "content-type", "x-a", "Cookie"][..]).prop_map(str::to_owned),
                text()
            ],
            prop_oneof![
                ct.prop_map(str::to_owned),
                "[a-z]{1,4}=[a-z\"]{0,4}(; ?[a-z]{1,4}=[a-z]{0,4}){0,3}",
                text()
            ],
        ),
        0..5,
    );
    (
        select(&["GET", "POST", "PUT", "WEIRD"][..]).prop_map(str::to_owned),
        url(),
        headers,
        body,
        proptest::option::of(text()),
    )
}

#[test]
fn events_carry_any_request() {
    let ch = channel::create(
        &json!({"code": "hook", "opts": {"issync": true}}),
        "id".into(),
        "t".repeat(32),
        "now",
    )
    .unwrap();
    fuzz(
        "webhook::event",
        inbound(),
        |(method, url, headers, body, ip)| {
            let inbound = Inbound {
                method: &method,
                url: &url,
                headers: &headers,
                body: &body,
                ip: ip.as_deref(),
                protocol: "https",
            };
            let is_async = !webhook::is_sync(&ch, &url);
            let ev = webhook::event(&inbound, &ch, "ev-1", is_async, "https://gw.example/cb");
            let text = serde_json::to_string(&ev).expect("an event serializes");
            let back: Value = serde_json::from_str(&text).expect("and parses back");
            check!(
                crate::gen::same(&back, &ev),
                "the event does not survive JSON"
            );
            // A body that is not UTF-8 goes as base64, and decodes to itself.
            if std::str::from_utf8(&body).is_err() {
                use base64::Engine as _;
                check!(
                    ev["body_encoding"] == "base64",
                    "binary body without base64"
                );
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(ev["body"].as_str().unwrap())
                    .unwrap();
                check!(decoded == body, "base64 body changed");
            }
            Ok(())
        },
    );
}

#[test]
fn cors_takes_any_origin() {
    let list = vec(
        prop_oneof![
            select(
                &[
                    "*",
                    "https://shop.example",
                    "http://a.example:8080",
                    "https://x.example/"
                ][..]
            )
            .prop_map(str::to_owned),
            text()
        ],
        0..4,
    );
    let origin = prop_oneof![
        select(
            &[
                "https://shop.example",
                "HTTPS://SHOP.EXAMPLE:443",
                "https://shop.example.evil",
                "null"
            ][..]
        )
        .prop_map(str::to_owned),
        text()
    ];
    fuzz(
        "webhook::allowed_origin+preflight",
        (
            list,
            proptest::option::of(origin),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        |(list, origin, method, hdrs)| {
            let allowed = webhook::allowed_origin(&list, origin.as_deref());
            if let Some(a) = &allowed {
                check!(
                    a == "*" || Some(a.as_str()) == origin.as_deref(),
                    "allowed {a} for {origin:?}"
                );
                check!(
                    a != "*" || list.iter().any(|o| o == "*"),
                    "* without * listed"
                );
            }
            if webhook::preflight(&list, origin.as_deref(), method.as_deref(), hdrs.as_deref())
                .is_some()
            {
                check!(allowed.is_some(), "a preflight for a refused origin");
            }
            Ok(())
        },
    );
}
