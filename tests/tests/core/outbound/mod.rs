//! Outbound callbacks (`outbound`): `opts.callback` validation, `@Name`
//! templates escaped per content type (JSON, XML/SOAP, form, GET query, raw),
//! the destination allow-list, Corteos's `@CallbackId`, the retry policy
//! (schedules, jitter, `Retry-After`, 410, success codes, dead letters) and
//! the delivery record.

mod address;
mod config;
mod control;
mod delivery;
mod destination;
mod dictionaries;
mod lease;
mod recover;
mod retry;
mod send;
mod template;

use serde_json::{json, Map, Value};
use syncbridge_core::error::RestError;
use syncbridge_core::outbound::*;

// ---------------------------------------------------------------------------
// Helpers

use syncbridge_tests::assert_rest_err as assert_err;

#[track_caller]
fn assert_400<T: std::fmt::Debug>(result: Result<T, RestError>, needles: &[&str]) -> String {
    assert_err(result, 400, needles)
}

#[track_caller]
fn parse(v: Value) -> CallbackConfig {
    parse_config(&v).unwrap_or_else(|e| panic!("{v} should parse: {e:?}"))
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("vars must be an object"),
    }
}

const URL: &str = "https://hooks.example.com/corteos";
const CB_ID: &str = "638355968000000000";

#[track_caller]
fn render_ok(config: &CallbackConfig, v: Value) -> Rendered {
    render(config, URL, &vars(v), CB_ID).unwrap_or_else(|e| panic!("render failed: {e:?}"))
}

/// `application/x-www-form-urlencoded` decoding written independently of
/// the crate under test: `+` is a space, `%XX` a byte.
fn form_decode(input: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// RFC 3986 query decoding as `decodeURIComponent` does it, written
/// independently of the crate under test: `%XX` a byte, `+` itself.
fn uri_decode(input: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// Values no template may break.
fn hostile() -> Vec<&'static str> {
    vec![
        "",
        "plain",
        "with \"quotes\" and 'apostrophes'",
        "back\\slash \\\" \\n",
        "line\nbreak\r\nand\ttab",
        "control \u{1}\u{1f}\u{7f}",
        "<tag attr=\"x\">&amp; </script>",
        "ünïcödé Привет 日本語",
        "emoji 🎉👍🏽 and \u{2028}\u{2029}",
        "100% + 1 = 2 & a=b; c?d#e/f",
        "@at @@ @{x} @!y",
        "   spaces   ",
    ]
}

/// Hostile values that XML 1.0 can carry (no C0 controls other than tab, LF, CR).
fn hostile_xml() -> Vec<&'static str> {
    hostile()
        .into_iter()
        .filter(|v| {
            !v.chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        })
        .collect()
}

fn json_config(body: &str, variables: &[&str]) -> CallbackConfig {
    parse(json!({
        "headers": "Content-Type: application/json; charset=utf-8",
        "body": body,
        "variables": variables,
    }))
}
