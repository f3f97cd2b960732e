//! Inbound webhooks: sync or async, the event handed to the process, the
//! process's answer as an HTTP response, CORS, Standard Webhooks signatures.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use syncbridge_core::channel::{self, Channel, Ext, Opts};
use syncbridge_core::webhook::{
    self, allowed_origin, body_value, cookies, is_sync, preflight, query, reply, Inbound, Reply,
    DEFAULT_CONTENT_TYPE, EVENT_TYPE,
};

/// A channel built directly (channel::create is not under test here).
fn chan(issync: bool) -> Channel {
    Channel {
        id: "5f0c3b0e-9f5e-4b8e-8d5c-2f1f6a2b9c11".into(),
        code: "shop-orders".into(),
        kind: channel::ChannelKind::Public,
        token_local: "0123456789abcdef0123456789abcdef".into(),
        token_remote: "remote-secret".into(),
        token_remote2: "remote-secret-2".into(),
        url: "https://shop.example/hook".into(),
        recv_svcscriptcode: "corezoid:1234".into(),
        recv_svcscriptcode_ws: String::new(),
        send_svcscriptcode: String::new(),
        send_svcscriptcode_ws: String::new(),
        opts: Opts {
            title: "Shop".into(),
            issync,
            cors_origins: vec!["https://shop.example".into()],
            ..Opts::default()
        },
        ext: Ext {
            ct: "2019-08-28T13:34:16.420Z".into(),
            lwt: "2019-08-28T13:34:16.420Z".into(),
        },
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---- sync or async ----------------------------------------------------------

#[test]
fn sync_only_when_the_channel_says_so_and_the_query_does_not_ask_for_async() {
    let base = "https://gw.example/api/token/v1/0123456789abcdef0123456789abcdef";
    let sync = chan(true);
    let not_sync = chan(false);

    assert!(is_sync(&sync, base));
    assert!(!is_sync(&not_sync, base));

    for url_async in [
        "?async=true",
        "?async=TRUE",
        "?async=True",
        "?async=1",
        "?x=1&async=true",
        "?async=false&async=true",
        "?async=%74rue",
        "/sub/path?async=true#frag",
    ] {
        let url = format!("{base}{url_async}");
        assert!(!is_sync(&sync, &url), "{url}");
        assert!(!is_sync(&not_sync, &url), "{url}");
    }
    for still_sync in [
        "?async=false",
        "?async=0",
        "?async=yes",
        "?async=",
        "?async",
        "?async=true1",
        "?async=%20true",
        "?ASYNC=true",
        "?asynchronous=true",
        "?xasync=true",
        "#async=true",
        "?a=1#async=true",
        "/async=true",
    ] {
        let url = format!("{base}{still_sync}");
        assert!(is_sync(&sync, &url), "{url}");
        assert!(!is_sync(&not_sync, &url), "{url}");
    }
    // A bare path with a query is read the same way.
    assert!(!is_sync(&sync, "/api/webrequest/shop?async=true"));
    assert!(is_sync(&sync, "/api/webrequest/shop"));
}

// ---- the event --------------------------------------------------------------

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// Needs channel::public_view.
#[test]
fn event_carries_the_whole_request() {
    let ch = chan(true);
    let hs = headers(&[
        ("content-type", "application/json; charset=utf-8"),
        ("x-trace", "a"),
        ("accept", "text/html"),
        ("X-Trace", "b"),
        ("cookie", "sid=abc; theme=dark"),
    ]);
    let url = "https://gw.example/api/webrequest/shop/orders/42?page=2&tag=a&tag=b#top";
    let inbound = Inbound {
        method: "PATCH",
        url,
        headers: &hs,
        body: br#"{"order":42,"items":["x","y"]}"#,
        ip: Some("203.0.113.7"),
        protocol: "https",
    };
    let ev = webhook::event(&inbound, &ch, "evt-1", false, "https://gw.example/cb/xyz");
    let m = ev.as_object().expect("an object");

    let mut keys: Vec<&str> = m.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "__callback_url",
            "body",
            "channel",
            "cookies",
            "event",
            "headers",
            "ip",
            "method",
            "path",
            "protocol",
            "query",
            "url",
        ]
    );
    assert_eq!(
        ev["event"],
        json!({"id": "evt-1", "type": "$webRequest", "async": false})
    );
    assert_eq!(EVENT_TYPE, "$webRequest");
    assert_eq!(ev["channel"], channel::public_view(&ch));
    assert_eq!(ev["method"], "PATCH");
    assert_eq!(ev["url"], url);
    assert_eq!(ev["path"], "/api/webrequest/shop/orders/42");
    assert_eq!(ev["query"], json!({"page": "2", "tag": ["a", "b"]}));
    assert_eq!(
        ev["headers"],
        json!({
            "content-type": "application/json; charset=utf-8",
            "x-trace": "a, b",
            "accept": "text/html",
            "cookie": "sid=abc; theme=dark",
        })
    );
    assert_eq!(ev["cookies"], json!({"sid": "abc", "theme": "dark"}));
    assert_eq!(ev["body"], json!({"order": 42, "items": ["x", "y"]}));
    assert_eq!(ev["ip"], "203.0.113.7");
    assert_eq!(ev["protocol"], "https");
    assert_eq!(ev["__callback_url"], "https://gw.example/cb/xyz");

    // The process never sees the channel's secrets.
    let text = ev.to_string();
    for secret in [&ch.token_local, &ch.token_remote, &ch.token_remote2] {
        assert!(!text.contains(secret.as_str()), "leaks {secret}");
    }
}

