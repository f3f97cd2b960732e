//! The gateway's route table, as a pure function of method and path.
//!
//! Keeping it here (not in the worker) makes the table testable natively and
//! gives later tooling (the OpenAPI check) one list to compare against.

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /api/1/json/{login}/{unixtime}/{signature}`
    SyncApi {
        /// The API login.
        login: &'a str,
        /// The request time, unix seconds as sent.
        unixtime: &'a str,
        /// The request's signature, hex.
        signature: &'a str,
    },
    /// `POST /api/1/plugins/callback/{request_id}`
    Callback {
        /// The request id the callback is for.
        request_id: &'a str,
    },
    /// `GET /healthz`: liveness, touches nothing; the benchmark's baseline.
    Health,
    /// `GET /openapi.json`: the OpenAPI 3.1 document of every route.
    OpenApi,
    /// `GET /console`: redirected to `/console/`.
    ConsoleHome,
    /// `GET /console/` and `GET /console/{path}`: a file of the operator
    /// console (see [`crate::console::asset`]).
    Console {
        /// The path after `/console/`, as requested (empty: the index).
        path: &'a str,
    },
    /// `GET /rest/v1/service/info`: what the console shows of the gateway.
    ServiceInfo,
    /// `/rest/v1/service/integration_points`
    Channels(ChannelCollectionOp),
    /// `/rest/v1/service/integration_points/{id}`
    Channel {
        /// The channel id.
        id: &'a str,
        /// What to do with it.
        op: ChannelItemOp,
    },
    /// `GET /rest/v1/service/integration_points/{id}/requests`
    ChannelRequests {
        /// The channel id.
        id: &'a str,
    },
    /// `GET /rest/v1/service/integration_points/{id}/requests/{request_id}`:
    /// one recorded request, whole.
    ChannelRequest {
        /// The channel id.
        id: &'a str,
        /// The record's id (the event id).
        request_id: &'a str,
    },
    /// `GET /rest/v1/service/integration_points/{id}/stats`: the channel's overview.
    ChannelStats {
        /// The channel id.
        id: &'a str,
    },
    /// `POST …/{id}/events`: publish an event on an eventing channel.
    Publish {
        /// The channel id.
        id: &'a str,
    },
    /// WebSocket upgrade on `/ws/token/v1/{token_local}` (inbound, public
    /// channel) or `…/subscribe` (eventing channel).
    WebSocket {
        /// The channel's `token_local`.
        token: &'a str,
        /// `…/subscribe`: an eventing channel's subscriber.
        subscribe: bool,
    },
    /// `POST /api/1/plugins/ws/{channel_id}/{connection_id}`: a process's
    /// message to an inbound WebSocket connection.
    WsReply {
        /// The channel id.
        channel_id: &'a str,
        /// The connection id (MAC'd, see [`crate::websocket::connection_id`]).
        connection_id: &'a str,
    },
    /// `POST …/{id}/send`: queue an outbound callback.
    Send {
        /// The channel id.
        id: &'a str,
    },
    /// `POST …/{id}/send/test`: one attempt now, nothing queued.
    SendTest {
        /// The channel id.
        id: &'a str,
    },
    /// `GET …/{id}/deliveries`
    Deliveries {
        /// The channel id.
        id: &'a str,
    },
    /// `GET …/{id}/deliveries/{delivery_id}`
    Delivery {
        /// The channel id.
        id: &'a str,
        /// The delivery id.
        delivery_id: &'a str,
    },
    /// `GET …/{id}/destination` (its delivery controls' state) and
    /// `POST …/{id}/destination/enable` (re-enable it).
    Destination {
        /// The channel id.
        id: &'a str,
        /// True for `POST …/enable`.
        enable: bool,
    },
    /// `POST …/{id}/deliveries/recover`: resend failed/dead deliveries since a time.
    Recover {
        /// The channel id.
        id: &'a str,
    },
    /// `POST …/{id}/deliveries/{delivery_id}/resend`
    Resend {
        /// The channel id.
        id: &'a str,
        /// The delivery id.
        delivery_id: &'a str,
    },
    /// Any method on `/api/token/v1/{token_local}` and below it.
    WebhookByToken {
        /// The channel's `token_local`.
        token: &'a str,
    },
    /// Any method on `/api/webrequest/{code}` and below it (Bpium's form).
    WebhookByCode {
        /// The channel's `code`, percent-encoded as in the path.
        code: &'a str,
    },
    /// A known path with a method it does not take; carries the allowed ones.
    MethodNotAllowed {
        /// The methods it takes, comma-separated (the `Allow` header).
        allowed: &'static str,
    },
    /// No route has this path.
    NotFound,
}

/// What a request on `/rest/v1/service/integration_points` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelCollectionOp {
    /// `GET`: list channels (filter, mask, order, paging).
    List,
    /// `POST`: create a channel.
    Create,
    /// `LOOKUP` (or `POST` with `X-HTTP-Method-Override: LOOKUP`): find ids by id, code or token.
    Lookup,
}

/// What a request on `/rest/v1/service/integration_points/{id}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelItemOp {
    /// `GET`: the channel (mask, flat).
    Get,
    /// `PATCH`: change fields.
    Patch,
    /// `DELETE`: remove it, with its request log and deliveries.
    Delete,
}

