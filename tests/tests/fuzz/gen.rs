//! Generators: arbitrary bytes and text, tricky tokens, JSON of any shape,
//! JSON objects with the real field names, and byte mutations of valid
//! inputs (the structure-aware half of a fuzzer's corpus).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number, Value};

/// Tokens that sit on the parsers' edges: template syntax, URL parts,
/// escapes, control and non-ASCII characters, numbers at their limits.
pub const TOKENS: &[&str] = &[
    "",
    " ",
    "\t",
    "\r\n",
    "\n",
    "\0",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{FFFE}",
    "\u{FFFF}",
    "é",
    "日本",
    "🦀",
    "\u{200b}",
    "\"",
    "'",
    "\\",
    "\\u0000",
    "<",
    ">",
    "&",
    ";",
    ",",
    ".",
    "..",
    ":",
    "::",
    "/",
    "//",
    "?",
    "#",
    "%",
    "%00",
    "%zz",
    "%2F",
    "+",
    "=",
    "&&",
    "@",
    "@@",
    "@{",
    "@{}",
    "@!",
    "@!{",
    "}",
    "{",
    "@Name",
    "@{Name}",
    "@!Name",
    "@CallbackId",
    "@EventType",
    "@1x",
    "*",
    ".*",
    "*.",
    "$",
    "$ws",
    "gateway.",
    "gateway.webhook.received",
    "order.paid",
    "a",
    "A",
    "_",
    "-",
    "0",
    "1",
    "-1",
    "01",
    "1e400",
    "NaN",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740991",
    "4294967296",
    "true",
    "null",
    "http://",
    "https://",
    "HTTP://",
    "ftp://",
    "ftps://",
    "ws://",
    "corezoid:",
    "corezoid:0",
    "corezoid:12",
    "localhost",
    "127.0.0.1",
    "0x7f.0.0.1",
    "2130706433",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "::1",
    "[",
    "]",
    "example.com",
    "*.example.com",
    "user@host",
    ":0",
    ":80",
    ":443",
    ":65535",
    ":65536",
    "Content-Type",
    "content-type: application/json",
    "application/json",
    "text/xml",
    "application/x-www-form-urlencoded",
    "Host: x",
    "whsec_",
    "MDEyMzQ1Njc4OWFiY2RlZg==",
    "asc",
    "desc",
    "DESC",
    "opts.title",
    "opts.issync",
    "code",
    "id",
    "Sun, 06 Nov 1994 08:49:37 GMT",
];

/// Names the parsers know (fields, parameters, ops, keys), so that
/// generated objects reach past "unknown field".
pub const NAMES: &[&str] = &[
    "type",
    "obj",
    "conv_id",
    "data",
    "ref",
    "id",
    "ops",
    "timeout",
    "request_id",
    "code",
    "token_local",
    "token_remote",
    "token_remote2",
    "url",
    "recv_svcscriptcode",
    "recv_svcscriptcode_ws",
    "send_svcscriptcode",
    "send_svcscriptcode_ws",
    "opts",
    "ext",
    "title",
    "comment",
    "allow_files_api",
    "issync",
    "cors_origins",
    "corezoid_login",
    "eventing_channel",
    "callback",
    "method",
    "headers",
    "body",
    "variables",
    "retry",
    "signing_secret",
    "process_key",
    "schedule",
    "interval_s",
    "max_attempts",
    "jitter",
    "success",
    "events",
    "response_code",
    "response_content",
    "response_headers",
    "content-type",
    "Content-Type",
    "set-cookie",
    "x-a",
    "ct",
    "lwt",
    "sim",
    "mode",
];

/// One of [`TOKENS`].
pub fn token() -> impl Strategy<Value = String> {
    select(TOKENS).prop_map(str::to_owned)
}

/// Text of every kind: arbitrary Unicode, printable ASCII, and
/// concatenations of tricky tokens with ASCII in between.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[ -~]{0,24}",
        4 => vec(prop_oneof![token(), "[a-zA-Z0-9_.-]{0,8}"], 0..8).prop_map(|v| v.concat()),
    ]
}

/// A key: usually a known name, sometimes anything.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => select(NAMES).prop_map(str::to_owned), 1 => text()]
}

/// Arbitrary bytes, or text as bytes.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        text().prop_map(String::into_bytes),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..1000).prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(&[0.0, -0.0, 0.5, 1.0, 1.5, 1e300, -1e300, f64::MIN_POSITIVE][..])
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// A JSON leaf.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        2 => number(),
        4 => text().prop_map(Value::from),
    ]
}

/// JSON of any shape, keys mostly the known names.
pub fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose keys are drawn from `fields` (mostly) and whose
/// values come from `value`.
pub fn object_of<S>(fields: &'static [&'static str], value: S) -> impl Strategy<Value = Value>
where
    S: Strategy<Value = Value>,
{
    let k = prop_oneof![6 => select(fields).prop_map(str::to_owned), 1 => key()];
    vec((k, value), 0..8).prop_map(|pairs| {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

/// A byte-level mutation of a valid input.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (
            any::<usize>(),
            prop_oneof![token().prop_map(String::into_bytes), vec(any::<u8>(), 1..4)]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

/// Applies `mutations` to `input`, in order.
pub fn mutate(mut input: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = input.len();
        let at = |i: usize| if len == 0 { 0 } else { i % (len + 1) };
        match m {
            Mutation::Flip(i, x) if len > 0 => input[i % len] ^= x,
            Mutation::Flip(..) => {}
            Mutation::Insert(i, b) => {
                let p = at(*i);
                input.splice(p..p, b.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let p = at(*i);
                let end = (p + n).min(len);
                input.drain(p..end);
            }
            Mutation::Truncate(i) => input.truncate(at(*i)),
            Mutation::Duplicate(i, n) => {
                let p = at(*i);
                let end = (p + n).min(len);
                let copy = input[p..end].to_vec();
                input.splice(p..p, copy);
            }
        }
    }
    input
}

/// The bytes of a valid input from `valid`, mutated 0 to 4 times.
pub fn mutated<S>(valid: S) -> impl Strategy<Value = Vec<u8>>
where
    S: Strategy<Value = Vec<u8>>,
{
    (valid, vec(mutation(), 0..5)).prop_map(|(input, ms)| mutate(input, &ms))
}

/// JSON text of `value` (serialized), mutated 0 to 4 times.
pub fn mutated_json<S>(value: S) -> impl Strategy<Value = Vec<u8>>
where
    S: Strategy<Value = Value>,
{
    mutated(value.prop_map(|v| v.to_string().into_bytes()))
}

/// Query pairs: names mostly from `names`, values from `values`.
pub fn pairs<S>(
    names: &'static [&'static str],
    values: S,
) -> impl Strategy<Value = Vec<(String, String)>>
where
    S: Strategy<Value = String>,
{
    let name = prop_oneof![6 => select(names).prop_map(str::to_owned), 1 => text()];
    vec((name, values), 0..5)
}

/// Equal JSON, floats within 4 ULPs: serde_json (without its
/// `float_roundtrip` feature) reads some numbers 1 ULP off the nearest
/// double, so a float may not survive printing and reading back exactly.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}