// Needs channel::public_view.
#[test]
fn event_of_a_bare_binary_request() {
    let ch = chan(false);
    let body = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff];
    let hs = headers(&[("content-type", "image/png")]);
    let inbound = Inbound {
        method: "POST",
        url: "http://gw.example",
        headers: &hs,
        body: &body,
        ip: None,
        protocol: "http",
    };
    let ev = webhook::event(&inbound, &ch, "e2", true, "cb");
    assert_eq!(ev["event"]["async"], true);
    assert_eq!(ev["path"], "/");
    assert_eq!(ev["query"], json!({}));
    assert_eq!(ev["cookies"], json!({}));
    assert_eq!(ev["ip"], Value::Null);
    assert_eq!(ev["protocol"], "http");
    assert_eq!(ev["body_encoding"], "base64");
    assert_eq!(STANDARD.decode(ev["body"].as_str().unwrap()).unwrap(), body);
}

// Needs channel::public_view.
#[test]
fn event_headers_are_lowercased_and_cookies_read_from_every_cookie_header() {
    let ch = chan(true);
    let hs = headers(&[
        ("Cookie", "a=1"),
        ("X-Multi", "one"),
        ("cookie", "b=2; a=ignored"),
        ("x-multi", "two"),
        ("x-multi", "three"),
    ]);
    let inbound = Inbound {
        method: "GET",
        url: "https://gw.example/api/token/v1/t/%D0%BF%20x?q",
        headers: &hs,
        body: b"",
        ip: Some("::1"),
        protocol: "https",
    };
    let ev = webhook::event(&inbound, &ch, "e3", false, "cb");
    assert_eq!(
        ev["headers"],
        json!({"cookie": "a=1; b=2; a=ignored", "x-multi": "one, two, three"})
    );
    assert_eq!(ev["cookies"], json!({"a": "1", "b": "2"}));
    // The path as sent, not decoded.
    assert_eq!(ev["path"], "/api/token/v1/t/%D0%BF%20x");
    assert_eq!(ev["query"], json!({"q": ""}));
    assert_eq!(ev["body"], Value::Null);
    assert!(ev.get("body_encoding").is_none());
}

// ---- the body ---------------------------------------------------------------

#[test]
fn empty_body_is_null_whatever_the_content_type() {
    for ct in [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("application/octet-stream"),
    ] {
        assert_eq!(body_value(ct, b""), (Value::Null, None), "{ct:?}");
    }
}

#[test]
fn json_bodies_are_parsed() {
    let body = br#"{"a":[1,2,{"b":null}],"u":"\u00e9\u4e2d"}"#;
    let want = json!({"a": [1, 2, {"b": null}], "u": "é中"});
    for ct in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "  application/json ;charset=UTF-8",
        "application/vnd.api+json",
        "application/problem+json; charset=utf-8",
        "APPLICATION/LD+JSON",
    ] {
        assert_eq!(body_value(Some(ct), body), (want.clone(), None), "{ct}");
    }
    // Scalars are JSON too.
    assert_eq!(
        body_value(Some("application/json"), b"42"),
        (json!(42), None)
    );
    assert_eq!(
        body_value(Some("application/json"), b" \"s\" "),
        (json!("s"), None)
    );
    assert_eq!(
        body_value(Some("application/json"), b"null"),
        (Value::Null, None)
    );
}

#[test]
fn invalid_json_is_text_and_non_utf8_json_is_base64() {
    for bad in [
        &b"{"[..],
        b"{'a':1}",
        b"[1,]",
        b"{} {}",
        "\u{feff}{}".as_bytes(),
    ] {
        let text = std::str::from_utf8(bad).unwrap();
        assert_eq!(
            body_value(Some("application/json"), bad),
            (json!(text), None),
            "{text:?}"
        );
    }
    let latin1 = b"{\"a\":\"\xe9\"}";
    assert_eq!(
        body_value(Some("application/json"), latin1),
        (json!(STANDARD.encode(latin1)), Some("base64"))
    );
}

#[test]
fn json_is_only_read_under_a_json_content_type() {
    for ct in [
        None,
        Some(""),
        Some(";"),
        Some("json"),
        Some("application/jsonx"),
        Some("application/json-patch"),
        Some("text/plain"),
        Some("application/octet-stream"),
        Some("garbage/\u{1F600}"),
    ] {
        assert_eq!(
            body_value(ct, b"{\"a\":1}"),
            (json!("{\"a\":1}"), None),
            "{ct:?}"
        );
    }
}

#[test]
fn form_bodies_become_objects() {
    let ct = Some("application/x-www-form-urlencoded");
    assert_eq!(
        body_value(ct, b"a=1&b=2&a=3&a=4"),
        (json!({"a": ["1", "3", "4"], "b": "2"}), None)
    );
    assert_eq!(
        body_value(
            Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
            b"name=%D0%9F%D1%80%D0%B8+%D0%B2%D0%B5%D1%82&amp=%26&eq=a%3Db&flag&empty="
        ),
        (
            json!({"name": "При вет", "amp": "&", "eq": "a=b", "flag": "", "empty": ""}),
            None
        )
    );
    // Raw UTF-8 in a form is kept; a percent-encoded non-UTF-8 byte becomes U+FFFD.
    assert_eq!(
        body_value(ct, "k=é&bad=%FF".as_bytes()),
        (json!({"k": "é", "bad": "\u{fffd}"}), None)
    );
    // A form body that is not UTF-8 is carried as bytes.
    assert_eq!(
        body_value(ct, b"a=\xff"),
        (json!(STANDARD.encode(b"a=\xff")), Some("base64"))
    );
    // Form-looking text under another type stays text.
    assert_eq!(body_value(Some("text/plain"), b"a=1"), (json!("a=1"), None));
}

