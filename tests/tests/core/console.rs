//! The operator console's files (`console`) and their routes.

use syncbridge_core::console::{asset, Asset, CONTENT_SECURITY_POLICY, SECURITY_HEADERS};
use syncbridge_core::route::{route, Route};

#[test]
fn the_index_and_files_in_folders() {
    assert_eq!(
        asset(""),
        Some(Asset {
            path: "/console/index.html".into(),
            content_type: "text/html; charset=utf-8"
        })
    );
    for (rest, want) in [
        ("index.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("assets/chunk-AB12_x.mjs", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("a/b/c/logo.SVG", "image/svg+xml"),
        ("shots/channels-360.png", "image/png"),
        ("app.js.map", "application/json"),
        ("fonts/x.woff2", "font/woff2"),
    ] {
        let a = asset(rest).unwrap_or_else(|| panic!("{rest}"));
        assert_eq!(a.content_type, want, "{rest}");
        assert_eq!(a.path, format!("/console/{rest}"));
    }
}

#[test]
fn what_names_no_file_is_none() {
    let long = format!("{}.js", "a".repeat(300));
    for rest in [
        "..",
        "../openapi.json",
        "a/../index.html",
        "%2e%2e/openapi.json",
        "%69ndex.html",
        ".env",
        ".hidden.html",
        "a/.git/config.txt",
        "folder/",
        "a//b.js",
        "/index.html",
        "noext",
        "index.exe",
        "index.html.bak",
        "a b.js",
        "a\\b.js",
        "ünicode.js",
        "x.js?y=1",
        long.as_str(),
    ] {
        assert_eq!(asset(rest), None, "{rest:?}");
    }
}

#[test]
fn the_policy_allows_nothing_inline_nor_foreign() {
    for directive in [
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
    ] {
        assert!(
            CONTENT_SECURITY_POLICY
                .split(';')
                .any(|d| d.trim() == directive),
            "{directive}"
        );
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    assert!(!CONTENT_SECURITY_POLICY.contains("http"));
    let names: Vec<&str> = SECURITY_HEADERS.iter().map(|(k, _)| *k).collect();
    for want in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(names.contains(&want), "{want}");
    }
}

#[test]
fn console_routes() {
    assert_eq!(route("GET", "/console"), Route::ConsoleHome);
    assert_eq!(route("GET", "/console/"), Route::Console { path: "" });
    assert_eq!(route("HEAD", "/console/"), Route::Console { path: "" });
    assert_eq!(
        route("GET", "/console/assets/app.js"),
        Route::Console {
            path: "assets/app.js"
        }
    );
    assert_eq!(
        route("POST", "/console/"),
        Route::MethodNotAllowed { allowed: "GET" }
    );
    assert_eq!(
        route("DELETE", "/console"),
        Route::MethodNotAllowed { allowed: "GET" }
    );
    assert_eq!(route("GET", "/console/x.js").template(), "/console/{path}");
    assert_eq!(route("GET", "/console/").template(), "/console/");
    assert_eq!(route("GET", "/consoles"), Route::NotFound);
    assert_eq!(route("GET", "/console//app.js"), Route::NotFound);
}

#[test]
fn info_names_logins_and_settings_but_no_secret() {
    let s = syncbridge_core::Settings::from_lookup(|k| match k {
        "API_KEYS" => Some(r#"{"zed":"key-of-zed-0123","amy":"key-of-amy-0123"}"#.into()),
        "CALLBACK_SECRET" => Some("callback-secret-0123456789".into()),
        "ADMIN_TOKEN" => Some("admin-token-0123456789".into()),
        "REQUEST_LOG_BODY_BYTES" => Some("100".into()),
        _ => None,
    })
    .unwrap();
    let v = syncbridge_core::console::info(&s, "http://127.0.0.1:8787");
    assert_eq!(v["public_url"], "http://127.0.0.1:8787");
    assert_eq!(v["logins"], serde_json::json!(["amy", "zed"]));
    assert_eq!(v["settings"]["REQUEST_LOG_BODY_BYTES"], 100);
    assert_eq!(v["settings"]["WEBHOOK_MAX_WAIT_S"], 60);
    let text = v.to_string();
    for secret in ["key-of-zed", "key-of-amy", "callback-secret", "admin-token"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Without PUBLIC_URL, a public origin is not the gateway's: none is given.
    let v = syncbridge_core::console::info(&s, "https://gw.example");
    assert_eq!(v["public_url"], serde_json::Value::Null);
}
