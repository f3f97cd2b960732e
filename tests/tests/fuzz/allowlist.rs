//! Destinations: `AllowList::parse` (the `CALLBACK_ALLOWED_HOSTS` entries)
//! and `check_destination` (a URL against the list).

use crate::gen::{mutated, text, token};
use crate::{check, fuzz};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use syncbridge_core::outbound::{check_destination, AllowList};

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?"
}

/// A host name of 2 to 4 labels; the last starts with a letter (a numeric
/// last label makes the host an IPv4 form, which names are not).
fn host() -> impl Strategy<Value = String> {
    (vec(label(), 1..4), "[a-z][a-z0-9]{0,5}").prop_map(|(mut labels, last)| {
        labels.push(last);
        labels.join(".")
    })
}

/// An entry in every accepted form, and some that are not.
fn entry() -> impl Strategy<Value = String> {
    let scheme = select(&["", "", "http://", "https://", "HTTP://", "ftp://"][..]);
    let port = select(&["", "", "", ":8787", ":443", ":0", ":65536", ":x"][..]);
    let host = prop_oneof![
        4 => host(),
        2 => host().prop_map(|h| format!("*.{h}")),
        1 => select(&["127.0.0.1", "[::1]", "::1", "2001:db8::1", "localhost", "*", "*.1.2.3.4",
                      "0x7f.0.0.1", "[::ffff:127.0.0.1]", "exa_mple.com", "-bad.com", "a..b"][..])
            .prop_map(str::to_owned),
        1 => text(),
    ];
    (scheme, host, port, select(&["", "", "/", "//"][..]))
        .prop_map(|(s, h, p, slash)| format!("{s}{h}{p}{slash}"))
}

fn list_text() -> impl Strategy<Value = String> {
    vec(
        (entry(), select(&[",", " ", "\n", ", ", "\t", ";"][..])),
        0..5,
    )
    .prop_map(|v| v.into_iter().map(|(e, sep)| format!("{e}{sep}")).collect())
}

fn url() -> impl Strategy<Value = String> {
    let scheme = select(&["https://", "http://", "HTTPS://", "ftp://", "", "https:/"][..]);
    let host = prop_oneof![
        4 => host(),
        1 => select(&["127.0.0.1", "[::1]", "[0:0:0:0:0:0:0:1]", "user@example.com", "example.com.",
                      "EXAMPLE.COM", "xn--nxasmq6b.com", "bücher.de", "2130706433", "127.1"][..])
            .prop_map(str::to_owned),
        1 => token(),
    ];
    let port = select(&["", ":443", ":80", ":8787", ":99999", ":"][..]);
    let path = prop_oneof![
        Just(String::new()),
        Just("/x?y#z".to_owned()),
        text().prop_map(|t| format!("/{t}"))
    ];
    (scheme, host, port, path).prop_map(|(s, h, p, path)| format!("{s}{h}{p}{path}"))
}

/// A URL to a host of `list` (a wildcard's host gets a subdomain), or any URL.
fn near(list: &str, pick: usize, url: String, scheme: &str, port: &str, path: &str) -> String {
    let hosts: Vec<String> = list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(|e| {
            let e = e.to_ascii_lowercase();
            let e = e
                .strip_prefix("http://")
                .or_else(|| e.strip_prefix("https://"))
                .unwrap_or(&e)
                .to_owned();
            let host = e.trim_end_matches('/');
            let host = if host.starts_with('[') {
                host.split_inclusive(']').next().unwrap_or(host)
            } else {
                host.split(':').next().unwrap_or(host)
            };
            host.replacen("*.", "sub.", 1)
        })
        .collect();
    if hosts.is_empty() || pick.is_multiple_of(4) {
        return url;
    }
    format!("{scheme}{}{port}{path}", hosts[pick % hosts.len()])
}

#[test]
fn any_list_and_url_are_judged() {
    let list = prop_oneof![4 => list_text(), 1 => text(), 1 => mutated(list_text().prop_map(String::into_bytes)).prop_map(|b| String::from_utf8_lossy(&b).into_owned())];
    let parts = (
        any::<usize>(),
        select(&["https://", "http://", "HTTPS://"][..]),
        select(&["", "", ":8787", ":443"][..]),
        select(&["", "/x", "/a?b#c"][..]),
    );
    let input = (list, url(), parts).prop_map(|(list, url, (pick, scheme, port, path))| {
        let url = near(&list, pick, url, scheme, port, path);
        (list, url)
    });
    fuzz("AllowList::parse+check_destination", input, |(raw, url)| {
        let Ok(list) = AllowList::parse(&raw) else {
            return Ok(());
        };
        if check_destination(&url, &list).is_ok() {
            crate::accepted();
            let lower = url.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            check!(rest.is_some(), "{url} allowed without http(s)");
            let authority = rest.unwrap().split(['/', '?', '#']).next().unwrap();
            check!(!authority.contains('@'), "{url} allowed with user info");
            check!(
                !url.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '\\'),
                "{url:?} allowed with a space, control or backslash"
            );
            check!(!list.is_empty(), "an empty list allowed {url}");
        }
        Ok(())
    });
}

#[test]
fn entries_allow_their_host_and_nothing_near_it() {
    fuzz(
        "check_destination/hosts",
        (
            host(),
            host(),
            any::<bool>(),
            select(&["", "/", "/path?q=1#f"][..]),
        ),
        |(h, other, wildcard, path)| {
            let raw = if wildcard {
                format!("*.{h}")
            } else {
                h.clone()
            };
            let list =
                AllowList::parse(&raw).map_err(|e| TestCaseError::fail(format!("{raw}: {e}")))?;
            let ok = |u: String| check_destination(&u, &list).is_ok();
            check!(
                ok(format!("https://sub.{h}{path}")) == wildcard,
                "sub.{h} under {raw}"
            );
            check!(
                ok(format!("https://{h}{path}")) != wildcard,
                "{h} under {raw}"
            );
            check!(
                ok(format!("https://{}{path}", h.to_uppercase())) != wildcard,
                "upper {h} under {raw}"
            );
            check!(
                !ok(format!("http://{h}{path}")),
                "plain http to {h} under {raw}"
            );
            if !other.ends_with(h.as_str()) {
                check!(
                    !ok(format!("https://{h}.{other}{path}")),
                    "{h}.{other} under {raw}"
                );
            }
            check!(!ok(format!("https://x{h}{path}")), "x{h} under {raw}");
            check!(
                !ok(format!("https://{h}@{other}{path}")),
                "user info under {raw}"
            );
            if other != h && !other.ends_with(&format!(".{h}")) {
                check!(!ok(format!("https://{other}{path}")), "{other} under {raw}");
            }
            check!(
                check_destination(&format!("https://{h}"), &AllowList::parse("").unwrap()).is_err(),
                "empty list"
            );
            Ok(())
        },
    );
}
