//! Outbound callbacks: `outbound::parse_config` (method, header lines,
//! templates, variables, the retry policy, secrets), `outbound::render`
//! (placeholders escaped for the body's content type) and
//! `outbound::decide` (the retry verdict, with `Retry-After`).

use crate::gen::{json, leaf, mutated_json, object_of, text, token};
use crate::{check, fuzz};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};
use syncbridge_core::outbound::{self, CallbackConfig, HttpMethod, Verdict, MAX_DELAY_S};

/// A template: text and placeholders in every syntax, some malformed.
fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9 {}\":,<>&=]{0,6}",
        2 => select(&["@Name", "@{Name}", "@!Name", "@!{Name}", "@@", "@CallbackId", "@EventType",
                      "@Other", "@{", "@{}", "@!", "@1", "@ ", "@"][..]).prop_map(str::to_owned),
        1 => token(),
    ];
    vec(piece, 0..10).prop_map(|v| v.concat())
}

fn header_lines() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        select(
            &[
                "Content-Type",
                "X-Token",
                "Host",
                "Content-Length",
                "bad name",
                "",
                "X-ü"
            ][..]
        )
        .prop_map(str::to_owned),
        "[!-9;-~]{1,8}",
    ];
    let value = prop_oneof![
        select(
            &[
                "application/json",
                "text/xml; charset=utf-8",
                "application/x-www-form-urlencoded",
                "application/soap+xml",
                "text/plain"
            ][..]
        )
        .prop_map(str::to_owned),
        template(),
    ];
    vec((name, value, select(&["\n", "\r\n", "\n\n"][..])), 0..4).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(n, v, sep)| format!("{n}: {v}{sep}"))
            .collect()
    })
}

fn retry() -> impl Strategy<Value = Value> {
    let v = prop_oneof![
        2 => select(&["interval", "exponential", "200", "2xx", "2XX", "linear"][..]).prop_map(Value::from),
        2 => (1u64..30).prop_map(Value::from),
        1 => (0u64..100_000).prop_map(Value::from),
        1 => prop_oneof![Just(0.0), Just(0.2), Just(1.0), Just(1.5), -1.0f64..2.0].prop_map(Value::from),
        1 => leaf(),
    ];
    object_of(
        &[
            "schedule",
            "interval_s",
            "max_attempts",
            "jitter",
            "success",
        ],
        v,
    )
}

/// `opts.callback` shaped like a real one.
pub fn config() -> impl Strategy<Value = Value> {
    let method = select(&["GET", "POST", "put", "Patch", "DELETE", ""][..]).prop_map(Value::from);
    let variables = vec(
        prop_oneof![
            select(&["Name", "Other", "CallbackId", "EventType", "1x", "a_b"][..])
                .prop_map(Value::from),
            leaf()
        ],
        0..4,
    )
    .prop_map(Value::Array);
    let secret = prop_oneof![
        Just(""),
        Just("whsec_MDEyMzQ1Njc4OWFiY2RlZg=="),
        Just("whsec_MDEyMzQ1Njc4OWFiY2RlZg"),
        Just("whsec_short"),
        Just("0123456789abcdef"),
        Just("has space 0123456789")
    ]
    .prop_map(Value::from);
    let valid_headers = select(
        &[
            "Content-Type: application/json",
            "X-Token: @Name\nContent-Type: text/xml",
            "",
            "Content-Type: application/x-www-form-urlencoded\r\n",
        ][..],
    )
    .prop_map(Value::from);
    let valid_body = select(
        &[
            "{\"a\": \"@Name\", \"id\": \"@CallbackId\"}",
            "<a>@{Name}</a>",
            "x=@!Name&y=@@",
            "",
            "@EventType @EventDescription",
        ][..],
    )
    .prop_map(Value::from);
    const VARS: &[&[&str]] = &[&["Name"], &["Name", "Other"], &[]];
    let valid_vars = select(VARS).prop_map(|v| Value::from(v.to_vec()));
    (
        proptest::option::weighted(0.3, method),
        proptest::option::of(
            prop_oneof![2 => valid_headers, 1 => header_lines().prop_map(Value::from)],
        ),
        proptest::option::of(prop_oneof![2 => valid_body, 1 => template().prop_map(Value::from)]),
        proptest::option::weighted(0.8, prop_oneof![3 => valid_vars, 1 => variables]),
        proptest::option::weighted(0.3, retry()),
        proptest::option::weighted(0.2, secret.clone()),
        proptest::option::weighted(0.2, secret),
        proptest::option::weighted(0.05, (key_like(), leaf())),
    )
        .prop_map(|(m, h, b, vars, r, s, k, extra)| {
            let mut o = Map::new();
            let names = [
                "method",
                "headers",
                "body",
                "variables",
                "retry",
                "signing_secret",
                "process_key",
            ];
            for (name, v) in names.iter().zip([m, h, b, vars, r, s, k]) {
                if let Some(v) = v {
                    o.insert((*name).into(), v);
                }
            }
            if let Some((k, v)) = extra {
                o.insert(k, v);
            }
            Value::Object(o)
        })
}

