//! Integration channels: validation on create and patch, the process a
//! channel names, the public view, rendering with mask and flat, the list
//! query, and its SQL run for real against SQLite with the D1 schema.

use serde_json::{json, Value};
use syncbridge_core::channel::*;
use syncbridge_core::error::RestError;

const ID: &str = "b4680fbe-016c-d86f-1d6b-50e54938780c";
const TOKEN: &str = "82ddc7c68623726346a78371173e2f8d";
const T0: &str = "2019-08-28T13:34:16.420Z";
const T1: &str = "2020-01-02T03:04:05.678Z";

fn new(body: Value) -> Result<Channel, RestError> {
    create(&body, ID.to_owned(), TOKEN.to_owned(), T0)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The result is a 400 whose message names `field`; returns the message.
#[track_caller]
fn assert_400<T: std::fmt::Debug>(result: Result<T, RestError>, field: &str) -> String {
    let err = result.expect_err("expected a 400");
    assert_eq!(err.status, 400, "{err:?}");
    assert_eq!(err.error_code(), 1400);
    assert!(
        err.error_message.contains(field),
        "message {:?} should name {field:?}",
        err.error_message
    );
    err.error_message
}

fn full_body() -> Value {
    json!({
        "code": "ABCDE",
        "type": "eventing",
        "token_remote": "remote-secret-1",
        "token_remote2": "remote-secret-2",
        "url": "https://trapper.com/hook",
        "recv_svcscriptcode": "corezoid:1234",
        "recv_svcscriptcode_ws": "ws_recv",
        "send_svcscriptcode": "send_to_web",
        "send_svcscriptcode_ws": "ws_send",
        "opts": {
            "title": "Shop",
            "comment": "Orders from the shop",
            "allow_files_api": true,
            "issync": true,
            "cors_origins": ["https://shop.example", "http://localhost:8080", "*"],
            "corezoid_login": "12345"
        }
    })
}

fn full() -> Channel {
    new(full_body()).unwrap()
}

// ---- create ---------------------------------------------------------------

#[test]
fn create_with_defaults() {
    let ch = new(json!({"code": "ABCDE"})).unwrap();
    assert_eq!(
        ch,
        Channel {
            id: ID.into(),
            code: "ABCDE".into(),
            kind: ChannelKind::Public,
            token_local: TOKEN.into(),
            token_remote: String::new(),
            token_remote2: String::new(),
            url: String::new(),
            recv_svcscriptcode: String::new(),
            recv_svcscriptcode_ws: String::new(),
            send_svcscriptcode: String::new(),
            send_svcscriptcode_ws: String::new(),
            opts: Opts::default(),
            ext: Ext {
                ct: T0.into(),
                lwt: T0.into(),
            },
        }
    );
    // Opts defaults are all off / empty.
    assert!(!ch.opts.issync && !ch.opts.allow_files_api && ch.opts.cors_origins.is_empty());
}

#[test]
fn create_with_every_field() {
    let ch = full();
    assert_eq!(ch.id, ID);
    assert_eq!(ch.token_local, TOKEN);
    assert_eq!(ch.code, "ABCDE");
    assert_eq!(ch.kind, ChannelKind::Eventing);
    assert_eq!(ch.token_remote, "remote-secret-1");
    assert_eq!(ch.token_remote2, "remote-secret-2");
    assert_eq!(ch.url, "https://trapper.com/hook");
    assert_eq!(ch.recv_svcscriptcode, "corezoid:1234");
    assert_eq!(ch.recv_svcscriptcode_ws, "ws_recv");
    assert_eq!(ch.send_svcscriptcode, "send_to_web");
    assert_eq!(ch.send_svcscriptcode_ws, "ws_send");
    assert_eq!(
        ch.opts,
        Opts {
            title: "Shop".into(),
            comment: "Orders from the shop".into(),
            allow_files_api: true,
            issync: true,
            cors_origins: vec![
                "https://shop.example".into(),
                "http://localhost:8080".into(),
                "*".into()
            ],
            corezoid_login: "12345".into(),
            eventing_channel: String::new(),
            callback: None,
        }
    );
    assert_eq!((ch.ext.ct.as_str(), ch.ext.lwt.as_str()), (T0, T0));
    // The stored document reads back as the same channel.
    let doc = serde_json::to_string(&ch).unwrap();
    assert_eq!(serde_json::from_str::<Channel>(&doc).unwrap(), ch);
}

#[test]
fn create_accepts_the_documented_url_and_process_forms() {
    for url in [
        "",
        "http://trapper.com",
        "https://trapper.com/a?b=c",
        "ftp://files.example/x",
        "ftps://files.example",
        "HTTPS://Trapper.com",
    ] {
        let ch = new(json!({"code": "c", "url": url})).unwrap();
        assert_eq!(ch.url, url);
    }
    for process in [
        "",
        "http://engine.local/hook",
        "https://engine.example/x",
        "corezoid:1",
        "corezoid:18446744073709551615",
    ] {
        let ch = new(json!({"code": "c", "recv_svcscriptcode": process})).unwrap();
        assert_eq!(ch.recv_svcscriptcode, process);
    }
    for origin in [
        "*",
        "https://shop.example",
        "http://localhost:3000",
        "https://a-b.c_d.example:65535",
        "http://[::1]:8080",
        "https://[2001:db8::1]",
    ] {
        new(json!({"code": "c", "opts": {"cors_origins": [origin]}}))
            .unwrap_or_else(|e| panic!("{origin}: {e:?}"));
    }
}

#[test]
fn create_requires_a_good_code() {
    assert_400(new(json!({})), "code");
    assert_400(new(json!({"type": "public"})), "code");
    assert_400(new(json!({"code": ""})), "code");
    assert_400(new(json!({"code": 12})), "code");
    assert_400(new(json!({"code": null})), "code");
    assert_400(new(json!({"code": "a\u{0}b"})), "code");
    assert_400(new(json!({"code": "line\nbreak"})), "code");
    assert_400(new(json!({"code": " padded"})), "code");
    assert_400(new(json!({"code": "padded "})), "code");
    // MAX_CODE_LEN counts characters, not bytes.
    let longest = "é".repeat(MAX_CODE_LEN);
    assert_eq!(new(json!({"code": longest})).unwrap().code, longest);
    assert_400(new(json!({"code": "x".repeat(MAX_CODE_LEN + 1)})), "code");
}

#[test]
fn create_refuses_server_fields() {
    for field in ["id", "token_local", "ext"] {
        let mut body = json!({"code": "c"});
        body[field] = json!("x");
        let msg = assert_400(new(body), field);
        assert!(msg.contains("set by the server"), "{msg}");
    }
    let msg = assert_400(new(json!({"code": "c", "ext": {"ct": T1}})), "ext");
    assert!(msg.contains("set by the server"), "{msg}");
}

#[test]
fn create_refuses_unknown_fields_and_wrong_types() {
    assert_400(new(json!({"code": "c", "colour": "red"})), "colour");
    assert_400(
        new(json!({"code": "c", "opts": {"colour": "red"}})),
        "opts.colour",
    );
    for body in [json!(null), json!("code"), json!([{"code": "c"}]), json!(1)] {
        assert_400(new(body), "JSON object");
    }
    for field in [
        "type",
        "token_remote",
        "token_remote2",
        "url",
        "recv_svcscriptcode",
        "recv_svcscriptcode_ws",
        "send_svcscriptcode",
        "send_svcscriptcode_ws",
    ] {
        for wrong in [json!(1), json!(true), json!(["x"]), json!({}), json!(null)] {
            let mut body = json!({"code": "c"});
            body[field] = wrong;
            assert_400(new(body), field);
        }
    }
    for (field, wrong) in [
        ("title", json!(1)),
        ("comment", json!(false)),
        ("corezoid_login", json!(123)),
        ("allow_files_api", json!("true")),
        ("issync", json!(1)),
        ("issync", json!(null)),
        ("cors_origins", json!("https://shop.example")),
        ("cors_origins", json!(null)),
    ] {
        let body = json!({"code": "c", "opts": {field: wrong}});
        assert_400(new(body), &format!("opts.{field}"));
    }
    assert_400(
        new(json!({"code": "c", "opts": {"cors_origins": [1]}})),
        "opts.cors_origins[0]",
    );
    assert_400(new(json!({"code": "c", "opts": "x"})), "opts");
    assert_400(new(json!({"code": "c", "opts": null})), "opts");
}

#[test]
fn create_validates_type_url_process_and_origins() {
    for kind in ["", "private", "Public", "EVENTING"] {
        assert_400(new(json!({"code": "c", "type": kind})), "type");
    }
    for (name, kind) in [
        ("public", ChannelKind::Public),
        ("eventing", ChannelKind::Eventing),
    ] {
        assert_eq!(new(json!({"code": "c", "type": name})).unwrap().kind, kind);
        assert_eq!(kind.to_string(), name);
    }
    for url in [
        "trapper.com",
        "mailto:a@b.c",
        "http://",
        "https:///path",
        "http://a b",
        "http://a\tb",
        "ws://x",
        " http://x",
        "javascript:alert(1)",
    ] {
        assert_400(new(json!({"code": "c", "url": url})), "url");
    }
    for process in [
        "ws_hook",
        "corezoid:",
        "corezoid:0",
        "corezoid:-1",
        "corezoid:+5",
        "corezoid:1.5",
        "corezoid:12a",
        "corezoid:99999999999999999999",
        "Corezoid:1",
        "ftp://x",
        "http://",
    ] {
        let msg = assert_400(
            new(json!({"code": "c", "recv_svcscriptcode": process})),
            "recv_svcscriptcode",
        );
        // The message says which forms are accepted.
        assert!(msg.contains("corezoid:") && msg.contains("http"), "{msg}");
    }
    for origin in [
        "",
        "shop.example",
        "https://shop.example/",
        "https://shop.example/path",
        "https://Shop.example",
        "HTTPS://shop.example",
        "ftp://shop.example",
        "https://",
        "https://shop.example:",
        "https://shop.example:0",
        "https://shop.example:65536",
        "https://shop.example:8a",
        "https://shop.example?x",
        "https://.example",
        "null",
        "http://[::1",
        "http://[::1]x",
        "* ",
    ] {
        assert_400(
            new(json!({"code": "c", "opts": {"cors_origins": ["*", origin]}})),
            "opts.cors_origins[1]",
        );
    }
}

#[test]
fn error_messages_never_echo_values() {
    let cases = [
        json!({"code": "c", "url": "javascript:SECRET-VALUE"}),
        json!({"code": "c", "recv_svcscriptcode": "SECRET-VALUE"}),
        json!({"code": "c", "type": "SECRET-VALUE"}),
        json!({"code": "c", "opts": {"cors_origins": ["SECRET-VALUE"]}}),
        json!({"code": "c", "token_local": "SECRET-VALUE"}),
        json!({"code": "c", "id": "SECRET-VALUE"}),
    ];
    for body in cases {
        let err = new(body.clone()).unwrap_err();
        assert!(!err.error_message.contains("SECRET"), "{body}: {err:?}");
        let err = patch(&full(), &body, T1).unwrap_err();
        assert!(!err.error_message.contains("SECRET"), "{body}: {err:?}");
    }
    let err = lookup_key(br#"{"token":"SECRET-VALUE"}"#).unwrap_err();
    assert!(!err.error_message.contains("SECRET"));
}

// ---- patch ----------------------------------------------------------------

#[test]
fn patch_replaces_top_level_fields_and_sets_lwt() {
    let old = full();
    let new = patch(
        &old,
        &json!({"code": "NEW", "url": "", "token_remote": "r", "type": "public"}),
        T1,
    )
    .unwrap();
    assert_eq!(new.code, "NEW");
    assert_eq!(new.url, "");
    assert_eq!(new.token_remote, "r");
    assert_eq!(new.kind, ChannelKind::Public);
    assert_eq!(new.ext.ct, T0, "ct is kept");
    assert_eq!(new.ext.lwt, T1, "lwt is now");
    // Everything else is untouched.
    assert_eq!(
        Channel {
            code: old.code.clone(),
            url: old.url.clone(),
            token_remote: old.token_remote.clone(),
            kind: old.kind,
            ext: old.ext.clone(),
            ..new
        },
        old
    );
}

#[test]
fn patch_with_an_empty_body_only_touches_lwt() {
    let old = full();
    let new = patch(&old, &json!({}), T1).unwrap();
    assert_eq!(new.ext.lwt, T1);
    assert_eq!(
        Channel {
            ext: old.ext.clone(),
            ..new
        },
        old
    );
}

#[test]
fn patch_merges_opts_key_by_key() {
    let old = full();
    let new = patch(
        &old,
        &json!({"opts": {"title": "Renamed", "issync": false, "cors_origins": []}}),
        T1,
    )
    .unwrap();
    assert_eq!(
        new.opts,
        Opts {
            title: "Renamed".into(),
            issync: false,
            cors_origins: vec![],
            ..old.opts.clone()
        }
    );
    assert_eq!(new.opts.comment, "Orders from the shop");
    assert!(new.opts.allow_files_api);
    assert_eq!(new.opts.corezoid_login, "12345");
    // An empty opts object changes nothing in opts.
    assert_eq!(
        patch(&old, &json!({"opts": {}}), T1).unwrap().opts,
        old.opts
    );
}

#[test]
fn patch_refusals() {
    let old = full();
    for field in ["id", "token_local"] {
        let msg = assert_400(patch(&old, &json!({field: "x"}), T1), field);
        assert!(msg.contains("cannot be changed"), "{msg}");
        // Even when the value is the current one.
        let same = if field == "id" { ID } else { TOKEN };
        assert_400(patch(&old, &json!({field: same}), T1), field);
    }
    let msg = assert_400(patch(&old, &json!({"ext": {"lwt": T1}}), T1), "ext");
    assert!(msg.contains("set by the server"), "{msg}");
    for body in [json!(null), json!([]), json!("x"), json!(3)] {
        assert_400(patch(&old, &body, T1), "PATCH body");
    }
    for field in [
        "code",
        "type",
        "url",
        "token_remote",
        "recv_svcscriptcode",
        "send_svcscriptcode_ws",
        "opts",
    ] {
        let msg = assert_400(patch(&old, &json!({field: null}), T1), field);
        assert!(msg.contains("null"), "{msg}");
    }
    for field in ["title", "issync", "cors_origins"] {
        let msg = assert_400(
            patch(&old, &json!({"opts": {field: null}}), T1),
            &format!("opts.{field}"),
        );
        assert!(msg.contains("null"), "{msg}");
    }
    assert_400(patch(&old, &json!({"nope": 1}), T1), "nope");
    assert_400(patch(&old, &json!({"opts": {"nope": 1}}), T1), "opts.nope");
    assert_400(patch(&old, &json!({"code": ""}), T1), "code");
    assert_400(patch(&old, &json!({"type": "other"}), T1), "type");
    assert_400(patch(&old, &json!({"url": "nope"}), T1), "url");
    assert_400(
        patch(&old, &json!({"recv_svcscriptcode": "ws_hook"}), T1),
        "recv_svcscriptcode",
    );
    assert_400(
        patch(&old, &json!({"opts": {"cors_origins": ["https://x/"]}}), T1),
        "opts.cors_origins[0]",
    );
    assert_400(
        patch(&old, &json!({"opts": {"issync": "yes"}}), T1),
        "opts.issync",
    );
}

// ---- process and public view ----------------------------------------------

fn with_process(s: &str) -> Channel {
    Channel {
        recv_svcscriptcode: s.into(),
        ..full()
    }
}

#[test]
fn process_forms() {
    assert_eq!(process(&with_process("")), Process::None);
    assert_eq!(
        process(&with_process("https://engine.example/hook?x=1")),
        Process::Http("https://engine.example/hook?x=1".into())
    );
    assert_eq!(
        process(&with_process("http://127.0.0.1:9000/")),
        Process::Http("http://127.0.0.1:9000/".into())
    );
    assert_eq!(
        process(&with_process("corezoid:1234")),
        Process::Corezoid { conv_id: 1234 }
    );
    assert_eq!(process(&full()), Process::Corezoid { conv_id: 1234 });
    // Values the API refuses (an Oktell script name, say) run nothing.
    for legacy in ["ws_hook", "corezoid:0", "corezoid:x", "ftp://x"] {
        assert_eq!(process(&with_process(legacy)), Process::None, "{legacy}");
    }
}

#[test]
fn public_view_hides_the_tokens() {
    let ch = full();
    let v = public_view(&ch);
    let obj = v.as_object().unwrap();
    for secret in ["token_local", "token_remote", "token_remote2"] {
        assert!(!obj.contains_key(secret), "{secret}");
    }
    let text = v.to_string();
    for value in [TOKEN, "remote-secret-1", "remote-secret-2"] {
        assert!(!text.contains(value), "{value}");
    }
    assert_eq!(v["id"], ID);
    assert_eq!(v["code"], "ABCDE");
    // The rest keeps the entity's order.
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "code",
            "type",
            "url",
            "recv_svcscriptcode",
            "recv_svcscriptcode_ws",
            "send_svcscriptcode",
            "send_svcscriptcode_ws",
            "opts",
            "ext"
        ]
    );
    assert_eq!(v["type"], "eventing");
    assert_eq!(v["url"], "https://trapper.com/hook");
    assert_eq!(v["opts"]["title"], "Shop");
    assert_eq!(v["opts"]["issync"], true);
    assert_eq!(v["ext"]["ct"], T0);
    assert_eq!(obj.len(), 10);
}

