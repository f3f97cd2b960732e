//! Eventing routes over HTTP: publishing on an eventing channel
//! (`POST …/integration_points/{id}/events`) and its webhook subscriptions
//! (`/api/token/v1/{token}/subscribe[/{id}]`). The channel hub object keeps
//! the events and the subscriptions.

use crate::clients::hub;
use crate::clock::{now_iso, now_ms, random16};
use crate::ctx::Ctx;
use crate::http::{self, internal, rest_json, Handled};
use serde_json::{json, Value};
use syncbridge_core::admin::Policy;
use syncbridge_core::channel::cache::CacheKey;
use syncbridge_core::channel::{Channel, ChannelKind};
use syncbridge_core::error::RestError;
use syncbridge_core::{eventing, ids, outbound};
use worker::{Method, Request};

/// `POST /rest/v1/service/integration_points/{id}/events`: the admin token,
/// or the channel's `opts.callback.process_key`.
pub async fn publish(ctx: &Ctx, mut req: Request, channel_id: &str) -> Handled {
    let settings = &ctx.settings;
    let store = ctx.store()?;
    // From the isolate's cache for up to CHANNEL_CACHE_MS, as a webhook's.
    let key = CacheKey::Id(channel_id.to_owned());
    let channel = store
        .channel_by_key(key, now_ms(), settings.channel_cache_ms)
        .await?;
    ctx.authorize(&req, channel.as_ref(), Policy::AdminOrProcessKey)?;
    let channel =
        channel.ok_or_else(|| RestError::not_found(format!("No channel with id {channel_id}")))?;
    if channel.kind != ChannelKind::Eventing {
        return Err(RestError::conflict("Events are published on eventing channels").into());
    }
    let v = http::read_json(&mut req, settings.max_body_bytes).await?;
    let (kind, data) = eventing::parse_publish(&v)?;
    let data_json = data.to_string();
    eventing::check_event_len(&kind, data_json.len(), settings.event_max_bytes)?;
    let event = hub::publish(&ctx.env, &channel.id, &kind, data_json).await?;
    Ok(http::json_text(202, event).map_err(internal)?)
}

/// `/api/token/v1/{token}/subscribe[/{id}]` on an eventing channel; `rest`
/// is the path below the channel's URL.
pub async fn subscriptions(
    ctx: &Ctx,
    mut req: Request,
    channel: &Channel,
    rest: &[&str],
) -> Handled {
    let settings = &ctx.settings;
    let env = &ctx.env;
    let answer = match (req.method(), rest) {
        (Method::Get, ["subscribe"]) => {
            hub::subscriptions(env, &channel.id, Method::Get, None).await?
        }
        (Method::Post, ["subscribe"]) => {
            let v = http::read_json(&mut req, settings.max_body_bytes).await?;
            let sub = eventing::parse_subscription(&v, ids::uuid_v4(random16()), &now_iso())?;
            outbound::check_destination(&sub.url, &settings.callback_allowed_hosts)
                .map_err(|e| RestError::bad_request(format!("url: {e}")))?;
            // Over MAX_SUBSCRIPTIONS: the hub's 409.
            let resp = hub::subscriptions(
                env,
                &channel.id,
                Method::Post,
                Some(serde_json::to_string(&sub).unwrap_or_default()),
            )
            .await?;
            let created: Value = http::body_json(resp).await.map_err(internal)?;
            rest_json(201, &created)?
        }
        (Method::Delete, ["subscribe", id]) => {
            // No such subscription: the hub's 404.
            hub::subscriptions(
                env,
                &channel.id,
                Method::Delete,
                Some(json!({"id": id}).to_string()),
            )
            .await?;
            http::empty(204).map_err(internal)?
        }
        (_, ["subscribe"]) => {
            return Err(RestError::new(405, "Method not allowed; use GET or POST").into())
        }
        (_, ["subscribe", _]) => {
            return Err(RestError::new(405, "Method not allowed; use DELETE").into())
        }
        _ => {
            return Err(
                RestError::new(403, "This is an eventing channel; it takes no webhooks").into(),
            )
        }
    };
    Ok(answer)
}
