//! WebSockets on a channel's token URL: `/ws/token/v1/{token}/subscribe`
//! (a subscriber to an eventing channel) and `/ws/token/v1/{token}` (an
//! inbound connection to a public channel's process), and the process's
//! replies to an inbound connection,
//! `POST /api/1/plugins/ws/{channel_id}/{connection_id}`.

use crate::clients::hub::{self, Upgrade};
use crate::clock::{now_ms, random16};
use crate::ctx::Ctx;
use crate::http::{self, header, internal, query_pairs, rest_json, Handled};
use serde_json::json;
use syncbridge_core::channel::ChannelKind;
use syncbridge_core::error::RestError;
use syncbridge_core::{eventing, websocket};
use worker::Request;

/// A WebSocket upgrade on a channel's token URL.
pub async fn upgrade(ctx: &Ctx, req: Request, token: &str, subscribe: bool) -> Handled {
    let settings = &ctx.settings;
    let upgrade = header(&req, "upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(RestError::new(426, "Expected a WebSocket upgrade").into());
    }
    let store = ctx.store()?;
    let channel = store
        .channel_by_token(token)
        .await?
        .ok_or_else(|| RestError::not_found("No channel at this URL"))?;
    let url = req.inner().url();
    let query = query_pairs(&req);
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let answer = if subscribe {
        if channel.kind != ChannelKind::Eventing {
            return Err(RestError::not_found("Subscriptions are on eventing channels").into());
        }
        let patterns = eventing::patterns_from_query(get("events"))?;
        // Refused before the upgrade: an id that is not a number would replay nothing.
        let last_event_id =
            eventing::parse_last_event_id(get("last_event_id"))?.and(get("last_event_id"));
        let up = Upgrade::Subscriber {
            patterns: &patterns,
            last_event_id,
        };
        hub::upgrade(&ctx.env, &channel.id, &req, up).await
    } else {
        if channel.kind != ChannelKind::Public || channel.recv_svcscriptcode_ws.is_empty() {
            return Err(RestError::not_found(
                "This channel takes no WebSocket connections (recv_svcscriptcode_ws is empty)",
            )
            .into());
        }
        let reply_base = settings
            .public_base(syncbridge_core::route::origin_of(&url))
            .map_err(|e| RestError::internal(e.0))?;
        let connection_id = websocket::connection_id(
            &settings.callback_secret,
            random16(),
            now_ms() / 1000,
            &channel.id,
        );
        let up = Upgrade::Inbound {
            connection_id: &connection_id,
            reply_base: &reply_base,
        };
        hub::upgrade(&ctx.env, &channel.id, &req, up).await
    };
    Ok(answer.map_err(internal)?)
}

/// `POST /api/1/plugins/ws/{channel_id}/{connection_id}`: the body is sent
/// on the connection as a text message.
pub async fn reply(ctx: &Ctx, mut req: Request, channel_id: &str, connection_id: &str) -> Handled {
    let settings = &ctx.settings;
    let now_s = now_ms() / 1000;
    if !websocket::connection_id_ok(&settings.callback_secret, channel_id, connection_id, now_s) {
        return Err(RestError::not_found("Unknown connection").into());
    }
    let body = http::read_body(&mut req, settings.ws_max_message_bytes)
        .await
        .map_err(RestError::from)?;
    let text = String::from_utf8(body)
        .map_err(|_| RestError::bad_request("the message must be UTF-8 text"))?;
    let resp = hub::send_to_connection(&ctx.env, channel_id, connection_id, &text)
        .await
        .map_err(internal)?;
    if resp.status_code() == 410 {
        return Err(RestError::new(410, "The connection is closed").into());
    }
    Ok(rest_json(200, &json!({"proc": "ok"}))?)
}
