//! The route table (`route`).

use syncbridge_core::route::{route, Route, ROUTES};

#[test]
fn route_table() {
    assert_eq!(
        route("POST", "/api/1/json/l/1/s"),
        Route::SyncApi {
            login: "l",
            unixtime: "1",
            signature: "s"
        }
    );
    assert_eq!(
        route("POST", "/api/1/plugins/callback/x"),
        Route::Callback { request_id: "x" }
    );
    assert_eq!(route("GET", "/healthz"), Route::Health);
    assert_eq!(route("HEAD", "/healthz"), Route::Health);
    assert_eq!(
        route("GET", "/api/1/json/l/1/s"),
        Route::MethodNotAllowed { allowed: "POST" }
    );
    assert_eq!(
        route("POST", "/healthz"),
        Route::MethodNotAllowed { allowed: "GET" }
    );
    for p in [
        "/",
        "/api/1/json/l/1",
        "/api/1/json/l/1/s/x",
        "/api/1/json//1/s",
        "/api/1/plugins/callback/",
        "/api/2/json/l/1/s",
    ] {
        assert_eq!(route("POST", p), Route::NotFound, "{p}");
    }
    // Every documented route is matched by the router with its method.
    for (method, template) in ROUTES {
        let path = template.replace(['{', '}'], "");
        assert!(
            !matches!(
                route(method, &path),
                Route::NotFound | Route::MethodNotAllowed { .. }
            ),
            "{method} {template}"
        );
    }
}

#[test]
fn path_of_a_serialized_url() {
    use syncbridge_core::route::path_of;
    for (url, path) in [
        ("http://127.0.0.1:8787/healthz", "/healthz"),
        (
            "https://sync.example.com/api/1/json/l/1/s?x=1",
            "/api/1/json/l/1/s",
        ),
        ("https://h.example/a%20b/c#frag", "/a%20b/c"),
        ("https://h.example/", "/"),
        ("https://h.example", "/"),
        ("https://h.example?q=/x", "/"),
        ("https://h.example#/x", "/"),
        (
            "http://[::1]:8787/api/token/v1/abc/sub/path?a=b",
            "/api/token/v1/abc/sub/path",
        ),
        ("/relative/path?x", "/relative/path"),
    ] {
        assert_eq!(path_of(url), path, "{url}");
    }
}

#[test]
fn the_request_log_line_is_json_with_its_fields_in_order() {
    let line = syncbridge_core::log_line::request("ab12", "GET", "/healthz", 200, 3);
    assert_eq!(
        line,
        r#"{"log":"request","id":"ab12","method":"GET","route":"/healthz","status":200,"duration_ms":3}"#
    );
    // Whatever a method holds, the line stays JSON.
    let odd = syncbridge_core::log_line::request("x", "PO\"ST\\\n", "/r", 405, 0);
    let v: serde_json::Value = serde_json::from_str(&odd).unwrap();
    assert_eq!(v["method"], "PO\"ST\\\n");
    assert_eq!(v["status"], 405);
}

#[test]
fn a_log_line_of_fields_is_what_json_prints_of_them() {
    use syncbridge_core::log_line::{fields, Field};
    let odd = "a\"b\\c\n\t\u{1}\u{7f}é😀";
    let line = fields(&[
        ("log", Field::Str("enqueue_failed")),
        ("delivery", Field::Str(odd)),
        ("status", Field::Num(503)),
        ("n", Field::Num(u64::MAX)),
        ("error", Field::Str("")),
    ]);
    let expected = serde_json::json!({"log": "enqueue_failed", "delivery": odd, "status": 503, "n": u64::MAX, "error": ""});
    assert_eq!(line, expected.to_string());
    assert_eq!(fields(&[]), "{}");
}

#[test]
fn origin_of_a_serialized_url() {
    use syncbridge_core::route::origin_of;
    for (url, origin) in [
        (
            "http://127.0.0.1:8787/api/1/json/l/1/s",
            "http://127.0.0.1:8787",
        ),
        ("https://sync.example.com/x?y", "https://sync.example.com"),
        ("https://sync.example.com?y", "https://sync.example.com"),
        ("https://sync.example.com", "https://sync.example.com"),
        ("http://[::1]:8787/", "http://[::1]:8787"),
        ("/no/scheme", ""),
    ] {
        assert_eq!(origin_of(url), origin, "{url}");
    }
}

#[test]
fn query_and_scheme_of_a_serialized_url() {
    use syncbridge_core::route::{query_of, query_pairs, scheme_of};
    for (url, query) in [
        ("https://h.example/p?a=1&b=2", Some("a=1&b=2")),
        ("https://h.example/p?a=1#frag?x", Some("a=1")),
        ("https://h.example/p?", Some("")),
        ("https://h.example?q=/x", Some("q=/x")),
        ("https://h.example/p", None),
        ("https://h.example/p#a?b", None),
        ("http://[::1]:8787/x?y=%20z", Some("y=%20z")),
    ] {
        assert_eq!(query_of(url), query, "{url}");
    }
    assert_eq!(
        query_pairs("https://h.example/p?a=1&b=x+y%21&a=&c#d=e"),
        [("a", "1"), ("b", "x y!"), ("a", ""), ("c", "")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert!(query_pairs("https://h.example/p").is_empty());
    assert!(query_pairs("https://h.example/p#a=b").is_empty());
    assert_eq!(scheme_of("https://h.example/p"), "https");
    assert_eq!(scheme_of("http://127.0.0.1:8787/"), "http");
    assert_eq!(scheme_of("/no/scheme"), "");
}

#[test]
fn recover_is_its_own_route_beside_the_delivery_ids() {
    let base = "/rest/v1/service/integration_points/c1/deliveries";
    assert_eq!(
        route("POST", &format!("{base}/recover")),
        Route::Recover { id: "c1" }
    );
    assert_eq!(
        route("PUT", &format!("{base}/recover")),
        Route::MethodNotAllowed {
            allowed: "GET, POST"
        }
    );
    assert_eq!(
        route("GET", &format!("{base}/d1")),
        Route::Delivery {
            id: "c1",
            delivery_id: "d1"
        }
    );
}

#[test]
fn a_channels_destination_and_its_re_enabling_are_routed() {
    let base = "/rest/v1/service/integration_points/c1/destination";
    assert_eq!(
        route("GET", base),
        Route::Destination {
            id: "c1",
            enable: false
        }
    );
    assert_eq!(
        route("POST", &format!("{base}/enable")),
        Route::Destination {
            id: "c1",
            enable: true
        }
    );
    assert_eq!(
        route("GET", &format!("{base}/enable")),
        Route::MethodNotAllowed { allowed: "POST" }
    );
    assert_eq!(
        route("POST", base),
        Route::MethodNotAllowed { allowed: "GET" }
    );
}
