//! A channel's overview (`GET …/{id}/stats`): its requests over the last
//! hour by outcome and per minute, and its deliveries by state. The store
//! counts rows grouped by minute and outcome (and by state); this module
//! lays the counts out over the window.
//!
//! The window is the [`MINUTES`] whole minutes (UTC) ending with the current
//! one: it starts at [`window_start_ms`], up to 59 minutes and 59.999 seconds
//! before now, so the per-minute counts and the totals cover the same
//! requests.

use serde::{Serialize, Serializer};

/// Minutes in the window.
pub const MINUTES: u64 = 60;
/// Milliseconds in a minute.
const MINUTE_MS: u64 = 60_000;

/// The store's count of a channel's request records (`?1`) received since
/// `?2` and kept until at least `?3` (Unix ms), by minute and outcome: the
/// rows [`RequestCount`] reads. Counted from the index
/// `inbound_requests_by_channel_outcome` alone (migration 0006); records
/// without the `outcome` column (kept from before that migration, which
/// does not rewrite them, or written by an older worker) are counted from
/// their summaries, through an index of their own, so a minute and outcome
/// may come twice: [`overview`] adds them up.
/// Grouped by position: `outcome` would name the column, not the expression.
pub const REQUEST_COUNTS: &str =
    "SELECT CAST(received_at_ms / 60000 AS INTEGER) AS minute, outcome, COUNT(*) AS n \
     FROM inbound_requests WHERE channel_id = ?1 AND received_at_ms >= ?2 AND expires_at_ms >= ?3 \
     AND outcome IS NOT NULL GROUP BY 1, 2 \
     UNION ALL \
     SELECT CAST(received_at_ms / 60000 AS INTEGER), json_extract(doc, '$.outcome'), COUNT(*) \
     FROM inbound_requests WHERE channel_id = ?1 AND received_at_ms >= ?2 AND expires_at_ms >= ?3 \
     AND outcome IS NULL GROUP BY 1, 2";

/// Every outcome a request record may have, in the order they are shown.
pub const OUTCOMES: [&str; 5] = ["answered", "accepted", "timed_out", "failed", "no_process"];
/// Every state a delivery may be in, in the order they are shown.
pub const STATES: [&str; 4] = ["pending", "delivered", "failed", "dead"];

/// The first millisecond of the window that ends with the minute of `now_ms`.
pub fn window_start_ms(now_ms: u64) -> u64 {
    (now_ms / MINUTE_MS).saturating_sub(MINUTES - 1) * MINUTE_MS
}

/// Requests counted in one minute with one outcome, as the store groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// The minute: unix milliseconds / 60000.
    pub minute: u64,
    /// The record's outcome (`answered`, …).
    pub outcome: String,
    /// How many.
    pub count: u64,
}

/// Deliveries counted in one state, as the store groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    /// The delivery state (`pending`, …).
    pub state: String,
    /// Every delivery of the channel in that state.
    pub total: u64,
    /// Those of them created within the window.
    pub last_hour: u64,
}

/// The overview, as the route answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// The channel.
    pub channel_id: String,
    /// The window's first minute, ISO-8601 UTC (given by the caller of [`overview`]).
    pub since: String,
    /// Requests in the window.
    pub requests: Requests,
    /// Deliveries of the channel.
    pub deliveries: Deliveries,
}

/// Requests in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requests {
    /// All of them.
    pub total: u64,
    /// By outcome: every one of [`OUTCOMES`], zero included.
    pub by_outcome: Counts,
    /// Per minute, oldest first: [`MINUTES`] counts, the first at `since`.
    pub per_minute: Vec<u64>,
}

/// Deliveries by state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deliveries {
    /// Every delivery the channel has.
    pub total: u64,
    /// By state: every one of [`STATES`], zero included.
    pub by_state: Counts,
    /// Those created within the window, by state.
    pub last_hour_by_state: Counts,
}

/// Counts by name, kept in name order (byte order, as a `BTreeMap` keeps
/// them); a JSON object in that order. (A sorted list: the wasm then carries
/// no B-tree and no sort for these three small maps.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts(Vec<(String, u64)>);

impl Counts {
    fn zeros(names: &[&str]) -> Counts {
        let mut c = Counts::default();
        for n in names {
            c.add(n, 0);
        }
        c
    }

    /// Adds `n` to `name`'s count (a name not there yet starts at zero).
    fn add(&mut self, name: &str, n: u64) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (name.to_owned(), n)),
        }
    }

    /// The count of `name`, if it is there.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, n)| *n)
    }

    /// Whether `name` is counted (zero included).
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names and counts, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, n)| (k.as_str(), *n))
    }
}

impl std::ops::Index<&str> for Counts {
    type Output = u64;

    /// The count of `name`; panics when it is not there (as a map's index does).
    fn index(&self, name: &str) -> &u64 {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, n)| n)
            .expect("no count of that name")
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, n)| (k, n)))
    }
}

/// Lays the store's counts out over the window of `now_ms` (`since` is
/// [`window_start_ms`] as text). Counts outside the window are left out; an
/// outcome or state not in the lists is counted under its own name.
pub fn overview(
    channel_id: &str,
    now_ms: u64,
    since: &str,
    requests: &[RequestCount],
    deliveries: &[StateCount],
) -> Overview {
    let first = window_start_ms(now_ms) / MINUTE_MS;
    let mut per_minute = vec![0u64; MINUTES as usize];
    let mut by_outcome = Counts::zeros(&OUTCOMES);
    let mut total = 0u64;
    for r in requests {
        let Some(slot) = r
            .minute
            .checked_sub(first)
            .filter(|i| *i < MINUTES)
            .map(|i| i as usize)
        else {
            continue;
        };
        per_minute[slot] += r.count;
        by_outcome.add(&r.outcome, r.count);
        total += r.count;
    }
    let mut by_state = Counts::zeros(&STATES);
    let mut last_hour_by_state = Counts::zeros(&STATES);
    let mut deliveries_total = 0u64;
    for d in deliveries {
        by_state.add(&d.state, d.total);
        last_hour_by_state.add(&d.state, d.last_hour);
        deliveries_total += d.total;
    }
    Overview {
        channel_id: channel_id.to_string(),
        since: since.to_string(),
        requests: Requests {
            total,
            by_outcome,
            per_minute,
        },
        deliveries: Deliveries {
            total: deliveries_total,
            by_state,
            last_hour_by_state,
        },
    }
}
