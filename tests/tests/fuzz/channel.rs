//! Channel entities: `channel::create` and `channel::patch` (with the
//! `opts.callback` they carry), `channel::render` with masks, and the
//! LOOKUP body (`channel::lookup_key`).

use crate::gen::{bytes, json, key, leaf, mutated_json, object_of, text};
use crate::{check, fuzz, fuzz_n};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use syncbridge_core::channel::{self, Channel};

const NOW: &str = "2026-01-02T03:04:05.678Z";
const LATER: &str = "2026-01-02T03:04:06.000Z";

const FIELDS: &[&str] = &[
    "code",
    "type",
    "token_remote",
    "token_remote2",
    "url",
    "recv_svcscriptcode",
    "recv_svcscriptcode_ws",
    "send_svcscriptcode",
    "send_svcscriptcode_ws",
    "opts",
];
const OPTS: &[&str] = &[
    "title",
    "comment",
    "allow_files_api",
    "issync",
    "cors_origins",
    "corezoid_login",
    "eventing_channel",
    "callback",
];

/// Values that are valid somewhere: URLs, processes, origins, types.
fn plausible() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(
            &[
                "public",
                "eventing",
                "https://example.com/hook",
                "http://127.0.0.1:8787/x",
                "ftp://files.example",
                "corezoid:12",
                "corezoid:0",
                "https://",
                "*",
                "https://shop.example",
                "http://[::1]:8080",
                "code-1",
                " padded ",
            ][..]
        )
        .prop_map(Value::from),
        text().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![4 => plausible(), 1 => leaf(), 1 => json()]
}

/// `opts.callback` shaped like a real one (see `outbound`).
fn callback() -> impl Strategy<Value = Value> {
    prop_oneof![3 => crate::outbound::config(), 1 => Just(Value::Null), 1 => json()]
}

fn opts() -> impl Strategy<Value = Value> {
    let origins = proptest::collection::vec(plausible(), 0..4).prop_map(Value::Array);
    (
        object_of(OPTS, value()),
        proptest::option::of(origins),
        proptest::option::of(callback()),
    )
        .prop_map(|(mut o, origins, cb)| {
            if let Some(v) = origins {
                o["cors_origins"] = v;
            }
            if let Some(v) = cb {
                o["callback"] = v;
            }
            o
        })
}

/// A valid value for `field` most of the time, anything sometimes.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let valid: BoxedStrategy<Value> = match field {
        "code" => "[a-zA-Z0-9_.-]{1,16}( [a-z]{1,4})?"
            .prop_map(Value::from)
            .boxed(),
        "type" => select(&["public", "eventing"][..])
            .prop_map(Value::from)
            .boxed(),
        "url" => select(
            &[
                "",
                "https://example.com/hook",
                "http://127.0.0.1:8787/x?y=1",
                "ftp://files.example",
            ][..],
        )
        .prop_map(Value::from)
        .boxed(),
        "recv_svcscriptcode" => prop_oneof![
            select(&["", "https://p.example/x", "corezoid:12"][..]).prop_map(Value::from),
            (1u64..u64::MAX).prop_map(|n| Value::from(format!("corezoid:{n}"))),
        ]
        .boxed(),
        "allow_files_api" | "issync" => any::<bool>().prop_map(Value::from).boxed(),
        "cors_origins" => proptest::collection::vec(
            select(
                &[
                    "*",
                    "https://shop.example",
                    "http://a.example:8080",
                    "http://[::1]:3000",
                ][..],
            )
            .prop_map(Value::from),
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        "callback" => crate::outbound::config().boxed(),
        _ => text().prop_map(Value::from).boxed(),
    };
    prop_oneof![6 => valid, 1 => value()].boxed()
}