fn key_like() -> impl Strategy<Value = String> {
    select(&["method", "body", "nope", "retry"][..]).prop_map(str::to_owned)
}

fn vars() -> impl Strategy<Value = Map<String, Value>> {
    vec(
        (
            select(
                &[
                    "Name",
                    "Other",
                    "EventType",
                    "EventDescription",
                    "CallbackId",
                ][..],
            ),
            prop_oneof![3 => text().prop_map(Value::from), 1 => json()],
        ),
        0..5,
    )
    .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn parse(v: &Value) -> Option<CallbackConfig> {
    match outbound::parse_config(v) {
        Ok(c) => {
            crate::accepted();
            Some(c)
        }
        Err(e) => {
            assert_eq!(e.status, 400, "{e:?}");
            None
        }
    }
}

#[test]
fn parse_config_round_trips() {
    fuzz("outbound::parse_config", config(), |v| {
        let Some(c) = parse(&v) else { return Ok(()) };
        let again = outbound::parse_config(&serde_json::to_value(&c).unwrap());
        check!(
            again.as_ref() == Ok(&c),
            "parse(serialize(c)) != c: {again:?}"
        );
        check!(
            (1..=outbound::MAX_ATTEMPTS_LIMIT).contains(&c.retry.max_attempts)
                && (1..=MAX_DELAY_S).contains(&c.retry.interval_s)
                && (0.0..=1.0).contains(&c.retry.jitter),
            "retry out of bounds: {:?}",
            c.retry
        );
        Ok(())
    });
}

#[test]
fn parse_config_takes_mutated_configs() {
    fuzz(
        "outbound::parse_config/mutated",
        mutated_json(config()),
        |input| {
            if let Ok(v) = serde_json::from_slice::<Value>(&input) {
                let _ = parse(&v);
            }
            Ok(())
        },
    );
}

#[test]
fn render_takes_any_config_and_variables() {
    fuzz(
        "outbound::render",
        (config(), vars(), text()),
        |(v, vars, url)| {
            let Some(c) = parse(&v) else { return Ok(()) };
            match outbound::render(&c, &url, &vars, "638000000000000000") {
                Ok(r) => {
                    for (n, v) in &r.headers {
                        check!(
                            !v.contains(['\r', '\n', '\0']),
                            "header {n} holds CR, LF or NUL"
                        );
                    }
                    if c.method == HttpMethod::Get {
                        check!(r.body.is_empty(), "a GET with a body");
                    }
                }
                Err(e) => check!(e.status == 422, "render refused with {}", e.status),
            }
            Ok(())
        },
    );
}

fn with(headers: &str, body: &str, method: HttpMethod) -> CallbackConfig {
    let mut v = json!({"headers": headers, "body": body, "variables": ["Name", "Other"]});
    v["method"] = method.as_str().into();
    outbound::parse_config(&v).expect("a valid config")
}

fn var_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn two_vars() -> impl Strategy<Value = (Value, Value)> {
    let v = prop_oneof![4 => text().prop_map(Value::from), 1 => json()];
    (v.clone(), v)
}

#[test]
fn json_bodies_stay_json_whatever_the_values() {
    let c = with(
        "Content-Type: application/json",
        r#"{"name": "@Name", "other": "@{Other}", "id": "@CallbackId"}"#,
        HttpMethod::Post,
    );
    fuzz("outbound::render/json", two_vars(), |(a, b)| {
        let vars: Map<String, Value> = [("Name".into(), a.clone()), ("Other".into(), b.clone())]
            .into_iter()
            .collect();
        let r = outbound::render(&c, "https://x.example/h", &vars, "cb-1").expect("renders");
        let parsed: Value = serde_json::from_str(&r.body)
            .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {}", r.body)))?;
        check!(
            parsed["name"] == var_text(&a).as_str(),
            "name: {} vs {a}",
            parsed["name"]
        );
        check!(
            parsed["other"] == var_text(&b).as_str(),
            "other: {} vs {b}",
            parsed["other"]
        );
        check!(parsed["id"] == "cb-1", "id");
        check!(
            parsed.as_object().unwrap().len() == 3,
            "keys added: {}",
            r.body
        );
        Ok(())
    });
}

/// The text of XML with the five entities and `&#13;` undone.
fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&amp;", "&")
}

#[test]
fn xml_bodies_escape_every_value() {
    let c = with(
        "Content-Type: text/xml",
        "<a x=\"@Other\">@Name</a>",
        HttpMethod::Post,
    );
    fuzz("outbound::render/xml", two_vars(), |(a, b)| {
        let vars: Map<String, Value> = [("Name".into(), a.clone()), ("Other".into(), b.clone())]
            .into_iter()
            .collect();
        let Ok(r) = outbound::render(&c, "https://x.example/h", &vars, "cb") else {
            let bad = |v: &Value| {
                var_text(v).chars().any(|c| {
                    (c < ' ' && !"\t\n\r".contains(c)) || c == '\u{FFFE}' || c == '\u{FFFF}'
                })
            };
            check!(bad(&a) || bad(&b), "refused values XML can carry");
            return Ok(());
        };
        let inner = r
            .body
            .strip_prefix("<a x=\"")
            .and_then(|s| s.strip_suffix("</a>"));
        let Some((attr, text)) = inner.and_then(|s| s.split_once("\">")) else {
            return Err(TestCaseError::fail(format!("structure broken: {}", r.body)));
        };
        check!(
            !attr.contains(['<', '>', '"']) && !text.contains(['<', '>']),
            "unescaped: {}",
            r.body
        );
        check!(
            unescape_xml(attr) == var_text(&b) && unescape_xml(text) == var_text(&a),
            "values changed: {}",
            r.body
        );
        Ok(())
    });
}

