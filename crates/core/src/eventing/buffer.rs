//! A channel's replay buffer: its bounds, each event's stored size, what a
//! trim drops, the in-memory index the hub keeps beside its rows, and what a
//! subscriber reconnecting with `last_event_id` is replayed (with `$gap`).

use super::{bad, parse_id, Event};
use crate::error::RestError;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The bounds of a channel's replay buffer: `EVENT_BUFFER` events and
/// `EVENT_BUFFER_BYTES` bytes (each event counted as its JSON, see
/// [`stored_size`]). Beyond either, the oldest events are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// Most events kept.
    pub max_events: usize,
    /// Most bytes kept.
    pub max_bytes: usize,
}

impl BufferLimits {
    /// The limits of `settings` (`EVENT_BUFFER`, `EVENT_BUFFER_BYTES`).
    pub fn of(settings: &crate::Settings) -> BufferLimits {
        BufferLimits {
            max_events: settings.event_buffer,
            max_bytes: settings.event_buffer_bytes,
        }
    }

    /// True when a buffer of `count` events and `bytes` bytes is within them.
    pub fn holds(&self, count: usize, bytes: usize) -> bool {
        count <= self.max_events && bytes <= self.max_bytes
    }
}

/// The bytes an event takes in the replay buffer: the length of its JSON
/// (as subscribers receive it).
pub fn stored_size(event: &Event) -> usize {
    serde_json::to_string(event).map_or(0, |s| s.len())
}

/// Which of the oldest events a buffer of `count` events and `bytes` bytes
/// drops to come within `limits`: given its events oldest first as
/// `(key, size)`, the key of the newest one to drop (every older one goes
/// too), or None when nothing is dropped.
///
/// Only as many items are read as are dropped, plus none: a store can pass a
/// lazy cursor. Events are dropped oldest first until both the count and
/// the bytes are within the limits, so a buffer whose byte limit is below
/// its newest event's size ends up empty. Items past the end (a `count`
/// larger than the items given) stop the dropping.
pub fn drop_through<K>(
    count: usize,
    bytes: usize,
    limits: &BufferLimits,
    oldest_first: impl IntoIterator<Item = (K, usize)>,
) -> Option<K> {
    let (mut count, mut bytes) = (count, bytes);
    let mut last = None;
    let mut items = oldest_first.into_iter();
    while !limits.holds(count, bytes) {
        let Some((key, size)) = items.next() else {
            break;
        };
        count = count.saturating_sub(1);
        bytes = bytes.saturating_sub(size);
        last = Some(key);
    }
    last
}

/// The replay buffer as the channel hub keeps it in memory beside its
/// rows: each buffered event's id and size (its JSON's length), oldest
/// first, their totals, and the newest id ever given (the sequence), so
/// that a publish reads no row to number, count or trim.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BufferIndex {
    items: VecDeque<(u64, usize)>,
    bytes: usize,
    top: u64,
}

impl BufferIndex {
    /// The index of a stored buffer: its rows `(id, size)` in any order and
    /// the stored sequence `seq` (the newest id given, which may be above
    /// every row's when the newest events were dropped). The sequence is
    /// the larger of the two.
    pub fn new(seq: u64, rows: impl IntoIterator<Item = (u64, usize)>) -> BufferIndex {
        let mut items: Vec<(u64, usize)> = rows.into_iter().collect();
        items.sort_unstable_by_key(|&(id, _)| id);
        items.dedup_by_key(|&mut (id, _)| id);
        let top = items.last().map_or(seq, |&(id, _)| id.max(seq));
        let bytes = items.iter().map(|&(_, size)| size).sum();
        BufferIndex {
            items: items.into(),
            bytes,
            top,
        }
    }

    /// The id the next event gets.
    pub fn next_id(&self) -> u64 {
        self.top.saturating_add(1)
    }

    /// The newest id given so far (0 before the first event).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Buffered events.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes buffered.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds the event numbered [`next_id`](Self::next_id), of `size` bytes,
    /// then drops the oldest beyond `limits` ([`Self::trim`]): the id of
    /// the newest one dropped (every older one goes too), if any.
    pub fn push(&mut self, size: usize, limits: &BufferLimits) -> Option<u64> {
        let id = self.next_id();
        self.items.push_back((id, size));
        self.bytes += size;
        self.top = id;
        self.trim(limits)
    }

