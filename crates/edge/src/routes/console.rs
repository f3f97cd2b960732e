//! The operator console: `GET /console/…`, static files fetched from the
//! `ASSETS` binding (build/public/console, made by scripts/build.sh). The
//! core decides which file a path names, its content type and the security
//! headers; this file fetches it and answers. An unknown file is the same
//! JSON 404 as any unknown route; every answer carries the console's
//! security headers. Also `GET /rest/v1/service/info`, what the console
//! shows of the gateway.

use crate::ctx::Ctx;
use crate::env;
use crate::http::{self, Handled};
use syncbridge_core::admin::Policy;
use syncbridge_core::console::{self, Asset};
use syncbridge_core::error::{ApiError, RestError, Surface};
use worker::{Env, Headers, Request, Response};

/// `GET /rest/v1/service/info` (admin): the public origin, the Sync API's
/// logins and the settings the console shows. Takes no query parameters.
pub fn info(ctx: &Ctx, req: &Request) -> Handled {
    let settings = &ctx.settings;
    ctx.authorize(req, None, Policy::AdminOnly)?;
    let url = req.inner().url();
    if let Some((k, _)) = syncbridge_core::route::query_pairs(&url).into_iter().next() {
        return Err(RestError::bad_request(format!(
            "unknown parameter {k}; this route takes none"
        ))
        .into());
    }
    let origin = syncbridge_core::route::origin_of(&url);
    Ok(http::json(200, &console::info(settings, origin))?)
}

/// `GET /console`: to `/console/`, so that the page's relative URLs resolve.
pub fn home() -> Handled {
    let mut resp = http::empty(308)?;
    resp.headers_mut().set("location", console::HOME)?;
    secure(resp.headers_mut())?;
    Ok(resp)
}

/// `GET /console/{path}`: the file, or a JSON 404.
pub async fn serve(env: &Env, req: &Request, path: &str) -> Handled {
    let Some(asset) = console::asset(path) else {
        return not_found();
    };
    let fetched = fetch(env, req, &asset).await?;
    let status = fetched.status_code();
    if status != 200 && status != 304 {
        return not_found();
    }
    let etag = fetched.headers().get("etag")?;
    let (_, body) = fetched.into_parts();
    let headers = Headers::new();
    headers.set("content-type", asset.content_type)?;
    headers.set("cache-control", console::CACHE_CONTROL)?;
    if let Some(etag) = etag {
        headers.set("etag", &etag)?;
    }
    secure(&headers)?;
    let builder = Response::builder()
        .with_status(status)
        .with_headers(headers);
    Ok(if status == 304 || req.method() == worker::Method::Head {
        builder.empty()
    } else {
        builder.body(body)
    })
}

/// The file from the static assets, revalidated with the caller's
/// `If-None-Match` (a 304 when unchanged, where the platform supports it).
async fn fetch(env: &Env, req: &Request, asset: &Asset) -> worker::Result<Response> {
    let headers = Headers::new();
    if let Some(tag) = http::header(req, "if-none-match") {
        headers.set("if-none-match", &tag)?;
    }
    // The host means nothing to the binding: only the path names the file.
    let url = format!("https://assets.invalid{}", asset.path);
    let req = http::new_request(&url, "GET", &headers, None, false)?;
    env::assets(env)?.fetch_request(req).await
}

fn not_found() -> Handled {
    let e = ApiError::not_found("No such file in the console");
    let mut resp = http::error(&e, Surface::Plugin)?;
    secure(resp.headers_mut())?;
    Ok(resp)
}

fn secure(headers: &Headers) -> worker::Result<()> {
    for (k, v) in console::SECURITY_HEADERS {
        headers.set(k, v)?;
    }
    Ok(())
}