fn fields_of(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let picks: Vec<_> = fields
        .iter()
        .map(|f| {
            proptest::option::weighted(0.4, field_value(f)).prop_map(move |v| v.map(|v| (*f, v)))
        })
        .collect();
    (picks, proptest::option::weighted(0.1, (key(), value()))).prop_map(|(picked, extra)| {
        let mut m = serde_json::Map::new();
        for (k, v) in picked.into_iter().flatten() {
            m.insert(k.to_owned(), v);
        }
        if let Some((k, v)) = extra {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

/// A create or PATCH body shaped like a real one.
pub fn entity() -> impl Strategy<Value = Value> {
    let top = &FIELDS[..FIELDS.len() - 1];
    (
        fields_of(top),
        proptest::option::weighted(0.6, prop_oneof![4 => fields_of(OPTS), 1 => opts()]),
    )
        .prop_map(|(mut body, opts)| {
            if let Some(o) = opts {
                body["opts"] = o;
            }
            body
        })
}

fn new_channel(input: &Value) -> Result<Channel, syncbridge_core::error::RestError> {
    channel::create(
        input,
        "id-1".into(),
        "0123456789abcdef0123456789abcdef".into(),
        NOW,
    )
}

/// The fields a client may write, taken from the channel as the API shows it.
fn writable(ch: &Channel) -> Value {
    let mut v = serde_json::to_value(ch).expect("a channel serializes");
    let m = v.as_object_mut().unwrap();
    for k in ["id", "token_local", "ext"] {
        m.remove(k);
    }
    v
}

fn refusal_is_400(
    r: &Result<Channel, syncbridge_core::error::RestError>,
) -> Result<(), TestCaseError> {
    if let Err(e) = r {
        check!(
            e.status == 400,
            "refused with {}: {}",
            e.status,
            e.error_message
        );
        check!(!e.error_message.is_empty(), "a refusal without a message");
    }
    Ok(())
}

#[test]
fn create_round_trips() {
    fuzz_n("channel::create", crate::cases() / 2, entity(), |input| {
        let r = new_channel(&input);
        refusal_is_400(&r)?;
        let Ok(ch) = r else { return Ok(()) };
        crate::accepted();
        check!(!ch.code.is_empty(), "created without a code");
        // What the API shows can be written back and gives the same channel.
        let again = new_channel(&writable(&ch));
        check!(
            again.as_ref() == Ok(&ch),
            "create(render(c)) != c: {again:?}"
        );
        // And patching a channel with its own fields changes nothing but lwt.
        let patched = channel::patch(&ch, &writable(&ch), LATER).expect("a self-patch");
        let mut want = ch.clone();
        want.ext.lwt = LATER.into();
        check!(patched == want, "patch(c, c) changed more than lwt");
        Ok(())
    });
}

#[test]
fn patch_is_validated_and_idempotent() {
    let base = new_channel(&json!({"code": "base", "opts": {"title": "t"}})).unwrap();
    fuzz_n("channel::patch", crate::cases() / 2, entity(), |input| {
        let r = channel::patch(&base, &input, LATER);
        refusal_is_400(&r)?;
        let Ok(once) = r else { return Ok(()) };
        crate::accepted();
        check!(
            once.id == base.id && once.token_local == base.token_local,
            "id or token changed"
        );
        check!(
            once.ext.ct == base.ext.ct && once.ext.lwt == LATER,
            "ext not kept/set"
        );
        let twice = channel::patch(&once, &input, LATER);
        check!(
            twice.as_ref() == Ok(&once),
            "patching twice differs: {twice:?}"
        );
        Ok(())
    });
}

#[test]
fn create_and_patch_take_mutated_bodies() {
    let base = new_channel(&json!({"code": "base"})).unwrap();
    fuzz_n(
        "channel::create+patch/mutated",
        crate::cases() / 2,
        mutated_json(entity()),
        |input| {
            if let Ok(v) = serde_json::from_slice::<Value>(&input) {
                let (c, p) = (new_channel(&v), channel::patch(&base, &v, LATER));
                if c.is_ok() || p.is_ok() {
                    crate::accepted();
                }
                refusal_is_400(&c)?;
                refusal_is_400(&p)?;
            }
            Ok(())
        },
    );
}

#[test]
fn render_keeps_only_the_mask() {
    let full = new_channel(&json!({
        "code": "c", "url": "https://example.com",
        "opts": {"title": "t", "cors_origins": ["*"], "callback": {"body": "@@"}}
    }))
    .unwrap();
    let names = proptest::collection::vec(
        prop_oneof![select(channel_fields()).prop_map(str::to_owned), key()],
        0..6,
    );
    fuzz("channel::render", (names, any::<bool>()), |(mask, flat)| {
        let v = channel::render(&full, Some(&mask), flat);
        let m = v.as_object().expect("an object");
        for k in m.keys() {
            let top = if flat {
                k.split('.').next().unwrap()
            } else {
                k.as_str()
            };
            check!(
                mask.iter()
                    .any(|f| f == k || f == top || f.split('.').next() == Some(top)),
                "{k} shown outside the mask {mask:?}"
            );
        }
        let _ = channel::render(&full, None, flat);
        Ok(())
    });
}

fn channel_fields() -> &'static [&'static str] {
    &[
        "id",
        "code",
        "type",
        "token_local",
        "url",
        "opts",
        "ext",
        "opts.title",
        "opts.callback",
        "opts.cors_origins",
        "ext.ct",
        "nope",
        "opts.nope",
    ]
}

#[test]
fn lookup_takes_any_body() {
    fuzz("channel::lookup_key", bytes(), |input| {
        let r = channel::lookup_key(&input);
        if r.is_ok() {
            crate::accepted();
        }
        let want = matches!(serde_json::from_slice::<Value>(&input), Ok(Value::String(s)) if !s.is_empty());
        check!(r.is_ok() == want, "{r:?}");
        if let Err(e) = r {
            check!(e.status == 400, "status {}", e.status);
        }
        Ok(())
    });
}