// ---- render ---------------------------------------------------------------

fn mask(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn render_without_mask_is_the_whole_entity() {
    let ch = full();
    let v = render(&ch, None, false);
    assert_eq!(v, serde_json::to_value(&ch).unwrap());
    assert_eq!(v["type"], "eventing");
    assert_eq!(v["token_local"], TOKEN);
    assert_eq!(v["opts"]["cors_origins"][0], "https://shop.example");
}

#[test]
fn render_parses_the_documented_example() {
    // Oktell's own example (no cors_origins/corezoid_login) reads and renders.
    let doc = r#"{"id":"b4680fbe-016c-d86f-1d6b-50e54938780c","code":"ABCDE","type":"public","token_local":"82ddc7c68623726346a78371173e2f8d","token_remote":"","token_remote2":"","url":"http://trapper.com","recv_svcscriptcode":"ws_hook","recv_svcscriptcode_ws":"","send_svcscriptcode":"send_to_web","send_svcscriptcode_ws":"","opts":{"title":"","comment":"","allow_files_api":false,"issync":false},"ext":{"ct":"2019-08-28T13:34:16.42Z","lwt":"2019-08-28T13:34:16.42Z"}}"#;
    let ch: Channel = serde_json::from_str(doc).unwrap();
    let v = render(&ch, Some(&mask(&["code", "opts.issync", "ext.ct"])), false);
    assert_eq!(
        v,
        json!({"code": "ABCDE", "opts": {"issync": false}, "ext": {"ct": "2019-08-28T13:34:16.42Z"}})
    );
    assert_eq!(process(&ch), Process::None);
}

#[test]
fn render_flat() {
    let ch = full();
    let v = render(&ch, None, true);
    let obj = v.as_object().unwrap();
    assert!(!obj.contains_key("opts") && !obj.contains_key("ext"));
    assert_eq!(v["opts.title"], "Shop");
    assert_eq!(v["opts.issync"], true);
    assert_eq!(v["opts.cors_origins"], json!(ch.opts.cors_origins));
    assert_eq!(v["ext.ct"], T0);
    assert_eq!(v["ext.lwt"], T0);
    assert_eq!(v["code"], "ABCDE");
    // 11 top-level fields, 7 opts (no callback set), 2 ext.
    assert_eq!(obj.len(), 11 + 7 + 2);
}

#[test]
fn render_with_mask() {
    let ch = full();
    let m = mask(&["id", "code", "opts.title"]);
    assert_eq!(
        render(&ch, Some(&m), false),
        json!({"id": ID, "code": "ABCDE", "opts": {"title": "Shop"}})
    );
    assert_eq!(
        render(&ch, Some(&m), true),
        json!({"id": ID, "code": "ABCDE", "opts.title": "Shop"})
    );
    // Naming `opts` keeps the whole object (flattened when flat).
    let m = mask(&["opts"]);
    assert_eq!(
        render(&ch, Some(&m), false),
        json!({"opts": serde_json::to_value(&ch.opts).unwrap()})
    );
    let flat = render(&ch, Some(&m), true);
    assert_eq!(flat.as_object().unwrap().len(), 7);
    assert_eq!(flat["opts.corezoid_login"], "12345");
    // `opts` and `opts.title` together: still the whole object.
    assert_eq!(
        render(&ch, Some(&mask(&["opts.title", "opts"])), false)["opts"]
            .as_object()
            .unwrap()
            .len(),
        7
    );
    // Nested keys of both objects, flat.
    assert_eq!(
        render(
            &ch,
            Some(&mask(&["ext.lwt", "opts.issync", "opts.cors_origins"])),
            true
        ),
        json!({
            "opts.issync": true,
            "opts.cors_origins": ch.opts.cors_origins,
            "ext.lwt": T0
        })
    );
    // Secrets only when asked for.
    assert_eq!(
        render(&ch, Some(&mask(&["token_local"])), false),
        json!({"token_local": TOKEN})
    );
    // Names that are not fields keep nothing.
    assert_eq!(
        render(&ch, Some(&mask(&["nope", "opts.nope", "code.x"])), true),
        json!({})
    );
}

/// Needs serde_json's `preserve_order` feature in crates/core: without it a
/// `serde_json::Value` object keeps its keys sorted, whatever the order they
/// were inserted in.
#[test]
fn render_keeps_the_entity_field_order() {
    let ch = full();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&render(&ch, None, false)),
        [
            "id",
            "code",
            "type",
            "token_local",
            "token_remote",
            "token_remote2",
            "url",
            "recv_svcscriptcode",
            "recv_svcscriptcode_ws",
            "send_svcscriptcode",
            "send_svcscriptcode_ws",
            "opts",
            "ext"
        ]
    );
    assert_eq!(
        render(&ch, None, false).to_string(),
        serde_json::to_string(&ch).unwrap()
    );
    // The entity's order, not the mask's.
    assert_eq!(
        keys(&render(
            &ch,
            Some(&mask(&["ext.ct", "opts.title", "code", "id"])),
            true
        )),
        ["id", "code", "opts.title", "ext.ct"]
    );
}

