//! An isolate's cache of channels read by the key a hot route names them
//! with (a webhook's `token_local` or `code`, a send's or a publish's
//! channel id), so that these routes do not wait for D1 on every call.
//! Pure: the time comes in as an argument.
//!
//! The rule: an entry is served for at most `ttl_ms` after it was read from
//! D1 (`CHANNEL_CACHE_MS`), so a change made through another isolate shows
//! within that bound; a change made through this isolate (PATCH, DELETE)
//! drops the channel's entries at once ([`ChannelCache::forget`]). Only
//! channels found are kept (an unknown key is asked of D1 every time, so a
//! channel created anywhere answers at once). At most
//! [`MAX_CACHED_CHANNELS`] entries are held.
//!
//! A read that began before a change made through this isolate is not
//! kept ([`ChannelCache::generation`]): it may hold the channel as it was.

use super::Channel;
use std::collections::HashMap;

/// The most entries one isolate keeps; past it, stale entries are dropped,
/// and if none is stale, all of them.
pub const MAX_CACHED_CHANNELS: usize = 1024;

/// How a hot route names its channel, as a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// `/api/token/v1/{token_local}…`
    Token(String),
    /// `/api/webrequest/{code}…` (decoded)
    Code(String),
    /// `…/integration_points/{id}/send`, `…/send/test` and `…/events`
    Id(String),
}

/// Channels by URL key, each with the time it was read.
#[derive(Debug, Default)]
pub struct ChannelCache {
    entries: HashMap<CacheKey, (Channel, u64)>,
    /// How many changes made here it has seen ([`ChannelCache::forget`]).
    generation: u64,
}

impl ChannelCache {
    /// The channel under `key` if it was read less than `ttl_ms` before
    /// `now_ms` (never with `ttl_ms` 0).
    pub fn get(&self, key: &CacheKey, now_ms: u64, ttl_ms: u64) -> Option<&Channel> {
        let (ch, at) = self.entries.get(key)?;
        (now_ms.saturating_sub(*at) < ttl_ms && now_ms >= *at).then_some(ch)
    }

    /// Keeps `channel`, read from D1 at `now_ms`, under `key` (nothing with
    /// `ttl_ms` 0).
    pub fn put(&mut self, key: CacheKey, channel: Channel, now_ms: u64, ttl_ms: u64) {
        if ttl_ms == 0 {
            return;
        }
        if self.entries.len() >= MAX_CACHED_CHANNELS && !self.entries.contains_key(&key) {
            self.entries
                .retain(|_, (_, at)| now_ms.saturating_sub(*at) < ttl_ms);
            if self.entries.len() >= MAX_CACHED_CHANNELS {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (channel, now_ms));
    }

    /// [`ChannelCache::put`], unless a change was made here since the read
    /// began (at `generation`): what it read may be from before the change.
    pub fn put_if_current(
        &mut self,
        generation: u64,
        key: CacheKey,
        channel: Channel,
        now_ms: u64,
        ttl_ms: u64,
    ) {
        if generation == self.generation {
            self.put(key, channel, now_ms, ttl_ms);
        }
    }

    /// Drops every entry of the channel `channel_id` (it was changed or
    /// deleted in this isolate), and counts the change.
    pub fn forget(&mut self, channel_id: &str) {
        self.entries.retain(|_, (ch, _)| ch.id != channel_id);
        self.generation += 1;
    }

    /// How many changes made here it has seen: taken when a read begins,
    /// given back to [`ChannelCache::put_if_current`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