#[test]
fn utf8_bodies_are_text_and_others_base64() {
    let text = "Привет, 世界! 🎉\n\0tab\t";
    for ct in [
        None,
        Some("text/plain"),
        Some("TEXT/HTML; charset=utf-8"),
        Some("application/xml"),
        Some("application/octet-stream"),
        Some("multipart/form-data; boundary=x"),
    ] {
        assert_eq!(
            body_value(ct, text.as_bytes()),
            (json!(text), None),
            "{ct:?}"
        );
    }
    for bytes in [
        &[0xffu8, 0xfe, 0x00][..],
        &[0x80],
        b"caf\xe9",          // latin-1
        &[0xe4, 0xb8],       // truncated UTF-8
        &[0xed, 0xa0, 0x80], // a surrogate
    ] {
        for ct in [None, Some("text/plain; charset=latin1"), Some("image/png")] {
            let (v, enc) = body_value(ct, bytes);
            assert_eq!(enc, Some("base64"), "{bytes:?} {ct:?}");
            assert_eq!(STANDARD.decode(v.as_str().unwrap()).unwrap(), bytes);
        }
    }
    assert_eq!(
        body_value(None, &[0xff, 0xfe, 0x00]),
        (json!("//4A"), Some("base64"))
    );
}

// ---- cookies ----------------------------------------------------------------