// ---- parse_list_query / parse_get_query -------------------------------------

fn list(list: &[(&str, &str)]) -> Result<ListQuery, RestError> {
    parse_list_query(&pairs(list))
}

#[test]
fn list_parameters_are_bounded_in_length_and_terms() {
    // Lengths: each of filter, mask and order at most MAX_LIST_PARAM_BYTES.
    let long_code = format!(r#"{{"code":"{}"}}"#, "x".repeat(MAX_LIST_PARAM_BYTES));
    let m = assert_400(list(&[("filter", &long_code)]), "`filter`");
    assert!(m.contains(&MAX_LIST_PARAM_BYTES.to_string()), "{m}");
    let fits = format!(r#"{{"code":"{}"}}"#, "x".repeat(MAX_LIST_PARAM_BYTES - 11));
    assert_eq!(fits.len(), MAX_LIST_PARAM_BYTES);
    assert!(list(&[("filter", &fits)]).is_ok());
    let long_order = format!("code{}", " ".repeat(MAX_LIST_PARAM_BYTES));
    assert_400(list(&[("order", &long_order)]), "`order`");
    let long_mask = format!("id{}", ",".repeat(MAX_LIST_PARAM_BYTES));
    assert_400(list(&[("mask", &long_mask)]), "`mask`");
    assert_400(parse_get_query(&pairs(&[("mask", &long_mask)])), "`mask`");

    // Terms: order at most MAX_ORDER_TERMS, in every form.
    let names = |n: usize| vec!["code"; n].join(",");
    assert_eq!(
        list(&[("order", &names(MAX_ORDER_TERMS))])
            .unwrap()
            .order
            .len(),
        MAX_ORDER_TERMS
    );
    let m = assert_400(list(&[("order", &names(MAX_ORDER_TERMS + 1))]), "`order`");
    assert!(m.contains(&format!("at most {MAX_ORDER_TERMS}")), "{m}");
    let objects: Vec<Value> = (0..150).map(|_| json!({"code": "desc"})).collect();
    assert_400(list(&[("order", &json!(objects).to_string())]), "`order`");

    // Mask: at most MAX_MASK_FIELDS names, repeats included.
    let ids = |n: usize| vec!["id"; n].join(",");
    assert_eq!(
        list(&[("mask", &ids(MAX_MASK_FIELDS))]).unwrap().mask,
        Some(vec!["id".to_string()])
    );
    assert_400(list(&[("mask", &ids(MAX_MASK_FIELDS + 1))]), "`mask`");
    assert_400(
        parse_get_query(&pairs(&[("mask", &ids(MAX_MASK_FIELDS + 1))])),
        "`mask`",
    );

    // Filter: at most MAX_FILTER_TERMS tests (a field may come twice, dotted
    // and nested).
    let fields = [
        "id",
        "code",
        "token_local",
        "type",
        "token_remote",
        "token_remote2",
        "url",
        "recv_svcscriptcode",
        "recv_svcscriptcode_ws",
        "send_svcscriptcode",
        "send_svcscriptcode_ws",
        "opts.title",
        "opts.comment",
        "opts.corezoid_login",
        "ext.ct",
        "ext.lwt",
    ];
    let mut all = serde_json::Map::new();
    for f in fields {
        all.insert(f.into(), json!("x"));
    }
    all.insert("opts.issync".into(), json!(true));
    all.insert("opts.allow_files_api".into(), json!(false));
    assert_eq!(all.len(), MAX_FILTER_TERMS);
    let text = Value::Object(all.clone()).to_string();
    assert_eq!(
        list(&[("filter", &text)]).unwrap().filter.len(),
        MAX_FILTER_TERMS
    );
    all.insert("opts".into(), json!({"title": "again"}));
    let text = Value::Object(all).to_string();
    let m = assert_400(list(&[("filter", &text)]), "`filter`");
    assert!(m.contains(&format!("at most {MAX_FILTER_TERMS}")), "{m}");
}

#[test]
fn list_query_defaults() {
    let q = list(&[]).unwrap();
    assert_eq!(
        q,
        ListQuery {
            filter: vec![],
            mask: None,
            order: vec![],
            offset: 0,
            limit: DEFAULT_LIST_LIMIT,
            flat: false,
            search: None,
        }
    );
}

#[test]
fn list_search_matches_code_or_title_in_any_case() {
    let conn = fixture();
    let codes = |search: &str| run(&conn, &query(&[("search", search), ("order", "code")]));
    assert_eq!(codes("ALP"), ["alpha", "bravo"]); // alpha's code, bravo's title "Alpha"
    assert_eq!(codes("r"), ["bravo", "charlie", "delta", "foxtrot"]);
    assert_eq!(codes("1=1"), ["foxtrot"]);
    assert_eq!(codes("zzz"), Vec::<String>::new());
    // The pattern's own wildcards are literal.
    assert_eq!(codes("%"), Vec::<String>::new());
    assert_eq!(codes("_"), Vec::<String>::new());
    assert_eq!(codes("\\"), Vec::<String>::new());
    // Empty is no search; with a filter, both hold.
    assert_eq!(codes("").len(), 6);
    let q = query(&[
        ("search", "a"),
        ("filter", r#"{"type":"eventing"}"#),
        ("order", "code"),
    ]);
    assert_eq!(run(&conn, &q), ["bravo", "delta"]);
    let long = "x".repeat(257);
    let e = parse_list_query(&pairs(&[("search", long.as_str())])).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(
        e.error_message
            .contains("`search` is longer than 256 bytes"),
        "{}",
        e.error_message
    );
}

#[test]
fn list_query_filter() {
    let q = list(&[("filter", r#"{"type":"public","opts.issync":true}"#)]).unwrap();
    let mut f = q.filter.clone();
    f.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        f,
        vec![
            ("opts.issync".to_string(), json!(true)),
            ("type".to_string(), json!("public")),
        ]
    );
    // Nested objects are the same as dotted names.
    let q = list(&[(
        "filter",
        r#"{"opts":{"title":"Shop","allow_files_api":false},"ext":{"ct":"x"}}"#,
    )])
    .unwrap();
    let mut f = q.filter.clone();
    f.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        f,
        vec![
            ("ext.ct".to_string(), json!("x")),
            ("opts.allow_files_api".to_string(), json!(false)),
            ("opts.title".to_string(), json!("Shop")),
        ]
    );
    assert_eq!(list(&[("filter", "{}")]).unwrap().filter, vec![]);

    assert_400(list(&[("filter", "type=public")]), "filter");
    assert_400(list(&[("filter", r#"["type"]"#)]), "filter");
    assert_400(list(&[("filter", r#"{"colour":"red"}"#)]), "colour");
    assert_400(
        list(&[("filter", r#"{"opts.colour":"red"}"#)]),
        "opts.colour",
    );
    assert_400(
        list(&[("filter", r#"{"opts":{"colour":"red"}}"#)]),
        "opts.colour",
    );
    assert_400(list(&[("filter", r#"{"opts":"x"}"#)]), "opts");
    assert_400(
        list(&[("filter", r#"{"opts.cors_origins":["*"]}"#)]),
        "opts.cors_origins",
    );
    assert_400(
        list(&[("filter", r#"{"opts.issync":"true"}"#)]),
        "opts.issync",
    );
    assert_400(list(&[("filter", r#"{"opts.issync":1}"#)]), "opts.issync");
    assert_400(list(&[("filter", r#"{"code":5}"#)]), "code");
    assert_400(list(&[("filter", r#"{"code":null}"#)]), "code");
    assert_400(list(&[("filter", r#"{"code":["a","b"]}"#)]), "code");
    assert_400(list(&[("filter", r#"{"opts.title":true}"#)]), "opts.title");
}

#[test]
fn list_query_mask_and_flat() {
    let q = list(&[
        ("mask", "id, code,opts.title,ext.ct,opts"),
        ("flat", "true"),
    ])
    .unwrap();
    assert_eq!(
        q.mask,
        Some(mask(&["id", "code", "opts.title", "ext.ct", "opts"]))
    );
    assert!(q.flat);
    assert_eq!(
        list(&[("mask", "code,code")]).unwrap().mask,
        Some(mask(&["code"]))
    );
    for (text, want) in [("true", true), ("1", true), ("false", false), ("0", false)] {
        assert_eq!(list(&[("flat", text)]).unwrap().flat, want);
    }
    for text in ["", "yes", "TRUE", "2"] {
        assert_400(list(&[("flat", text)]), "flat");
    }
    assert_400(list(&[("mask", "id,colour")]), "colour");
    assert_400(list(&[("mask", "opts.colour")]), "opts.colour");
    assert_400(list(&[("mask", "ext.title")]), "ext.title");
    assert_400(list(&[("mask", "type.x")]), "type.x");
    assert_400(list(&[("mask", "")]), "mask");
    assert_400(list(&[("mask", " , ")]), "mask");
}

#[test]
fn list_query_order() {
    let order = |text: &str| list(&[("order", text)]).map(|q| q.order);
    let o = |v: &[(&str, bool)]| {
        v.iter()
            .map(|(f, d)| (f.to_string(), *d))
            .collect::<Vec<_>>()
    };
    assert_eq!(order("code").unwrap(), o(&[("code", false)]));
    assert_eq!(
        order("code, opts.title").unwrap(),
        o(&[("code", false), ("opts.title", false)])
    );
    assert_eq!(order(r#""code""#).unwrap(), o(&[("code", false)]));
    assert_eq!(order(r#"[{"code":"desc"}]"#).unwrap(), o(&[("code", true)]));
    assert_eq!(order(r#"{"code":"DESC"}"#).unwrap(), o(&[("code", true)]));
    assert_eq!(
        order(r#"["type",{"opts.title":"desc"},{"ext.ct":"asc"}]"#).unwrap(),
        o(&[("type", false), ("opts.title", true), ("ext.ct", false)])
    );
    assert_eq!(order("[]").unwrap(), vec![]);

    assert_400(order("colour"), "colour");
    assert_400(order(r#"[{"colour":"asc"}]"#), "colour");
    assert_400(order(r#"[{"code":"up"}]"#), "code");
    assert_400(order(r#"[{"code":1}]"#), "code");
    assert_400(order(r#"[{"code":"asc","id":"desc"}]"#), "order");
    assert_400(order(r#"[{}]"#), "order");
    assert_400(order("[1]"), "order");
    assert_400(order("5"), "order");
    assert_400(order("opts"), "opts");
    assert_400(order("opts.cors_origins"), "opts.cors_origins");
    assert_400(order(""), "order");
}

#[test]
fn list_query_offset_and_limit() {
    let q = list(&[("offset", "20"), ("limit", "5")]).unwrap();
    assert_eq!((q.offset, q.limit), (20, 5));
    assert_eq!(list(&[("offset", "0")]).unwrap().offset, 0);
    assert_eq!(list(&[("limit", "1")]).unwrap().limit, 1);
    // Above the maximum is capped, not refused.
    let max = MAX_LIST_LIMIT.to_string();
    assert_eq!(list(&[("limit", &max)]).unwrap().limit, MAX_LIST_LIMIT);
    let over = (MAX_LIST_LIMIT + 1).to_string();
    assert_eq!(list(&[("limit", &over)]).unwrap().limit, MAX_LIST_LIMIT);
    assert_eq!(
        list(&[("limit", "99999999999999999999999")]).unwrap().limit,
        MAX_LIST_LIMIT
    );
    for param in ["offset", "limit"] {
        for bad in ["-1", "1.5", "abc", "", " 1", "+1", "1e3", "0x10"] {
            assert_400(list(&[(param, bad)]), param);
        }
    }
    assert_400(list(&[("limit", "0")]), "limit");
    assert_400(list(&[("offset", "99999999999999999999")]), "offset");
}

#[test]
fn list_query_refuses_unknown_and_repeated_parameters() {
    assert_400(list(&[("colour", "red")]), "colour");
    assert_400(list(&[("filters", "{}")]), "filters");
    assert_400(list(&[("limit", "1"), ("limit", "2")]), "limit");
    assert_400(list(&[("mask", "id"), ("mask", "code")]), "mask");
}

#[test]
fn get_query() {
    let get = |l: &[(&str, &str)]| parse_get_query(&pairs(l));
    assert_eq!(get(&[]).unwrap(), (None, false));
    assert_eq!(
        get(&[("mask", "code,opts.title"), ("flat", "1")]).unwrap(),
        (Some(mask(&["code", "opts.title"])), true)
    );
    assert_eq!(get(&[("flat", "false")]).unwrap(), (None, false));
    assert_400(get(&[("mask", "colour")]), "colour");
    assert_400(get(&[("flat", "yes")]), "flat");
    for param in ["filter", "order", "offset", "limit", "x"] {
        assert_400(get(&[(param, "1")]), param);
    }
    assert_400(get(&[("flat", "1"), ("flat", "0")]), "flat");
}

// ---- lookup_key -----------------------------------------------------------

#[test]
fn lookup_keys() {
    assert_eq!(lookup_key(br#""ABCDE""#).unwrap(), "ABCDE");
    assert_eq!(lookup_key(format!(" \"{ID}\"\n").as_bytes()).unwrap(), ID);
    assert_eq!(lookup_key(br#""caf\u00e9""#).unwrap(), "café");
    for body in [
        &b""[..],
        b"\"\"",
        b"ABCDE",
        b"12",
        b"null",
        b"[\"ABCDE\"]",
        b"{\"code\":\"ABCDE\"}",
        b"\"unterminated",
        b"\xff\xfe",
    ] {
        let err = lookup_key(body).unwrap_err();
        assert_eq!(err.status, 400, "{body:?}");
    }
}

// ---- list_sql against SQLite ----------------------------------------------

fn db(channels: &[Channel]) -> rusqlite::Connection {
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/0001_channels.sql"
    ))
    .unwrap();
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(&schema).unwrap();
    for ch in channels {
        conn.execute(
            "INSERT INTO channels (id, code, token_local, doc) VALUES (?1, ?2, ?3, ?4)",
            (
                &ch.id,
                &ch.code,
                &ch.token_local,
                serde_json::to_string(ch).unwrap(),
            ),
        )
        .unwrap();
    }
    conn
}

/// D1 binds JSON values; SQLite gets the same types here.
fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap()),
        },
        Value::String(s) => V::Text(s.clone()),
        other => panic!("not a bind value: {other}"),
    }
}

fn run(conn: &rusqlite::Connection, q: &ListQuery) -> Vec<String> {
    let (sql, binds) = list_sql(q);
    assert_eq!(
        sql.matches('?').count(),
        binds.len(),
        "one bind per placeholder: {sql}"
    );
    for b in &binds {
        assert!(
            matches!(
                b,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            ),
            "{b}"
        );
    }
    let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map(
            rusqlite::params_from_iter(binds.iter().map(sqlite_value)),
            |row| row.get::<_, String>(0),
        )
        .unwrap();
    rows.map(|doc| serde_json::from_str::<Channel>(&doc.unwrap()).unwrap().code)
        .collect()
}

fn fixture() -> rusqlite::Connection {
    // (code, type, issync, title)
    let rows = [
        ("charlie", "public", false, "Mike"),
        ("alpha", "public", true, "Zeta"),
        ("echo", "public", false, ""),
        ("delta", "eventing", true, "Bravo"),
        ("bravo", "eventing", false, "Alpha"),
        ("foxtrot", "public", false, "' OR 1=1 --"),
    ];
    let channels: Vec<Channel> = rows
        .iter()
        .enumerate()
        .map(|(i, (code, kind, issync, title))| {
            create(
                &json!({"code": code, "type": kind, "opts": {"issync": issync, "title": title}}),
                format!("00000000-0000-0000-0000-00000000000{i}"),
                format!("{i:032x}"),
                T0,
            )
            .unwrap()
        })
        .collect();
    db(&channels)
}

fn query(list: &[(&str, &str)]) -> ListQuery {
    parse_list_query(&pairs(list)).unwrap()
}

#[test]
fn sql_default_order_is_by_code() {
    let conn = fixture();
    assert_eq!(
        run(&conn, &query(&[])),
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    );
    let (sql, binds) = list_sql(&query(&[]));
    assert!(sql.starts_with("SELECT doc FROM channels "), "{sql}");
    assert!(sql.ends_with(" LIMIT ? OFFSET ?"), "{sql}");
    assert!(!sql.contains("WHERE"), "{sql}");
    assert_eq!(binds, vec![json!(DEFAULT_LIST_LIMIT), json!(0)]);
    // A hand-built query with no limit gets the default; a huge one the cap.
    let (_, binds) = list_sql(&ListQuery::default());
    assert_eq!(binds, vec![json!(DEFAULT_LIST_LIMIT), json!(0)]);
    let (_, binds) = list_sql(&ListQuery {
        limit: u64::MAX,
        ..ListQuery::default()
    });
    assert_eq!(binds[0], json!(MAX_LIST_LIMIT));
}

#[test]
fn sql_filters() {
    let conn = fixture();
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"type":"eventing"}"#)])),
        ["bravo", "delta"]
    );
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"type":"public"}"#)])),
        ["alpha", "charlie", "echo", "foxtrot"]
    );
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"opts.issync":true}"#)])),
        ["alpha", "delta"]
    );
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"opts":{"issync":false}}"#)])),
        ["bravo", "charlie", "echo", "foxtrot"]
    );
    assert_eq!(
        run(
            &conn,
            &query(&[("filter", r#"{"opts.issync":false,"type":"eventing"}"#)])
        ),
        ["bravo"]
    );
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"code":"delta"}"#)])),
        ["delta"]
    );
    assert_eq!(
        run(
            &conn,
            &query(&[("filter", r#"{"id":"00000000-0000-0000-0000-000000000002"}"#)])
        ),
        ["echo"]
    );
    assert_eq!(
        run(&conn, &query(&[("filter", r#"{"opts.title":""}"#)])),
        ["echo"]
    );
    assert_eq!(
        run(
            &conn,
            &query(&[("filter", r#"{"opts.allow_files_api":false}"#)])
        )
        .len(),
        6
    );
    assert!(run(
        &conn,
        &query(&[("filter", r#"{"opts.allow_files_api":true}"#)])
    )
    .is_empty());
    assert!(run(&conn, &query(&[("filter", r#"{"code":"zulu"}"#)])).is_empty());
    // Booleans are bound as what json_extract gives for JSON booleans.
    let (sql, binds) = list_sql(&query(&[("filter", r#"{"opts.issync":true}"#)]));
    assert!(
        sql.contains("json_extract(doc, '$.opts.issync') = ?"),
        "{sql}"
    );
    assert_eq!(binds[0], json!(1));
}

#[test]
fn sql_values_are_bound_never_interpolated() {
    let conn = fixture();
    let hostile = "' OR 1=1 --";
    for field in ["code", "type", "id", "token_local", "url", "opts.comment"] {
        let filter = json!({ field: hostile }).to_string();
        let q = query(&[("filter", &filter)]);
        assert!(run(&conn, &q).is_empty(), "{field}");
        let (sql, binds) = list_sql(&q);
        assert!(!sql.contains(hostile), "{sql}");
        assert_eq!(binds[0], json!(hostile));
    }
    let filter = json!({"type": "public' OR '1'='1"}).to_string();
    assert!(run(&conn, &query(&[("filter", &filter)])).is_empty());
    // The same text as a real title matches exactly that channel.
    let filter = json!({"opts.title": hostile}).to_string();
    assert_eq!(run(&conn, &query(&[("filter", &filter)])), ["foxtrot"]);
}

#[test]
fn sql_order() {
    let conn = fixture();
    assert_eq!(
        run(&conn, &query(&[("order", r#"[{"code":"desc"}]"#)])),
        ["foxtrot", "echo", "delta", "charlie", "bravo", "alpha"]
    );
    assert_eq!(
        run(&conn, &query(&[("order", "code")])),
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    );
    assert_eq!(
        run(&conn, &query(&[("order", r#"["opts.title"]"#)])),
        ["echo", "foxtrot", "bravo", "delta", "charlie", "alpha"]
    );
    assert_eq!(
        run(&conn, &query(&[("order", r#"[{"opts.title":"desc"}]"#)])),
        ["alpha", "charlie", "delta", "bravo", "foxtrot", "echo"]
    );
    // Ties are broken by code.
    assert_eq!(
        run(&conn, &query(&[("order", r#"[{"type":"desc"}]"#)])),
        ["alpha", "charlie", "echo", "foxtrot", "bravo", "delta"]
    );
    assert_eq!(
        run(
            &conn,
            &query(&[("order", r#"["opts.issync",{"code":"desc"}]"#)])
        ),
        ["foxtrot", "echo", "charlie", "bravo", "delta", "alpha"]
    );
    // Filter and order together.
    assert_eq!(
        run(
            &conn,
            &query(&[
                ("filter", r#"{"type":"public"}"#),
                ("order", r#"[{"opts.title":"desc"}]"#)
            ])
        ),
        ["alpha", "charlie", "foxtrot", "echo"]
    );
}

#[test]
fn sql_paging() {
    let conn = fixture();
    let page =
        |offset: &str, limit: &str| run(&conn, &query(&[("offset", offset), ("limit", limit)]));
    assert_eq!(page("0", "2"), ["alpha", "bravo"]);
    assert_eq!(page("2", "2"), ["charlie", "delta"]);
    assert_eq!(page("4", "2"), ["echo", "foxtrot"]);
    assert_eq!(page("5", "2"), ["foxtrot"]);
    assert!(page("6", "2").is_empty());
    assert!(page("1000", "1000").is_empty());
    assert_eq!(page("1", "99999").len(), 5);
    // Paging a filtered, reversed list.
    assert_eq!(
        run(
            &conn,
            &query(&[
                ("filter", r#"{"opts.issync":false}"#),
                ("order", r#"{"code":"desc"}"#),
                ("offset", "1"),
                ("limit", "2")
            ])
        ),
        ["echo", "charlie"]
    );
}

#[test]
fn sql_ignores_fields_outside_the_whitelist() {
    let conn = fixture();
    // A hand-built query cannot inject a field name: a filter on one
    // matches nothing, an order by one is skipped.
    let evil = "code = code OR 1=1 --".to_string();
    let q = ListQuery {
        filter: vec![(evil.clone(), json!("x"))],
        order: vec![(evil.clone(), true)],
        limit: 10,
        ..ListQuery::default()
    };
    let (sql, _) = list_sql(&q);
    assert!(!sql.contains(&evil), "{sql}");
    assert!(run(&conn, &q).is_empty());
    let q = ListQuery {
        order: vec![(evil.clone(), true)],
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(run(&conn, &q).len(), 6);
}

// ---- opts.eventing_channel: self-references and cycles ----------------------

/// Follows `chain` as the edge does, with `links` as the channels' targets
/// (id → its `opts.eventing_channel`; a missing id names none).
fn follow(id: &str, target: &str, links: &[(&str, &str)]) -> Result<Vec<String>, RestError> {
    let mut chain = vec![target.to_owned()];
    let mut lookups = 0;
    while let Some(next) = next_eventing_hop(id, &chain)? {
        lookups += 1;
        assert!(lookups <= MAX_EVENTING_HOPS, "more lookups than the bound");
        let t = links
            .iter()
            .find(|(k, _)| *k == next)
            .map_or("", |(_, v)| *v);
        chain.push(t.to_owned());
    }
    Ok(chain)
}

#[test]
fn an_eventing_chain_that_ends_is_fine() {
    assert_eq!(MAX_EVENTING_HOPS, 8);
    assert_eq!(follow("a", "", &[]).unwrap(), [""]);
    assert_eq!(next_eventing_hop("a", &[]).unwrap(), None);
    // a → b → c → (none); a → x (missing).
    let links = [("b", "c"), ("c", "")];
    assert_eq!(follow("a", "b", &links).unwrap(), ["b", "c", ""]);
    assert_eq!(follow("a", "x", &links).unwrap(), ["x", ""]);
    // The longest chain allowed: a → c1 → … → c8 → (none).
    let ids: Vec<String> = (1..=MAX_EVENTING_HOPS).map(|i| format!("c{i}")).collect();
    let mut links: Vec<(&str, &str)> = ids.windows(2).map(|w| (&*w[0], &*w[1])).collect();
    links.push((ids.last().unwrap(), ""));
    assert_eq!(
        follow("a", "c1", &links).unwrap().len(),
        MAX_EVENTING_HOPS + 1
    );
}

#[test]
fn an_eventing_chain_back_to_the_channel_or_into_a_cycle_is_refused() {
    let msg = assert_400(follow("a", "a", &[]), "opts.eventing_channel");
    assert!(msg.contains("itself"), "{msg}");
    // a → b → a.
    let msg = assert_400(follow("a", "b", &[("b", "a")]), "opts.eventing_channel");
    assert!(
        msg.contains("back to this channel") && msg.contains('b'),
        "{msg}"
    );
    // a → b → c → a.
    let msg = assert_400(
        follow("a", "b", &[("b", "c"), ("c", "a")]),
        "opts.eventing_channel",
    );
    assert!(msg.contains("b → c"), "{msg}");
    // a → b → c → b: a cycle further on (older data).
    let msg = assert_400(
        follow("a", "b", &[("b", "c"), ("c", "b")]),
        "opts.eventing_channel",
    );
    assert!(msg.contains("cycle"), "{msg}");
    // b → b itself, reached from a.
    assert_400(follow("a", "b", &[("b", "b")]), "opts.eventing_channel");
}

#[test]
fn an_eventing_chain_longer_than_the_bound_is_refused() {
    let ids: Vec<String> = (1..=MAX_EVENTING_HOPS + 1)
        .map(|i| format!("c{i}"))
        .collect();
    let mut links: Vec<(&str, &str)> = ids.windows(2).map(|w| (&*w[0], &*w[1])).collect();
    links.push((ids.last().unwrap(), ""));
    let msg = assert_400(follow("a", "c1", &links), "opts.eventing_channel");
    assert!(
        msg.contains(&format!("more than {MAX_EVENTING_HOPS}")),
        "{msg}"
    );
}

// ---- check_process_urls ------------------------------------------------------

#[test]
fn process_urls_are_checked_against_process_allowed_hosts_on_save() {
    use syncbridge_core::outbound::{AllowList, ListKind};
    let default = AllowList::parse_for(ListKind::Process, "*").unwrap();
    let local = AllowList::parse_for(ListKind::Process, "*, http://127.0.0.1").unwrap();
    let with = |field: &str, url: &str| new(json!({"code": "c", field: url})).unwrap();
    for field in ["recv_svcscriptcode", "recv_svcscriptcode_ws"] {
        for url in [
            "http://10.0.0.1/hook",
            "https://169.254.169.254/",
            "https://[::ffff:127.0.0.1]/",
            "https://2130706433/",
            "https://localhost/",
            "http://process.example/",
        ] {
            let m = assert_400(check_process_urls(&with(field, url), None, &default), field);
            assert!(
                m.contains("PROCESS_ALLOWED_HOSTS") || m.contains("IPv4 address as four"),
                "{m}"
            );
        }
        let ch = with(field, "https://process.example/hook");
        assert!(check_process_urls(&ch, None, &default).is_ok());
        let ch = with(field, "http://127.0.0.1:8790/process/echo");
        assert!(check_process_urls(&ch, None, &local).is_ok());
        assert!(check_process_urls(&ch, None, &default).is_err());
    }
    // Other processes are not URLs to check.
    for process in ["", "corezoid:5"] {
        let ch = with("recv_svcscriptcode", process);
        assert!(check_process_urls(&ch, None, &default).is_ok());
    }
    // recv_svcscriptcode_ws must be an http(s) URL (it used to take anything).
    for ws in ["ws://proc.example", "proc", "HTTPS://proc.example"] {
        let ch = with("recv_svcscriptcode_ws", ws);
        assert_400(
            check_process_urls(&ch, None, &default),
            "`recv_svcscriptcode_ws` must be empty or an http:// or https:// URL",
        );
    }
    // A PATCH checks only what it changes: a process saved under a wider
    // list does not block other edits, but a change to it is checked.
    let old = with("recv_svcscriptcode", "http://127.0.0.1:8790/process/echo");
    let retitled = patch(&old, &json!({"opts": {"title": "t"}}), T1).unwrap();
    assert!(check_process_urls(&retitled, Some(&old), &default).is_ok());
    let moved = patch(
        &old,
        &json!({"recv_svcscriptcode": "http://127.0.0.1:1/"}),
        T1,
    )
    .unwrap();
    assert_400(
        check_process_urls(&moved, Some(&old), &default),
        "`recv_svcscriptcode`",
    );
    let ws = patch(
        &old,
        &json!({"recv_svcscriptcode_ws": "https://10.0.0.1/"}),
        T1,
    )
    .unwrap();
    assert_400(
        check_process_urls(&ws, Some(&old), &default),
        "`recv_svcscriptcode_ws`",
    );
}

/// The console shows a validation error beside its field: the first name
/// in backticks of a 400 about one field is that field.
#[test]
fn validation_errors_name_their_field_first() {
    for (body, field) in [
        (json!({}), "code"),
        (json!({"code": ""}), "code"),
        (json!({"code": "x", "type": "other"}), "type"),
        (json!({"code": "x", "url": 5}), "url"),
        (
            json!({"code": "x", "opts": {"issync": "yes"}}),
            "opts.issync",
        ),
        (
            json!({"code": "x", "opts": {"cors_origins": [1]}}),
            "opts.cors_origins[0]",
        ),
        (
            json!({"code": "x", "opts": {"callback": 1}}),
            "opts.callback",
        ),
        (
            json!({"code": "x", "opts": {"callback": {"retry": 1}}}),
            "opts.callback.retry",
        ),
        (json!({"code": "x", "nonsense": 1}), "nonsense"),
    ] {
        let e = create(&body, "id".into(), "t".repeat(32), T0).unwrap_err();
        assert_eq!(e.status, 400, "{body}");
        let named = e
            .error_message
            .split_once('`')
            .and_then(|(_, m)| m.split_once('`'))
            .map(|(name, _)| name);
        assert_eq!(named, Some(field), "{body}: {}", e.error_message);
    }
}