impl Route<'_> {
    /// The route's path template, for logs: it never carries a path
    /// parameter's value (channel tokens, signatures, request ids).
    pub fn template(&self) -> &'static str {
        match self {
            Route::SyncApi { .. } => "/api/1/json/{login}/{unixtime}/{signature}",
            Route::Callback { .. } => "/api/1/plugins/callback/{request_id}",
            Route::Health => "/healthz",
            Route::OpenApi => "/openapi.json",
            Route::ConsoleHome => "/console",
            Route::Console { path: "" } => "/console/",
            Route::Console { .. } => "/console/{path}",
            Route::ServiceInfo => "/rest/v1/service/info",
            Route::Channels(_) => "/rest/v1/service/integration_points",
            Route::Channel { .. } => "/rest/v1/service/integration_points/{id}",
            Route::ChannelRequests { .. } => "/rest/v1/service/integration_points/{id}/requests",
            Route::ChannelRequest { .. } => {
                "/rest/v1/service/integration_points/{id}/requests/{request_id}"
            }
            Route::ChannelStats { .. } => "/rest/v1/service/integration_points/{id}/stats",
            Route::Publish { .. } => "/rest/v1/service/integration_points/{id}/events",
            Route::WebSocket {
                subscribe: false, ..
            } => "/ws/token/v1/{token_local}",
            Route::WebSocket {
                subscribe: true, ..
            } => "/ws/token/v1/{token_local}/subscribe",
            Route::WsReply { .. } => "/api/1/plugins/ws/{channel_id}/{connection_id}",
            Route::Send { .. } => "/rest/v1/service/integration_points/{id}/send",
            Route::SendTest { .. } => "/rest/v1/service/integration_points/{id}/send/test",
            Route::Deliveries { .. } => "/rest/v1/service/integration_points/{id}/deliveries",
            Route::Delivery { .. } => {
                "/rest/v1/service/integration_points/{id}/deliveries/{delivery_id}"
            }
            Route::Recover { .. } => "/rest/v1/service/integration_points/{id}/deliveries/recover",
            Route::Destination { enable: false, .. } => {
                "/rest/v1/service/integration_points/{id}/destination"
            }
            Route::Destination { enable: true, .. } => {
                "/rest/v1/service/integration_points/{id}/destination/enable"
            }
            Route::Resend { .. } => {
                "/rest/v1/service/integration_points/{id}/deliveries/{delivery_id}/resend"
            }
            Route::WebhookByToken { .. } => "/api/token/v1/{token_local}",
            Route::WebhookByCode { .. } => "/api/webrequest/{code}",
            Route::MethodNotAllowed { .. } => "(method not allowed)",
            Route::NotFound => "(no route)",
        }
    }
}

/// Every route as `(method, path template)`, for documentation and checks.
/// `*` stands for any method.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/1/json/{login}/{unixtime}/{signature}"),
    ("POST", "/api/1/plugins/callback/{request_id}"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/console"),
    ("GET", "/console/"),
    // `{path}` is one or more segments: the console's files may lie in folders.
    ("GET", "/console/{path}"),
    ("GET", "/rest/v1/service/info"),
    ("GET", "/rest/v1/service/integration_points"),
    ("POST", "/rest/v1/service/integration_points"),
    ("LOOKUP", "/rest/v1/service/integration_points"),
    ("GET", "/rest/v1/service/integration_points/{id}"),
    ("PATCH", "/rest/v1/service/integration_points/{id}"),
    ("DELETE", "/rest/v1/service/integration_points/{id}"),
    ("GET", "/rest/v1/service/integration_points/{id}/requests"),
    (
        "GET",
        "/rest/v1/service/integration_points/{id}/requests/{request_id}",
    ),
    ("GET", "/rest/v1/service/integration_points/{id}/stats"),
    ("POST", "/rest/v1/service/integration_points/{id}/events"),
    ("POST", "/rest/v1/service/integration_points/{id}/send"),
    ("POST", "/rest/v1/service/integration_points/{id}/send/test"),
    ("GET", "/rest/v1/service/integration_points/{id}/deliveries"),
    (
        "POST",
        "/rest/v1/service/integration_points/{id}/deliveries/recover",
    ),
    (
        "GET",
        "/rest/v1/service/integration_points/{id}/destination",
    ),
    (
        "POST",
        "/rest/v1/service/integration_points/{id}/destination/enable",
    ),
    (
        "GET",
        "/rest/v1/service/integration_points/{id}/deliveries/{delivery_id}",
    ),
    (
        "POST",
        "/rest/v1/service/integration_points/{id}/deliveries/{delivery_id}/resend",
    ),
    ("*", "/api/token/v1/{token_local}"),
    ("POST", "/api/token/v1/{token_local}/subscribe"),
    ("GET", "/api/token/v1/{token_local}/subscribe"),
    (
        "DELETE",
        "/api/token/v1/{token_local}/subscribe/{subscription_id}",
    ),
    ("GET", "/ws/token/v1/{token_local}"),
    ("GET", "/ws/token/v1/{token_local}/subscribe"),
    ("POST", "/api/1/plugins/ws/{channel_id}/{connection_id}"),
    ("*", "/api/webrequest/{code}"),
];

