//! The isolate's channel cache: served within its bound, never past it,
//! forgotten on change, bounded in size.

use serde_json::json;
use syncbridge_core::channel::cache::{CacheKey, ChannelCache, MAX_CACHED_CHANNELS};
use syncbridge_core::channel::{create, Channel};

fn channel(id: &str, code: &str) -> Channel {
    create(
        &json!({"code": code}),
        id.to_owned(),
        format!("{:0>32}", id.len()),
        "2026-01-01T00:00:00.000Z",
    )
    .unwrap()
}

fn token(t: &str) -> CacheKey {
    CacheKey::Token(t.to_owned())
}

#[test]
fn an_entry_is_served_until_its_bound_and_not_after() {
    let mut c = ChannelCache::default();
    let ch = channel("a", "code-a");
    c.put(token("t"), ch.clone(), 10_000, 1000);
    assert_eq!(c.get(&token("t"), 10_000, 1000), Some(&ch));
    assert_eq!(c.get(&token("t"), 10_999, 1000), Some(&ch));
    assert_eq!(c.get(&token("t"), 11_000, 1000), None, "stale at the bound");
    assert_eq!(c.get(&token("other"), 10_000, 1000), None);
    assert_eq!(
        c.get(&CacheKey::Code("t".into()), 10_000, 1000),
        None,
        "a code is not a token"
    );
    // A clock that went back does not make an entry live longer.
    assert_eq!(c.get(&token("t"), 9_000, 1000), None);
    // A later read replaces it and restarts its bound.
    c.put(token("t"), ch.clone(), 11_500, 1000);
    assert_eq!(c.get(&token("t"), 12_000, 1000), Some(&ch));
}

#[test]
fn a_bound_of_zero_keeps_nothing() {
    let mut c = ChannelCache::default();
    c.put(token("t"), channel("a", "code-a"), 5, 0);
    assert!(c.is_empty());
    assert_eq!(c.get(&token("t"), 5, 0), None);
}

#[test]
fn forget_drops_every_key_of_that_channel_only() {
    let mut c = ChannelCache::default();
    c.put(token("ta"), channel("a", "code-a"), 0, 1000);
    c.put(
        CacheKey::Code("code-a".into()),
        channel("a", "code-a"),
        0,
        1000,
    );
    c.put(CacheKey::Id("a".into()), channel("a", "code-a"), 0, 1000);
    c.put(token("tb"), channel("b", "code-b"), 0, 1000);
    assert_eq!(
        c.get(&CacheKey::Id("a".into()), 1, 1000)
            .map(|c| c.code.as_str()),
        Some("code-a"),
        "a send's id is a key of its own"
    );
    assert_eq!(
        c.get(&CacheKey::Id("ta".into()), 1, 1000),
        None,
        "an id is not a token"
    );
    c.forget("a");
    assert_eq!(c.len(), 1);
    assert_eq!(c.get(&CacheKey::Id("a".into()), 1, 1000), None);
    assert_eq!(c.get(&token("ta"), 1, 1000), None);
    assert_eq!(c.get(&CacheKey::Id("a".into()), 1, 1000), None);
    assert_eq!(
        c.get(&token("tb"), 1, 1000).map(|c| c.id.as_str()),
        Some("b")
    );
}

#[test]
fn the_cache_is_bounded() {
    let mut c = ChannelCache::default();
    for i in 0..MAX_CACHED_CHANNELS {
        c.put(token(&i.to_string()), channel(&i.to_string(), "x"), 0, 1000);
    }
    assert_eq!(c.len(), MAX_CACHED_CHANNELS);
    // Full of live entries: a new one starts the cache afresh.
    c.put(token("new"), channel("new", "x"), 10, 1000);
    assert_eq!(c.len(), 1);
    assert!(c.get(&token("new"), 10, 1000).is_some());
    // Full with some stale: only the stale ones go.
    let mut c = ChannelCache::default();
    for i in 0..MAX_CACHED_CHANNELS {
        let at = if i % 2 == 0 { 0 } else { 5_000 };
        c.put(
            token(&i.to_string()),
            channel(&i.to_string(), "x"),
            at,
            1000,
        );
    }
    c.put(token("new"), channel("new", "x"), 5_500, 1000);
    assert_eq!(c.len(), MAX_CACHED_CHANNELS / 2 + 1);
}

#[test]
fn a_read_that_began_before_a_change_here_is_not_kept() {
    let mut c = ChannelCache::default();
    let ch = channel("a", "code-a");
    let before = c.generation();
    c.forget("someone-else");
    c.put_if_current(before, token("t"), ch.clone(), 10_000, 1000);
    assert_eq!(c.get(&token("t"), 10_000, 1000), None);
    c.put_if_current(c.generation(), token("t"), ch.clone(), 10_000, 1000);
    assert_eq!(c.get(&token("t"), 10_000, 1000), Some(&ch));
}
