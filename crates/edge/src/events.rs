//! Eventing at the worker: publishing, webhook subscriptions, WebSocket
//! upgrades (subscribers and inbound connections) and processes' replies to
//! inbound connections. The channel hub object does the rest.

use crate::http::{self, now_iso, now_ms, random16, rest_error};
use crate::hub;
use crate::store::Store;
use serde_json::{json, Value};
use syncbridge_core::channel::{Channel, ChannelKind};
use syncbridge_core::error::RestError;
use syncbridge_core::{admin, eventing, ids, outbound};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Result};

fn internal(e: worker::Error) -> RestError {
    RestError::internal(e.to_string())
}

/// `POST /rest/v1/service/integration_points/{id}/events`: the admin token,
/// or the channel's `opts.callback.process_key`.
pub async fn publish(mut req: Request, env: &Env, channel_id: &str) -> Result<Response> {
    let run = async {
        let settings = crate::settings(env).map_err(RestError::from)?;
        let store = Store::new(env)?;
        let auth = req.headers().get("authorization").ok().flatten();
        let admin_ok = admin::admin_ok(auth.as_deref(), settings.admin_token.as_deref());
        let channel = store.channel(channel_id).await?;
        let key_ok = admin::process_key_ok(auth.as_deref(), channel.as_ref());
        if !admin_ok && !key_ok {
            return Err(RestError::unauthorized());
        }
        let channel = channel
            .ok_or_else(|| RestError::not_found(format!("No channel with id {channel_id}")))?;
        if channel.kind != ChannelKind::Eventing {
            return Err(RestError::conflict(
                "Events are published on eventing channels",
            ));
        }
        let body = http::read_body(&mut req, settings.max_body_bytes).await?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))?;
        let (kind, data) = eventing::parse_publish(&v)?;
        let event = hub::publish(env, &channel.id, &kind, data)
            .await
            .map_err(internal)?;
        http::json(202, &serde_json::to_value(event).unwrap_or_default()).map_err(internal)
    };
    match run.await {
        Ok(r) => Ok(r),
        Err(e) => rest_error(&e),
    }
}

/// `/api/token/v1/{token}/subscribe[/{id}]` on an eventing channel.
pub async fn subscriptions(
    mut req: Request,
    env: &Env,
    channel: &Channel,
    rest: &[&str],
) -> Result<Response> {
    let run = async {
        let settings = crate::settings(env).map_err(RestError::from)?;
        match (req.method(), rest) {
            (Method::Get, ["subscribe"]) => hub::subscriptions(env, &channel.id, Method::Get, None)
                .await
                .map_err(internal),
            (Method::Post, ["subscribe"]) => {
                let body = http::read_body(&mut req, settings.max_body_bytes).await?;
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| RestError::bad_request(format!("Bad JSON: {e}")))?;
                let sub = eventing::parse_subscription(&v, ids::uuid_v4(random16()), &now_iso())?;
                outbound::check_destination(&sub.url, &settings.callback_allowed_hosts)
                    .map_err(|e| RestError::bad_request(format!("url: {e}")))?;
                let mut resp = hub::subscriptions(
                    env,
                    &channel.id,
                    Method::Post,
                    Some(serde_json::to_string(&sub).unwrap_or_default()),
                )
                .await
                .map_err(internal)?;
                let created: Value = resp.json().await.map_err(internal)?;
                http::json(201, &created).map_err(internal)
            }
            (Method::Delete, ["subscribe", id]) => {
                let resp = hub::subscriptions(
                    env,
                    &channel.id,
                    Method::Delete,
                    Some(json!({"id": id}).to_string()),
                )
                .await
                .map_err(internal)?;
                if resp.status_code() == 404 {
                    return Err(RestError::not_found(format!(
                        "No subscription with id {id}"
                    )));
                }
                Response::empty()
                    .map(|r| r.with_status(204))
                    .map_err(internal)
            }
            (_, ["subscribe"]) => Err(RestError::new(405, "Method not allowed; use GET or POST")),
            (_, ["subscribe", _]) => Err(RestError::new(405, "Method not allowed; use DELETE")),
            _ => Err(RestError::new(
                403,
                "This is an eventing channel; it takes no webhooks",
            )),
        }
    };
    match run.await {
        Ok(r) => Ok(r),
        Err(e) => rest_error(&e),
    }
}