/// The method a request stands for. workerd refuses unknown methods such as
/// `LOOKUP` before the worker runs, so `POST` with
/// `X-HTTP-Method-Override: LOOKUP` stands for `LOOKUP`. No other override
/// is honoured.
pub fn effective_method<'a>(method: &'a str, override_header: Option<&str>) -> &'a str {
    match override_header {
        Some(o)
            if method.eq_ignore_ascii_case("POST") && o.trim().eq_ignore_ascii_case("LOOKUP") =>
        {
            "LOOKUP"
        }
        _ => method,
    }
}

fn pick<'a>(method: &str, allowed: &'static str, table: &[(&str, Route<'a>)]) -> Route<'a> {
    for (m, r) in table {
        if method.eq_ignore_ascii_case(m) || (*m == "GET" && method.eq_ignore_ascii_case("HEAD")) {
            return r.clone();
        }
    }
    Route::MethodNotAllowed { allowed }
}

/// The route of `method` (after [`effective_method`]) on `path`. `HEAD` is taken wherever `GET` is.
pub fn route<'a>(method: &str, path: &'a str) -> Route<'a> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "1", "json", login, unixtime, signature]
            if !login.is_empty() && !unixtime.is_empty() && !signature.is_empty() =>
        {
            pick(
                method,
                "POST",
                &[(
                    "POST",
                    Route::SyncApi {
                        login,
                        unixtime,
                        signature,
                    },
                )],
            )
        }
        ["api", "1", "plugins", "callback", request_id] if !request_id.is_empty() => {
            pick(method, "POST", &[("POST", Route::Callback { request_id })])
        }
        ["healthz"] => pick(method, "GET", &[("GET", Route::Health)]),
        ["openapi.json"] => pick(method, "GET", &[("GET", Route::OpenApi)]),
        ["console"] => pick(method, "GET", &[("GET", Route::ConsoleHome)]),
        ["console", ""] => pick(method, "GET", &[("GET", Route::Console { path: "" })]),
        ["console", first, ..] if !first.is_empty() => {
            let path = path
                .trim_start_matches('/')
                .strip_prefix("console/")
                .unwrap_or_default();
            pick(method, "GET", &[("GET", Route::Console { path })])
        }
        ["rest", "v1", "service", "info"] => pick(method, "GET", &[("GET", Route::ServiceInfo)]),
        ["rest", "v1", "service", "integration_points"]
        | ["rest", "v1", "service", "integration_points", ""] => pick(
            method,
            "GET, POST, LOOKUP",
            &[
                ("GET", Route::Channels(ChannelCollectionOp::List)),
                ("POST", Route::Channels(ChannelCollectionOp::Create)),
                ("LOOKUP", Route::Channels(ChannelCollectionOp::Lookup)),
            ],
        ),
        ["rest", "v1", "service", "integration_points", id] => pick(
            method,
            "GET, PATCH, DELETE",
            &[
                (
                    "GET",
                    Route::Channel {
                        id,
                        op: ChannelItemOp::Get,
                    },
                ),
                (
                    "PATCH",
                    Route::Channel {
                        id,
                        op: ChannelItemOp::Patch,
                    },
                ),
                (
                    "DELETE",
                    Route::Channel {
                        id,
                        op: ChannelItemOp::Delete,
                    },
                ),
            ],
        ),
        ["rest", "v1", "service", "integration_points", id, "requests"] if !id.is_empty() => {
            pick(method, "GET", &[("GET", Route::ChannelRequests { id })])
        }
        ["rest", "v1", "service", "integration_points", id, "requests", request_id]
            if !id.is_empty() && !request_id.is_empty() =>
        {
            pick(
                method,
                "GET",
                &[("GET", Route::ChannelRequest { id, request_id })],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "stats"] if !id.is_empty() => {
            pick(method, "GET", &[("GET", Route::ChannelStats { id })])
        }
        ["rest", "v1", "service", "integration_points", id, "events"] if !id.is_empty() => {
            pick(method, "POST", &[("POST", Route::Publish { id })])
        }
        ["ws", "token", "v1", token] if !token.is_empty() => pick(
            method,
            "GET",
            &[(
                "GET",
                Route::WebSocket {
                    token,
                    subscribe: false,
                },
            )],
        ),
        ["ws", "token", "v1", token, "subscribe"] if !token.is_empty() => pick(
            method,
            "GET",
            &[(
                "GET",
                Route::WebSocket {
                    token,
                    subscribe: true,
                },
            )],
        ),
        ["api", "1", "plugins", "ws", channel_id, connection_id]
            if !channel_id.is_empty() && !connection_id.is_empty() =>
        {
            pick(
                method,
                "POST",
                &[(
                    "POST",
                    Route::WsReply {
                        channel_id,
                        connection_id,
                    },
                )],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "send"] if !id.is_empty() => {
            pick(method, "POST", &[("POST", Route::Send { id })])
        }
        ["rest", "v1", "service", "integration_points", id, "send", "test"] if !id.is_empty() => {
            pick(method, "POST", &[("POST", Route::SendTest { id })])
        }
        ["rest", "v1", "service", "integration_points", id, "deliveries"] if !id.is_empty() => {
            pick(method, "GET", &[("GET", Route::Deliveries { id })])
        }
        ["rest", "v1", "service", "integration_points", id, "destination"] if !id.is_empty() => {
            pick(
                method,
                "GET",
                &[("GET", Route::Destination { id, enable: false })],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "destination", "enable"]
            if !id.is_empty() =>
        {
            pick(
                method,
                "POST",
                &[("POST", Route::Destination { id, enable: true })],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "deliveries", "recover"]
            if !id.is_empty() =>
        {
            // `recover` is also a (never issued) delivery id: GET reads it (a 404).
            pick(
                method,
                "GET, POST",
                &[
                    (
                        "GET",
                        Route::Delivery {
                            id,
                            delivery_id: "recover",
                        },
                    ),
                    ("POST", Route::Recover { id }),
                ],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "deliveries", delivery_id]
            if !id.is_empty() && !delivery_id.is_empty() =>
        {
            pick(
                method,
                "GET",
                &[("GET", Route::Delivery { id, delivery_id })],
            )
        }
        ["rest", "v1", "service", "integration_points", id, "deliveries", delivery_id, "resend"]
            if !id.is_empty() && !delivery_id.is_empty() =>
        {
            pick(
                method,
                "POST",
                &[("POST", Route::Resend { id, delivery_id })],
            )
        }
        ["api", "token", "v1", token, ..] if !token.is_empty() => Route::WebhookByToken { token },
        ["api", "webrequest", code, ..] if !code.is_empty() => Route::WebhookByCode { code },
        _ => Route::NotFound,
    }
}

/// The path of a serialized absolute URL (as the runtime gives a request's
/// `url`): from the first `/` after the authority up to any `?` or `#`,
/// percent-encoded as it came; `/` when there is none. The worker routes on
/// it without parsing the whole URL.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let Some(start) = rest.find(['/', '?', '#']) else {
        return "/";
    };
    let path = &rest[start..];
    if !path.starts_with('/') {
        return "/";
    }
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// The query of a serialized absolute URL: after the first `?` up to any
/// `#`; `None` when there is no `?` (a `?` inside a fragment is not one), as
/// a URL parser gives it for the runtime's already-serialized request URL.
pub fn query_of(url: &str) -> Option<&str> {
    let start = url.find(['?', '#'])?;
    let rest = url[start..].strip_prefix('?')?;
    Some(rest.split_once('#').map_or(rest, |(q, _)| q))
}

/// The query of a serialized absolute URL as decoded
/// `application/x-www-form-urlencoded` pairs, in order (empty without a
/// query).
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query_of(url).unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The scheme of a serialized absolute URL (`http`, `https`: the runtime
/// writes it in lowercase); empty for a URL without `://`.
pub fn scheme_of(url: &str) -> &str {
    url.find("://").map_or("", |i| &url[..i])
}

/// The origin of a serialized absolute URL (`scheme://host[:port]`, as the
/// runtime serializes it: lowercase host, no default port), without parsing
/// the whole URL; empty for a URL without `://`.
pub fn origin_of(url: &str) -> &str {
    let Some(i) = url.find("://") else {
        return "";
    };
    let rest = &url[i + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &url[..i + 3 + end]
}
