//! Eventing: event types (`eventing::parse_publish`), patterns
//! (`parse_patterns`, `patterns_from_query`, `matches`) and webhook
//! subscriptions (`parse_subscription`).

use crate::gen::{json, leaf, mutated_json, object_of, text};
use crate::{check, fuzz};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;
use syncbridge_core::eventing;

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![30 => "[A-Za-z0-9_-]{1,6}", 1 => select(&["", "*", "$x", "gateway", "é", " "][..]).prop_map(str::to_owned)]
}

/// A type or pattern: dotted segments, sometimes with `.*`, `*` or noise.
fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => (vec(segment(), 1..5), select(&["", "", "", ".*", ".*", "*", ".", " "][..]))
            .prop_map(|(segs, end)| format!("{}{end}", segs.join("."))),
        1 => Just("*".to_owned()),
        1 => "[a-z]{1,3}".prop_map(|s| format!("gateway.{s}")),
        1 => "[a-z]{1,3}".prop_map(|s| format!("{}.{s}", "a".repeat(126))),
        1 => text(),
    ]
}

pub fn publish() -> impl Strategy<Value = Value> {
    let data = prop_oneof![4 => crate::gen::object_of(crate::gen::NAMES, json()), 1 => leaf()];
    let kind = prop_oneof![6 => kind().prop_map(Value::from), 1 => leaf()];
    (
        proptest::option::weighted(0.95, kind),
        proptest::option::weighted(0.7, data),
        proptest::option::weighted(0.05, (text(), leaf())),
    )
        .prop_map(|(k, d, extra)| {
            let mut m = serde_json::Map::new();
            if let Some(k) = k {
                m.insert("type".into(), k);
            }
            if let Some(d) = d {
                m.insert("data".into(), d);
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

#[test]
fn publish_bodies_are_read() {
    fuzz(
        "eventing::parse_publish",
        prop_oneof![publish(), json()],
        |body| {
            match eventing::parse_publish(&body) {
                Ok((kind, data)) => {
                    crate::accepted();
                    check!(data.is_object(), "data {data}");
                    check!(
                        !kind.starts_with('$') && !kind.starts_with("gateway."),
                        "reserved {kind} published"
                    );
                    check!(
                        kind.chars().count() <= eventing::MAX_TYPE_LEN,
                        "type too long"
                    );
                    // Its own type is a valid pattern, which matches it.
                    let ps = eventing::parse_patterns(std::slice::from_ref(&kind))
                        .map_err(|e| TestCaseError::fail(format!("{kind} is no pattern: {e:?}")))?;
                    check!(
                        eventing::matches(&ps, &kind),
                        "{kind} does not match itself"
                    );
                }
                Err(e) => check!(e.status == 400, "{e:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn publish_takes_mutated_bodies() {
    fuzz(
        "eventing::parse_publish/mutated",
        mutated_json(publish()),
        |input| {
            if let Ok(v) = serde_json::from_slice::<Value>(&input) {
                let _ = eventing::parse_publish(&v);
            }
            Ok(())
        },
    );
}

#[test]
fn patterns_are_idempotent_and_match_consistently() {
    fuzz(
        "eventing::parse_patterns+matches",
        (vec(kind(), 0..12), vec(kind(), 0..4)),
        |(raw, kinds)| {
            let Ok(ps) = eventing::parse_patterns(&raw) else {
                return Ok(());
            };
            crate::accepted();
            check!(ps.len() <= eventing::MAX_PATTERNS, "{} patterns", ps.len());
            let again = eventing::parse_patterns(&ps);
            check!(
                again.as_ref() == Ok(&ps),
                "parse(parse(p)) != parse(p): {again:?}"
            );
            // The query form reads the same list (patterns hold no comma).
            if ps.iter().all(|p| !p.contains(',')) {
                let q = eventing::patterns_from_query(Some(&ps.join(",")));
                check!(q.as_ref() == Ok(&ps), "query form differs: {q:?}");
            }
            for k in &kinds {
                let any = eventing::matches(&ps, k);
                let each = ps.is_empty()
                    || ps
                        .iter()
                        .any(|p| eventing::matches(std::slice::from_ref(p), k));
                check!(
                    any == each,
                    "matches of {k} is not the union of its patterns"
                );
                if ps.iter().any(|p| p == "*") {
                    check!(any, "* missed {k}");
                }
            }
            Ok(())
        },
    );
}

#[test]
fn query_patterns_take_any_text() {
    fuzz(
        "eventing::patterns_from_query",
        prop_oneof![text(), vec(kind(), 0..6).prop_map(|v| v.join(","))],
        |q| {
            if let Err(e) = eventing::patterns_from_query(Some(&q)) {
                check!(e.status == 400, "{e:?}");
            }
            Ok(())
        },
    );
}

#[test]
fn subscriptions_are_read() {
    let url = prop_oneof![
        select(
            &[
                "https://example.com/hook",
                "http://127.0.0.1:9/x",
                "HTTPS://X",
                "https://",
                "https:///x",
                "ftp://x",
                "https://a b"
            ][..]
        )
        .prop_map(Value::from),
        text().prop_map(|t| Value::from(format!("https://{t}"))),
        leaf(),
    ];
    let events = prop_oneof![
        vec(kind().prop_map(Value::from), 0..5).prop_map(Value::Array),
        leaf(),
        json()
    ];
    let body = (
        proptest::option::of(url),
        proptest::option::of(events),
        proptest::option::of(object_of(&["nope"], leaf())),
    )
        .prop_map(|(u, e, extra)| {
            let mut m = serde_json::Map::new();
            if let Some(u) = u {
                m.insert("url".into(), u);
            }
            if let Some(e) = e {
                m.insert("events".into(), e);
            }
            if let Some(Value::Object(x)) = extra {
                m.extend(x);
            }
            Value::Object(m)
        });
    fuzz(
        "eventing::parse_subscription",
        prop_oneof![4 => body, 1 => json()],
        |body| {
            match eventing::parse_subscription(&body, "sub-1".into(), "2026-01-01T00:00:00.000Z") {
                Ok(s) => {
                    crate::accepted();
                    let lower = s.url.to_ascii_lowercase();
                    check!(
                        lower.starts_with("http://") || lower.starts_with("https://"),
                        "url {}",
                        s.url
                    );
                    check!(
                        !s.url.chars().any(|c| c.is_whitespace() || c.is_control()),
                        "url {:?}",
                        s.url
                    );
                }
                Err(e) => check!(e.status == 400, "{e:?}"),
            }
            Ok(())
        },
    );
}
