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