#[test]
fn forms_and_queries_decode_to_the_values() {
    let post = with(
        "Content-Type: application/x-www-form-urlencoded",
        "a=@Name&b=@Other",
        HttpMethod::Post,
    );
    let get = with("", "a=@Name&b=@Other", HttpMethod::Get);
    let url = prop_oneof![
        Just("https://x.example/h".to_owned()),
        Just("https://x.example/h?k=v".to_owned()),
        Just("https://x.example/h?".to_owned()),
        Just("https://x.example/h#frag".to_owned()),
    ];
    fuzz(
        "outbound::render/form+get",
        (two_vars(), url),
        |((a, b), url)| {
            let vars: Map<String, Value> =
                [("Name".into(), a.clone()), ("Other".into(), b.clone())]
                    .into_iter()
                    .collect();
            let want = [
                ("a".to_owned(), var_text(&a)),
                ("b".to_owned(), var_text(&b)),
            ];
            let r = outbound::render(&post, &url, &vars, "cb").expect("renders");
            let got: Vec<(String, String)> = form_urlencoded::parse(r.body.as_bytes())
                .into_owned()
                .collect();
            check!(got == want, "form {} decodes to {got:?}", r.body);
            let r = outbound::render(&get, &url, &vars, "cb").expect("renders");
            let (base, frag) = r.url.split_at(r.url.find('#').unwrap_or(r.url.len()));
            check!(
                frag == if url.contains('#') { "#frag" } else { "" },
                "fragment moved: {}",
                r.url
            );
            let query = base.split_once('?').map_or("", |(_, q)| q);
            let got: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .filter(|(k, _)| k != "k")
                .collect();
            check!(got == want, "query of {} decodes to {got:?}", r.url);
            Ok(())
        },
    );
}

#[test]
fn header_values_never_carry_line_breaks() {
    let c = with(
        "X-Name: pre-@Name-post\nX-Raw: @!Other",
        "",
        HttpMethod::Post,
    );
    fuzz("outbound::render/headers", two_vars(), |(a, b)| {
        let vars: Map<String, Value> = [("Name".into(), a.clone()), ("Other".into(), b.clone())]
            .into_iter()
            .collect();
        match outbound::render(&c, "https://x.example/h", &vars, "cb") {
            Ok(r) => {
                check!(r.headers.len() == 2, "headers {:?}", r.headers);
                check!(
                    r.headers[0].1 == format!("pre-{}-post", var_text(&a)),
                    "value changed"
                );
                check!(
                    r.headers
                        .iter()
                        .all(|(_, v)| !v.contains(['\r', '\n', '\0'])),
                    "line break in a header"
                );
            }
            Err(e) => {
                check!(e.status == 422, "status {}", e.status);
                let broken = |v: &Value| var_text(v).contains(['\r', '\n', '\0']);
                check!(
                    broken(&a) || broken(&b),
                    "refused clean values: {}",
                    e.error_message
                );
            }
        }
        Ok(())
    });
}

#[test]
fn retry_verdicts_stay_in_bounds() {
    let retry_after = prop_oneof![
        Just(None),
        text().prop_map(Some),
        any::<u64>().prop_map(|n| Some(n.to_string())),
        select(
            &[
                "Sun, 06 Nov 1994 08:49:37 GMT",
                "Wed, 21 Oct 2099 07:28:00 GMT",
                "Sat, 29 Feb 2025 00:00:00 GMT",
                "Mon, 31 Apr 2026 25:61:61 GMT"
            ][..]
        )
        .prop_map(|s| Some(s.to_owned())),
    ];
    fuzz(
        "outbound::decide",
        (
            retry(),
            any::<u32>(),
            proptest::option::of(any::<u16>()),
            retry_after,
            any::<u64>(),
            any::<f64>(),
        ),
        |(policy, attempt, status, ra, now, random)| {
            let Some(c) = parse(&json!({"retry": policy})) else {
                return Ok(());
            };
            match outbound::decide(&c.retry, attempt, status, ra.as_deref(), now, random) {
                Verdict::Retry { delay_s } => {
                    check!(delay_s <= MAX_DELAY_S, "delay {delay_s}");
                    check!(attempt < c.retry.max_attempts, "retry past max_attempts");
                }
                Verdict::Delivered => check!(
                    status.is_some_and(|s| (200..300).contains(&s)),
                    "delivered on {status:?}"
                ),
                Verdict::Stop => check!(status == Some(410), "stop on {status:?}"),
                Verdict::Dead => {}
            }
            Ok(())
        },
    );
}