#[test]
fn cookies_are_parsed() {
    assert_eq!(cookies(None), Map::new());
    assert_eq!(cookies(Some("")), Map::new());
    assert_eq!(
        cookies(Some("a=1; b=two")),
        obj(json!({"a": "1", "b": "two"}))
    );
    assert_eq!(
        cookies(Some("a=1;b=2 ;  c = 3 ")),
        obj(json!({"a": "1", "b": "2", "c": "3"}))
    );
    assert_eq!(
        cookies(Some(r#"q="quoted value"; e=; eq=a=b==; u=пр%20x; "x"#)),
        obj(json!({"q": "quoted value", "e": "", "eq": "a=b==", "u": "пр%20x"}))
    );
}

#[test]
fn cookie_junk_is_skipped_and_the_first_of_a_name_wins() {
    assert_eq!(
        cookies(Some(
            "; ;foo; =bar; a b=1; (x)=2; é=3; c=3;; ===; c=4; ok=1"
        )),
        obj(json!({"c": "3", "ok": "1"}))
    );
    assert_eq!(
        cookies(Some("sid=first; sid=second")),
        obj(json!({"sid": "first"}))
    );
    // Names are case-sensitive.
    assert_eq!(
        cookies(Some("SID=1; sid=2")),
        obj(json!({"SID": "1", "sid": "2"}))
    );
}

// ---- query ------------------------------------------------------------------

#[test]
fn query_is_parsed() {
    assert_eq!(query("https://h.example/p"), Map::new());
    assert_eq!(query("https://h.example/p?"), Map::new());
    assert_eq!(query("https://h.example/p?#a=1"), Map::new());
    assert_eq!(
        query("https://h.example/p?a=1&b=2"),
        obj(json!({"a": "1", "b": "2"}))
    );
    assert_eq!(
        query("https://h.example/p?t=1&t=2&x=0&t=3"),
        obj(json!({"t": ["1", "2", "3"], "x": "0"}))
    );
    assert_eq!(
        query("https://h.example/p?flag&empty=&&=lonely&"),
        obj(json!({"flag": "", "empty": "", "": "lonely"}))
    );
    assert_eq!(
        query("https://h.example/p?s=a+b%20c&amp=%26&q=what%3F&raw=x?y#frag=1"),
        obj(json!({"s": "a b c", "amp": "&", "q": "what?", "raw": "x?y"}))
    );
    assert_eq!(
        query("https://h.example/p?name=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82&r=世界"),
        obj(json!({"name": "Привет", "r": "世界"}))
    );
    assert_eq!(
        query("/api/webrequest/x?a[]=1&a[]=2&A=3"),
        obj(json!({"a[]": ["1", "2"], "A": "3"}))
    );
    // Repeated keys keep their empty values too.
    assert_eq!(
        query("http://h/?k&k=&k=v"),
        obj(json!({"k": ["", "", "v"]}))
    );
}

// ---- the process's answer ---------------------------------------------------

/// Values of header `name` (any case), in order.
fn values<'a>(r: &'a Reply, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn content_type(r: &Reply) -> &str {
    let v = values(r, "content-type");
    assert_eq!(v.len(), 1, "exactly one content-type in {:?}", r.headers);
    v[0]
}

#[test]
fn an_empty_answer_is_200_with_no_body() {
    let r = reply(&json!({})).unwrap();
    assert_eq!(
        r,
        Reply {
            status: 200,
            headers: vec![("content-type".into(), DEFAULT_CONTENT_TYPE.into())],
            body: vec![],
        }
    );
    assert_eq!(DEFAULT_CONTENT_TYPE, "application/octet-stream");
    let nulls = json!({"response_code": null, "response_content": null, "response_headers": null});
    assert_eq!(reply(&nulls).unwrap(), r);
    let blanks = json!({"response_code": "", "response_headers": ""});
    assert_eq!(reply(&blanks).unwrap(), r);
    // Other keys of the callback are not the answer's business.
    assert_eq!(reply(&json!({"task": {"x": 1}, "ops": []})).unwrap(), r);
}

#[test]
fn an_answer_that_is_not_an_object_is_refused() {
    for bad in [
        json!(null),
        json!([]),
        json!("200"),
        json!(200),
        json!(true),
    ] {
        assert!(reply(&bad).is_err(), "{bad}");
    }
}

#[test]
fn response_code_is_checked() {
    for (code, want) in [
        (json!(200), 200),
        (json!(201), 201),
        (json!(302), 302),
        (json!(404), 404),
        (json!(599), 599),
        (json!("200"), 200),
        (json!("418"), 418),
        (json!("599"), 599),
        (json!(204), 204),
    ] {
        let r = reply(&json!({"response_code": code})).unwrap();
        assert_eq!(r.status, want, "{code}");
    }
    for bad in [
        json!(0),
        json!(100),
        json!(101),
        json!(199),
        json!(600),
        json!(1000),
        json!(-200),
        json!(200.5),
        json!(1e3),
        json!(u64::MAX),
        json!("199"),
        json!("600"),
        json!("0200"),
        json!("2000"),
        json!(" 200"),
        json!("200 "),
        json!("+200"),
        json!("20x"),
        json!("OK"),
        json!(true),
        json!([200]),
        json!({"code": 200}),
    ] {
        let err = reply(&json!({"response_code": bad}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("response_code"), "{bad}: {err}");
    }
}

#[test]
fn response_content_becomes_the_body() {
    let r = reply(&json!({"response_content": "Привет 🎉"})).unwrap();
    assert_eq!(r.body, "Привет 🎉".as_bytes());
    assert_eq!(content_type(&r), DEFAULT_CONTENT_TYPE);

    let r = reply(&json!({"response_content": ""})).unwrap();
    assert!(r.body.is_empty());

    // Non-string JSON is serialised, as JSON.
    for (content, text) in [
        // Keys keep the process's order (serde_json's preserve_order).
        (json!({"ok": true, "n": [1, 2]}), r#"{"ok":true,"n":[1,2]}"#),
        (json!([1, "a"]), r#"[1,"a"]"#),
        (json!(42), "42"),
        (json!(false), "false"),
    ] {
        let r = reply(&json!({"response_content": content})).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), content);
        assert_eq!(r.body, text.as_bytes());
        assert_eq!(content_type(&r), "application/json");
    }
    // …unless the process named its own type.
    let r = reply(&json!({
        "response_content": {"a": 1},
        "response_headers": {"Content-Type": "application/vnd.x+json"},
    }))
    .unwrap();
    assert_eq!(content_type(&r), "application/vnd.x+json");
    assert_eq!(r.headers.len(), 1);
}

#[test]
fn null_body_statuses_cannot_carry_content() {
    for code in [204, 205, 304] {
        let r = reply(&json!({"response_code": code})).unwrap();
        assert!(r.body.is_empty());
        let r = reply(&json!({"response_code": code, "response_content": ""})).unwrap();
        assert!(r.body.is_empty());
        let err = reply(&json!({"response_code": code, "response_content": "x"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("body"), "{err}");
        assert!(reply(&json!({"response_code": code, "response_content": {}})).is_err());
    }
}

#[test]
fn response_headers_are_merged_with_a_content_type() {
    // Oktell Studio's example.
    let r = reply(&json!({
        "response_code": 201,
        "response_content": "created",
        "response_headers": {"content-type": "text/plain; charset=utf-8", "X-Id": "7"},
    }))
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.body, b"created");
    assert_eq!(content_type(&r), "text/plain; charset=utf-8");
    let mut hs = r.headers.clone();
    hs.sort();
    assert_eq!(
        hs,
        [
            ("X-Id".to_string(), "7".to_string()),
            ("content-type".into(), "text/plain; charset=utf-8".into()),
        ]
    );

    // Any case of Content-Type counts; its name is kept as given.
    for name in ["Content-Type", "CONTENT-TYPE", "content-Type"] {
        let r = reply(&json!({"response_headers": {name: "text/csv"}})).unwrap();
        assert_eq!(r.headers, [(name.to_string(), "text/csv".to_string())]);
    }
    // No content type given: the default, once.
    let r = reply(&json!({"response_headers": {"x-a": "1"}})).unwrap();
    assert_eq!(content_type(&r), DEFAULT_CONTENT_TYPE);
    assert_eq!(values(&r, "x-a"), ["1"]);
    // An empty one counts as none.
    let r = reply(&json!({"response_headers": {"Content-Type": "  "}})).unwrap();
    assert_eq!(
        r.headers,
        [("content-type".into(), DEFAULT_CONTENT_TYPE.into())]
    );
    // Twice is ambiguous.
    for twice in [
        json!({"Content-Type": "text/plain", "content-type": "text/html"}),
        json!({"content-type": ["text/plain", "text/html"]}),
    ] {
        let err = reply(&json!({"response_headers": twice}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("content-type"), "{err}");
    }
    let r = reply(&json!({"response_headers": {"content-type": ["text/plain"]}})).unwrap();
    assert_eq!(content_type(&r), "text/plain");
}

#[test]
fn response_headers_may_be_a_json_string() {
    let r = reply(&json!({
        "response_headers": r#"{"content-type":"text/plain; charset=utf-8","x-n":5}"#,
    }))
    .unwrap();
    assert_eq!(content_type(&r), "text/plain; charset=utf-8");
    assert_eq!(values(&r, "x-n"), ["5"]);

    let r = reply(&json!({"response_headers": "  "})).unwrap();
    assert_eq!(
        r.headers,
        [("content-type".into(), DEFAULT_CONTENT_TYPE.into())]
    );
    let r = reply(&json!({"response_headers": "{}"})).unwrap();
    assert_eq!(
        r.headers,
        [("content-type".into(), DEFAULT_CONTENT_TYPE.into())]
    );

    for bad in [
        json!("{"),
        json!("content-type: text/plain"),
        json!("[]"),
        json!("null"),
        json!("\"x\""),
        json!(5),
        json!(true),
        json!([["content-type", "text/plain"]]),
    ] {
        let err = reply(&json!({"response_headers": bad}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("response_headers"), "{bad}: {err}");
    }
}

#[test]
fn header_values_of_other_types() {
    let r = reply(&json!({"response_headers": {
        "x-int": 42,
        "x-float": 1.5,
        "x-bool": true,
        "x-null": null,
        "x-pad": " \t v a \t ",
        "x-tab": "a\tb",
        "x-empty": "",
        "set-cookie": ["a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
        "x-none": [],
    }}))
    .unwrap();
    assert_eq!(values(&r, "x-int"), ["42"]);
    assert_eq!(values(&r, "x-float"), ["1.5"]);
    assert_eq!(values(&r, "x-bool"), ["true"]);
    assert!(values(&r, "x-null").is_empty());
    assert_eq!(values(&r, "x-pad"), ["v a"]);
    assert_eq!(values(&r, "x-tab"), ["a\tb"]);
    assert_eq!(values(&r, "x-empty"), [""]);
    // An array is one header per element.
    assert_eq!(
        values(&r, "set-cookie"),
        ["a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"]
    );
    assert!(values(&r, "x-none").is_empty());
    assert_eq!(content_type(&r), DEFAULT_CONTENT_TYPE);

    for bad in [json!({"a": 1}), json!([{"a": 1}]), json!([["x"]])] {
        let err = reply(&json!({"response_headers": {"x-bad": bad}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x-bad"), "{err}");
    }
}

#[test]
fn header_injection_is_impossible() {
    let bad_values = [
        "a\r\nSet-Cookie: admin=1",
        "a\nX-Evil: 1",
        "a\rb",
        "\r\n",
        "a\0b",
        "a\u{7f}",
        "a\u{1b}[31m",
        "café",
        "\u{2028}",
    ];
    for v in bad_values {
        let err = reply(&json!({"response_headers": {"x-a": v}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x-a"), "{v:?}: {err}");
        // Also inside an array, a JSON string, and as the content type.
        assert!(reply(&json!({"response_headers": {"x-a": ["ok", v]}})).is_err());
        let as_string = json!({"x-a": v}).to_string();
        assert!(reply(&json!({"response_headers": as_string})).is_err());
        assert!(reply(&json!({"response_headers": {"content-type": v}})).is_err());
    }
    let bad_names = [
        "",
        "X A",
        "X-A\r\nX-B",
        "X-A\n",
        "x:a",
        "x-a:",
        "(x)",
        "x/y",
        "\"x\"",
        "é",
        "x\0",
        " x",
        "x ",
        "x\t",
    ];
    for name in bad_names {
        let err = reply(&json!({"response_headers": {name: "1"}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("name"), "{name:?}: {err}");
    }
    // Every tchar is fine in a name.
    let r = reply(&json!({"response_headers": {"!#$%&'*+-.^_`|~09azAZ": "1"}})).unwrap();
    assert_eq!(values(&r, "!#$%&'*+-.^_`|~09azAZ"), ["1"]);
}

#[test]
fn hop_by_hop_headers_are_dropped() {
    let r = reply(&json!({
        "response_content": "hi",
        "response_headers": {
            "Content-Length": "999",
            "transfer-encoding": "chunked",
            "Connection": "close",
            "KEEP-ALIVE": "timeout=5",
            "Upgrade": "websocket",
            "TE": "trailers",
            "Trailer": "x",
            "Proxy-Connection": "keep-alive",
            "x-kept": "yes",
        },
    }))
    .unwrap();
    let mut names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-type", "x-kept"]);
    assert_eq!(r.body, b"hi");
    // Dropped even when their value is invalid: nothing of them goes out.
    assert!(reply(&json!({"response_headers": {"content-length": {"x": 1}}})).is_ok());
}

#[test]
fn invalid_answer_messages_are_exactly_as_before() {
    // Each answer with the message the string-returning implementation gave.
    let table = r#"
[null,"the process's answer is not a JSON object"]
[{"response_code":"abc"},"the process's response_code must be an integer, got \"abc\""]
[{"response_code":[1]},"the process's response_code must be an integer, got [1]"]
[{"response_code":199},"the process's response_code must be an integer from 200 to 599, got 199"]
[{"response_code":"600"},"the process's response_code must be an integer from 200 to 599, got \"600\""]
[{"response_code":1.5},"the process's response_code must be an integer from 200 to 599, got 1.5"]
[{"response_code":204,"response_content":"x"},"the process's response_code 204 cannot carry a body, but response_content is not empty"]
[{"response_headers":"nope"},"the process's response_headers is a string but not a JSON object"]
[{"response_headers":5},"the process's response_headers must be an object"]
[{"response_headers":{"bad name":"1"}},"the process's response_headers has an invalid header name \"bad name\""]
[{"response_headers":{"x-a":{"o":1}}},"the process's response_headers value of \"x-a\" must be a string, number or boolean"]
[{"response_headers":{"x-a":"a\nb"}},"the process's response_headers value of \"x-a\" has characters not allowed in a header"]
[{"response_headers":{"Content-Type":"a","content-type":"b"}},"the process's response_headers sets content-type more than once"]
"#;
    for line in table.trim().lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            reply(&case[0]).unwrap_err().to_string(),
            case[1].as_str().unwrap(),
            "{}",
            case[0]
        );
    }
}

// ---- CORS -------------------------------------------------------------------

#[test]
fn origins_allowed_exactly_are_echoed() {
    let list = strings(&["https://shop.example", "http://localhost:3000/"]);
    let allowed = |o: &str| allowed_origin(&list, Some(o));
    assert_eq!(
        allowed("https://shop.example").as_deref(),
        Some("https://shop.example")
    );
    // Scheme and host case do not matter; the caller's spelling is echoed.
    assert_eq!(
        allowed("HTTPS://Shop.Example").as_deref(),
        Some("HTTPS://Shop.Example")
    );
    // Default ports and a trailing slash in the list.
    assert_eq!(
        allowed("https://shop.example:443").as_deref(),
        Some("https://shop.example:443")
    );
    assert_eq!(
        allowed("http://localhost:3000").as_deref(),
        Some("http://localhost:3000")
    );
    for not in [
        "http://shop.example",
        "https://shop.example:8443",
        "https://www.shop.example",
        "https://shop.example.evil.com",
        "https://evilshop.example",
        "https://shop.exampl",
        "http://localhost",
        "http://localhost:3001",
        "null",
        "",
        "*",
    ] {
        assert_eq!(allowed(not), None, "{not}");
    }
    assert_eq!(allowed_origin(&list, None), None);
    assert_eq!(allowed_origin(&[], Some("https://shop.example")), None);
}

#[test]
fn a_star_allows_any_origin_as_star() {
    let star = strings(&["*"]);
    assert_eq!(
        allowed_origin(&star, Some("https://any.example")).as_deref(),
        Some("*")
    );
    assert_eq!(allowed_origin(&star, Some("null")).as_deref(), Some("*"));
    assert_eq!(allowed_origin(&star, None), None);
    // An exact match is echoed even when `*` is also listed.
    let both = strings(&["*", "https://shop.example"]);
    assert_eq!(
        allowed_origin(&both, Some("https://shop.example")).as_deref(),
        Some("https://shop.example")
    );
    assert_eq!(
        allowed_origin(&both, Some("https://other.example")).as_deref(),
        Some("*")
    );
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let found: Vec<&str> = hs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(found.len() <= 1, "{name} repeated in {hs:?}");
    found.first().copied()
}

#[test]
fn preflight_answers_allowed_origins_only() {
    let list = strings(&["https://shop.example"]);
    assert_eq!(preflight(&list, None, Some("POST"), None), None);
    assert_eq!(
        preflight(
            &list,
            Some("https://evil.example"),
            Some("POST"),
            Some("x-a")
        ),
        None
    );
    assert_eq!(
        preflight(&[], Some("https://shop.example"), None, None),
        None
    );

    let hs = preflight(
        &list,
        Some("https://shop.example"),
        Some("PUT"),
        Some("content-type, x-signature"),
    )
    .unwrap();
    assert_eq!(hs.len(), 5, "{hs:?}");
    assert_eq!(
        header(&hs, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(header(&hs, "access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        header(&hs, "access-control-allow-headers"),
        Some("content-type, x-signature")
    );
    assert_eq!(header(&hs, "access-control-max-age"), Some("600"));
    assert_eq!(header(&hs, "vary"), Some("Origin"));
}

#[test]
fn preflight_defaults() {
    let star = strings(&["*"]);
    for (method, headers) in [(None, None), (Some(""), Some("")), (Some("  "), Some(" "))] {
        let hs = preflight(&star, Some("https://a.example"), method, headers).unwrap();
        assert_eq!(header(&hs, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&hs, "access-control-allow-methods"),
            Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
        );
        assert_eq!(header(&hs, "access-control-allow-headers"), None);
        assert_eq!(header(&hs, "access-control-max-age"), Some("600"));
        assert_eq!(header(&hs, "vary"), Some("Origin"));
    }
}

// ---- Standard Webhooks signatures -----------------------------------------

/// HMAC-SHA256, computed here independently of the core.
fn independent(key: &[u8], signed: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(signed);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[test]
fn standard_signature_matches_the_spec_example() {
    // The example of the Standard Webhooks specification.
    assert_eq!(
        webhook::standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn standard_signature_matches_an_independent_hmac() {
    let body: &[u8] = b"{\"event\":{\"id\":\"e1\"},\"u\":\"\xd0\x9f\"}";
    let key = b"\x00\x01\x02 secret key bytes \xff";
    let whsec = format!("whsec_{}", STANDARD.encode(key));
    let signed = [&b"msg_1.1700000000."[..], body].concat();
    let want = independent(key, &signed);
    assert_eq!(
        webhook::standard_signature(&whsec, "msg_1", 1_700_000_000, body),
        want
    );
    // Padding is optional in a whsec_ secret.
    let unpadded = whsec.trim_end_matches('=');
    assert_ne!(unpadded, whsec);
    assert_eq!(
        webhook::standard_signature(unpadded, "msg_1", 1_700_000_000, body),
        want
    );

    // A secret without the prefix is raw bytes.
    assert_eq!(
        webhook::standard_signature("plain-secret", "m", 0, b""),
        independent(b"plain-secret", b"m.0.")
    );
    // A whsec_ secret that is not base64 is raw bytes, prefix included.
    assert_eq!(
        webhook::standard_signature("whsec_not base64!", "m", 5, b"x"),
        independent(b"whsec_not base64!", b"m.5.x")
    );
    // Binary bodies, big timestamps, an empty secret.
    let bin = [0u8, 0xff, b'.', 0x80];
    assert_eq!(
        webhook::standard_signature("k", "id", u64::MAX, &bin),
        independent(
            b"k",
            &[format!("id.{}.", u64::MAX).as_bytes(), &bin].concat()
        )
    );
    assert_eq!(
        webhook::standard_signature("", "id", 1, b"b"),
        independent(b"", b"id.1.b")
    );
    assert_eq!(
        webhook::standard_signature("whsec_", "id", 1, b"b"),
        independent(b"", b"id.1.b")
    );
}

#[test]
fn standard_signature_depends_on_every_input() {
    let sig = |s: &str, id: &str, t: u64, b: &[u8]| webhook::standard_signature(s, id, t, b);
    let base = sig("whsec_c2VjcmV0", "msg", 10, b"body");
    let v = base.strip_prefix("v1,").expect("v1 prefix");
    assert_eq!(STANDARD.decode(v).unwrap().len(), 32);
    for other in [
        sig("whsec_c2VjcmVU", "msg", 10, b"body"),
        sig("whsec_c2VjcmV0", "msG", 10, b"body"),
        sig("whsec_c2VjcmV0", "msg2", 10, b"body"),
        sig("whsec_c2VjcmV0", "msg", 11, b"body"),
        sig("whsec_c2VjcmV0", "msg", 10, b"body "),
    ] {
        assert_ne!(other, base);
    }
    // `whsec_` + base64 of a key is that key.
    assert_eq!(sig("secret", "msg", 10, b"body"), base);
    // The separator is part of what is signed: moving it changes the signature.
    assert_ne!(sig("k", "a.1", 2, b"b"), sig("k", "a", 12, b"b"));
}

// ---- forward_to_process ---------------------------------------------------

fn settings_with_key() -> syncbridge_core::Settings {
    let vars: std::collections::HashMap<&str, &str> = [
        ("API_KEYS", r#"{"cz":"cz-secret"}"#),
        ("CALLBACK_SECRET", "0123456789abcdef0123"),
        ("COREZOID_API_URL", "http://engine.test/"),
        ("PROCESS_ALLOWED_HOSTS", "*, http://engine.test"),
    ]
    .into_iter()
    .collect();
    syncbridge_core::Settings::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap()
}

#[test]
fn an_http_process_gets_the_event_with_standard_webhooks_headers() {
    use syncbridge_core::engine::Protocol;
    use syncbridge_core::webhook::forward_to_process;
    let mut ch = chan(true);
    ch.recv_svcscriptcode = "https://process.test/hook".into();
    ch.token_remote = String::new();
    let event = json!({"event": {"id": "ev-1"}, "body": {"a": 1}});
    let f = forward_to_process(
        &settings_with_key(),
        &ch,
        &event,
        "ev-1",
        "https://gw/cb",
        1_700_000_000_123,
    )
    .unwrap();
    assert_eq!(f.url, "https://process.test/hook");
    assert_eq!(f.protocol, Protocol::Webhook);
    assert_eq!(serde_json::from_str::<Value>(&f.body).unwrap(), event);
    assert_eq!(
        f.headers,
        [
            ("webhook-id".to_string(), "ev-1".to_string()),
            ("webhook-timestamp".to_string(), "1700000000".to_string())
        ]
    );
    // With token_remote, the event is signed with it.
    ch.token_remote = format!("whsec_{}", STANDARD.encode(b"channel-signing-key"));
    let f = forward_to_process(
        &settings_with_key(),
        &ch,
        &event,
        "ev-1",
        "https://gw/cb",
        1_700_000_000_123,
    )
    .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"channel-signing-key").unwrap();
    mac.update(format!("ev-1.1700000000.{}", f.body).as_bytes());
    let want = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(f.headers[2], ("webhook-signature".to_string(), want));
}

#[test]
fn a_corezoid_process_gets_a_signed_task_whose_data_is_the_event() {
    use syncbridge_core::engine::Protocol;
    use syncbridge_core::webhook::forward_to_process;
    let mut ch = chan(true);
    ch.recv_svcscriptcode = "corezoid:77".into();
    ch.opts.corezoid_login = "cz".into();
    let event =
        json!({"event": {"id": "ev-2"}, "method": "POST", "__callback_url": "https://gw/cb"});
    let f = forward_to_process(
        &settings_with_key(),
        &ch,
        &event,
        "ev-2",
        "https://gw/cb",
        1_700_000_000_000,
    )
    .unwrap();
    assert_eq!(f.protocol, Protocol::Corezoid);
    let prefix = "http://engine.test/api/2/json/cz/1700000000/";
    assert!(f.url.starts_with(prefix), "{}", f.url);
    let sig = &f.url[prefix.len()..];
    assert_eq!(
        sig,
        syncbridge_tests::client::corezoid_signature("1700000000", "cz-secret", f.body.as_bytes())
    );
    let body: Value = serde_json::from_str(&f.body).unwrap();
    let task = &body["ops"][0];
    assert_eq!(task["conv_id"], 77);
    assert_eq!(task["ref"], "ev-2");
    assert_eq!(task["data"]["method"], "POST");
    assert_eq!(task["data"]["__callback_url"], "https://gw/cb");
}

#[test]
fn nothing_to_send_is_a_clear_error() {
    use syncbridge_core::webhook::forward_to_process;
    let s = settings_with_key();
    let mut ch = chan(true);
    ch.recv_svcscriptcode = String::new();
    let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("recv_svcscriptcode"), "{e}");
    ch.recv_svcscriptcode = "corezoid:5".into();
    ch.opts.corezoid_login = "nobody".into();
    let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("corezoid_login"), "{e}");
}

#[test]
fn nothing_to_send_messages_are_exactly_as_before() {
    use syncbridge_core::webhook::{forward_to_process, ForwardError};
    let mut s = settings_with_key();
    let mut ch = chan(true);
    ch.recv_svcscriptcode = String::new();
    let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).unwrap_err();
    assert_eq!(e, ForwardError::NoProcess);
    assert_eq!(
        e.to_string(),
        "The channel names no process (recv_svcscriptcode is empty)"
    );
    ch.recv_svcscriptcode = "corezoid:5".into();
    ch.opts.corezoid_login = "nobody".into();
    let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"opts.corezoid_login "nobody" names no key in API_KEYS"#
    );
    ch.opts.corezoid_login = "cz".into();
    s.corezoid_api_url = None;
    let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).unwrap_err();
    assert_eq!(e.to_string(), "setting COREZOID_API_URL is not set");
}

#[test]
fn processes_off_process_allowed_hosts_get_nothing() {
    use syncbridge_core::webhook::{forward_to_process, ForwardError};
    let s = settings_with_key();
    let mut ch = chan(true);
    for url in [
        "http://10.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost/",
        "https://2130706433/",
        "http://process.test/hook",
    ] {
        ch.recv_svcscriptcode = url.into();
        let e = forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).unwrap_err();
        assert_eq!(e, ForwardError::ProcessNotAllowed, "{url}");
        let m = e.to_string();
        assert!(m.contains("PROCESS_ALLOWED_HOSTS"), "{m}");
        assert!(!m.contains(url), "the caller never sees the URL: {m}");
    }
    ch.recv_svcscriptcode = "https://process.test/hook".into();
    assert!(forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).is_ok());
    // The engine of a corezoid: process is checked too.
    let mut narrow = settings_with_key();
    narrow.process_allowed_hosts = syncbridge_core::outbound::AllowList::parse_for(
        syncbridge_core::outbound::ListKind::Process,
        "*",
    )
    .unwrap();
    ch.recv_svcscriptcode = "corezoid:5".into();
    ch.opts.corezoid_login = "cz".into();
    let e = forward_to_process(&narrow, &ch, &json!({}), "e", "cb", 0).unwrap_err();
    assert_eq!(e, ForwardError::EngineNotAllowed);
    assert_eq!(
        e.to_string(),
        "setting COREZOID_API_URL is not allowed by PROCESS_ALLOWED_HOSTS"
    );
    assert!(forward_to_process(&s, &ch, &json!({}), "e", "cb", 0).is_ok());
}

// ---- the answer to a sync webhook, and the log of an async one -------------

#[test]
fn sync_answers_map_outcomes_to_statuses_log_outcomes_and_messages() {
    use syncbridge_core::request_log::Outcome;
    use syncbridge_core::sync_api::OpOutcome;
    use syncbridge_core::webhook::{sync_answer, SyncAnswer, WebhookFailure};
    let failure = |o: OpOutcome| match sync_answer(o, 25) {
        SyncAnswer::Failure(f) => f,
        SyncAnswer::Reply(r) => panic!("expected a failure, got {r:?}"),
    };
    let data =
        json!({"response_code": 201, "response_content": "made", "response_headers": {"x-a": "1"}});
    match sync_answer(OpOutcome::Data { data: data.clone() }, 25) {
        SyncAnswer::Reply(r) => {
            assert_eq!(r, reply(&data).unwrap());
            assert_eq!(
                r.record(),
                json!({"status": 201, "headers": [["content-type", "application/octet-stream"], ["x-a", "1"]], "body": "made"})
            );
        }
        other => panic!("{other:?}"),
    }
    let f = failure(OpOutcome::Data {
        data: json!({"response_code": 99}),
    });
    assert_eq!(
        f,
        WebhookFailure {
            status: 502,
            outcome: Outcome::Failed,
            message: "The process's answer is invalid: the process's response_code must be an \
                      integer from 200 to 599, got 99"
                .into(),
        }
    );
    let f = failure(OpOutcome::Refused {
        op: json!({"proc": "error", "description": "no such account"}),
    });
    assert_eq!(
        (f.status, f.outcome, f.message.as_str()),
        (
            502,
            Outcome::Failed,
            "The process refused the event: no such account"
        )
    );
    let f = failure(OpOutcome::Refused {
        op: json!({"proc": "busy"}),
    });
    assert_eq!(
        f.message,
        r#"The process refused the event: {"proc":"busy"}"#
    );
    let f = failure(OpOutcome::Failed {
        description: "Engine answered HTTP 503".into(),
    });
    assert_eq!(
        (f.status, f.outcome, f.message.as_str()),
        (502, Outcome::Failed, "Engine answered HTTP 503")
    );
    let f = failure(OpOutcome::Timeout);
    assert_eq!(
        (f.status, f.outcome, f.message.as_str()),
        (
            504,
            Outcome::TimedOut,
            "The process did not answer within 25 s"
        )
    );
    let rest = f.to_rest();
    assert_eq!(
        rest.to_json(),
        json!({"error_code": 1504, "error_message": "The process did not answer within 25 s"})
    );
}

#[test]
fn no_process_and_handover_outcomes() {
    use syncbridge_core::engine::EngineReply;
    use syncbridge_core::request_log::Outcome;
    use syncbridge_core::webhook::{handover_outcome, refusal, ForwardError, WebhookFailure};
    let f = WebhookFailure::no_process(&ForwardError::NoEngineUrl);
    assert_eq!(
        (f.status, f.outcome, f.message.as_str()),
        (
            502,
            Outcome::NoProcess,
            "setting COREZOID_API_URL is not set"
        )
    );
    assert_eq!(
        handover_outcome(&EngineReply::Accepted),
        (Outcome::Accepted, None)
    );
    let op = json!({"description": "closed"});
    assert_eq!(
        handover_outcome(&EngineReply::Refused(op.clone())),
        (Outcome::Failed, Some(refusal(&op)))
    );
    assert_eq!(refusal(&op), "The process refused the event: closed");
    assert_eq!(
        refusal(&json!({"description": 5})),
        r#"The process refused the event: {"description":5}"#
    );
    assert_eq!(
        handover_outcome(&EngineReply::Failed(
            "Process answered HTTP 500: \"\"".into()
        )),
        (
            Outcome::Failed,
            Some("Process answered HTTP 500: \"\"".to_string())
        )
    );
}
