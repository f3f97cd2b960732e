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
