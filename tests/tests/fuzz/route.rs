//! The route table: `route::route` and `route::effective_method` on any
//! method and path.

use crate::gen::{text, token};
use crate::{check, fuzz};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use syncbridge_core::route::{self, Route};

const SEGMENTS: &[&str] = &[
    "api",
    "1",
    "json",
    "plugins",
    "callback",
    "ws",
    "token",
    "v1",
    "webrequest",
    "rest",
    "service",
    "integration_points",
    "requests",
    "events",
    "send",
    "test",
    "deliveries",
    "resend",
    "subscribe",
    "healthz",
    "openapi.json",
    "",
    "..",
    "%2F",
    "x",
];

pub fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => vec(prop_oneof![4 => select(SEGMENTS).prop_map(str::to_owned), 1 => token(), 1 => "[a-z0-9]{1,12}"], 0..8)
            .prop_map(|segs| format!("/{}", segs.join("/"))),
        1 => text(),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "LOOKUP", "get",
                "PROPFIND", ""
            ][..]
        )
        .prop_map(str::to_owned),
        text(),
    ]
}

#[test]
fn every_request_has_a_route() {
    fuzz(
        "route::route",
        (
            method(),
            path(),
            proptest::option::of(prop_oneof![Just("LOOKUP".to_owned()), text()]),
        ),
        |(m, p, over)| {
            let eff = route::effective_method(&m, over.as_deref());
            check!(eff == m || eff == "LOOKUP", "override to {eff}");
            let r = route::route(eff, &p);
            let t = r.template();
            check!(t.starts_with('/') || t.starts_with('('), "template {t}");
            // A matched route's template is in the table.
            if !matches!(r, Route::NotFound | Route::MethodNotAllowed { .. }) {
                check!(
                    route::ROUTES
                        .iter()
                        .any(|(_, rt)| t == *rt || rt.starts_with(t)),
                    "{t} not in ROUTES"
                );
            }
            Ok(())
        },
    );
}