/// A WebSocket upgrade on a channel's token URL.
pub async fn websocket(req: Request, env: &Env, token: &str, subscribe: bool) -> Result<Response> {
    let run = async {
        let settings = crate::settings(env).map_err(RestError::from)?;
        let upgrade = req
            .headers()
            .get("upgrade")
            .ok()
            .flatten()
            .unwrap_or_default();
        if !upgrade.eq_ignore_ascii_case("websocket") {
            return Err(RestError::new(426, "Expected a WebSocket upgrade"));
        }
        let store = Store::new(env)?;
        let channel = store
            .channel_by_token(token)
            .await?
            .ok_or_else(|| RestError::not_found("No channel at this URL"))?;
        let url = req.url().map_err(internal)?;
        let query = http::query_pairs(&url);
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut target = format!(
            "https://hub.internal/ws/{}?channel={}",
            if subscribe { "subscribe" } else { "inbound" },
            channel.id
        );
        if subscribe {
            if channel.kind != ChannelKind::Eventing {
                return Err(RestError::not_found(
                    "Subscriptions are on eventing channels",
                ));
            }
            let patterns = eventing::patterns_from_query(get("events"))?;
            target.push_str(&format!(
                "&patterns={}",
                enc(&serde_json::to_string(&patterns).unwrap_or_default())
            ));
            if let Some(last) = get("last_event_id") {
                target.push_str(&format!("&last_event_id={}", enc(last)));
            }
        } else {
            if channel.kind != ChannelKind::Public || channel.recv_svcscriptcode_ws.is_empty() {
                return Err(RestError::not_found(
                    "This channel takes no WebSocket connections (recv_svcscriptcode_ws is empty)",
                ));
            }
            let connection_id = hub::new_connection_id(&settings, &channel.id);
            let reply_base = match &settings.public_url {
                Some(u) => u.clone(),
                None => url.origin().ascii_serialization(),
            };
            target.push_str(&format!(
                "&connection_id={connection_id}&reply_base={}",
                enc(&reply_base)
            ));
        }
        let headers = Headers::new();
        for (k, v) in req.headers().entries() {
            headers.append(&k, &v).map_err(internal)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let inner = Request::new_with_init(&target, &init).map_err(internal)?;
        hub::forward(env, &channel.id, inner)
            .await
            .map_err(internal)
    };
    match run.await {
        Ok(r) => Ok(r),
        Err(e) => rest_error(&e),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `POST /api/1/plugins/ws/{channel_id}/{connection_id}`: the body is sent
/// on the connection as a text message.
pub async fn reply(
    mut req: Request,
    env: &Env,
    channel_id: &str,
    connection_id: &str,
) -> Result<Response> {
    let run = async {
        let settings = crate::settings(env).map_err(RestError::from)?;
        if !hub::connection_id_ok(&settings, channel_id, connection_id) {
            return Err(RestError::not_found("Unknown connection"));
        }
        let body = http::read_body(&mut req, settings.ws_max_message_bytes).await?;
        let text = String::from_utf8(body)
            .map_err(|_| RestError::bad_request("the message must be UTF-8 text"))?;
        let resp = hub::send_to_connection(env, channel_id, connection_id, &text)
            .await
            .map_err(internal)?;
        if resp.status_code() == 410 {
            return Err(RestError::new(410, "The connection is closed"));
        }
        http::json(200, &json!({"proc": "ok"})).map_err(internal)
    };
    let _ = now_ms;
    match run.await {
        Ok(r) => Ok(r),
        Err(e) => rest_error(&e),
    }
}