    /// Drops the oldest events while over `limits` ([`drop_through`]): the
    /// id of the newest one dropped, if any. When it is [`top`](Self::top)
    /// the buffer is empty, and the sequence must be kept elsewhere.
    pub fn trim(&mut self, limits: &BufferLimits) -> Option<u64> {
        let last = drop_through(
            self.items.len(),
            self.bytes,
            limits,
            self.items.iter().copied(),
        )?;
        while let Some(&(id, size)) = self.items.front() {
            if id > last {
                break;
            }
            self.items.pop_front();
            self.bytes -= size;
        }
        Some(last)
    }
}

/// Whether a subscriber that last saw `last` misses events it cannot be
/// given: it is being replayed something (`replaying`) and the oldest
/// buffered event (`oldest`) comes after `last + 1`. The replay buffer and
/// the channel hub's storage both decide with this.
pub fn replay_gap(last: u64, oldest: Option<u64>, replaying: bool) -> bool {
    replaying && oldest.is_some_and(|id| id > last.saturating_add(1))
}

/// Reads the `last_event_id` query parameter of a WebSocket subscription:
/// absent or empty means no replay (None); otherwise it must be an event id,
/// a whole number in ASCII digits (leading zeros are fine) within `u64`.
/// Anything else (`abc`, `-1`, `1.5`, ` 1`) is a 400 that names it.
pub fn parse_last_event_id(value: Option<&str>) -> Result<Option<u64>, RestError> {
    match value {
        None | Some("") => Ok(None),
        Some(v) => parse_id(v).map(Some).ok_or_else(|| {
            bad(
                "`last_event_id` must be the id of an event: a whole number, in digits only \
                 (leave it out to get no replay)",
            )
        }),
    }
}

/// The bounded replay buffer of a channel's last events, oldest first: the
/// model of the channel hub's storage (which keeps one row per event and
/// decides with the same rules, [`drop_through`] and [`replay_gap`]), and
/// the shape its older versions stored, read once to move it into rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Buffer {
    /// The events, oldest first.
    pub events: VecDeque<Event>,
}

/// What a reconnecting subscriber missed.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Events after `last_event_id`, oldest first.
    pub events: Vec<Event>,
    /// True when some were already dropped from the buffer: the subscriber
    /// missed more than it can be given.
    pub gap: bool,
}

impl Buffer {
    /// Appends, dropping the oldest beyond `cap` events.
    /// A `cap` of 0 keeps nothing.
    pub fn push(&mut self, event: Event, cap: usize) {
        let limits = BufferLimits {
            max_events: cap,
            max_bytes: usize::MAX,
        };
        self.push_within(event, &limits);
    }

    /// Appends, dropping the oldest events (see [`drop_through`]) until the
    /// buffer is within `limits`.
    pub fn push_within(&mut self, event: Event, limits: &BufferLimits) {
        self.events.push_back(event);
        let bytes = self.bytes();
        let sizes = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (i, stored_size(e)));
        if let Some(last) = drop_through(self.events.len(), bytes, limits, sizes) {
            self.events.drain(..=last);
        }
    }

    /// The bytes its events take (see [`stored_size`]).
    pub fn bytes(&self) -> usize {
        self.events.iter().map(stored_size).sum()
    }

    /// The events after `last_event_id` (a decimal id). An id that is not a
    /// number replays nothing and reports a gap (the WebSocket route refuses
    /// such an id first, see [`parse_last_event_id`]).
    ///
    /// Ids are compared as numbers (`"9"` < `"10"`); only ASCII digits are
    /// a number (no sign, no spaces; leading zeros are fine). A gap is
    /// reported when the oldest buffered event comes after
    /// `last_event_id + 1` ([`replay_gap`]); an empty buffer, or a
    /// `last_event_id` at or past the newest event, reports none. Buffered
    /// events whose id is not a number are never replayed.
    pub fn since(&self, last_event_id: &str) -> Replay {
        let Some(last) = parse_id(last_event_id) else {
            return Replay {
                events: Vec::new(),
                gap: true,
            };
        };
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| parse_id(&e.id).is_some_and(|id| id > last))
            .cloned()
            .collect();
        let oldest = self.events.iter().find_map(|e| parse_id(&e.id));
        let gap = replay_gap(last, oldest, !events.is_empty());
        Replay { events, gap }
    }
}
