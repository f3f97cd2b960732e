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
