//! Signed ids: `request_id::verify` (and `owned_by`), and
//! `websocket::connection_id_ok`. A mutated id is never accepted.

use crate::gen::text;
use crate::{check, fuzz};
use proptest::prelude::*;
use syncbridge_core::request_id::{self, REQUEST_ID_LEN};
use syncbridge_core::websocket;

const KEY: &[u8] = b"fuzz-callback-secret-0123456789";
const NOW: u64 = 1_800_000_000;

fn hexish() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[0-9a-fA-F]{88}",
        "[0-9a-fA-F]{86,90}",
        "[0-9a-f]{87}[g-zG-Z]",
    ]
}

#[test]
fn verify_takes_any_text() {
    fuzz(
        "request_id::verify/any",
        (hexish(), any::<u64>(), any::<u64>()),
        |(id, now, grace)| {
            // Without the key, nothing verifies.
            check!(
                request_id::verify(KEY, &id, now, grace).is_err(),
                "an id not issued here was accepted: {id}"
            );
            check!(
                !websocket::connection_id_ok(KEY, "ch", &id, now),
                "connection id {id}"
            );
            Ok(())
        },
    );
}

#[test]
fn issued_ids_verify_and_mutated_ones_never_do() {
    fuzz(
        "request_id::verify/mutated",
        (
            any::<[u8; 16]>(),
            0u64..u64::from(u32::MAX),
            "[a-z]{1,8}",
            any::<usize>(),
            0u8..8,
            any::<bool>(),
        ),
        |(random, ttl, login, at, bit, upper)| {
            let expires = NOW.saturating_add(ttl).min(u64::from(u32::MAX));
            let id = request_id::issue(KEY, random, expires, &login);
            check!(id.len() == REQUEST_ID_LEN, "length {}", id.len());
            let shown = if upper { id.to_uppercase() } else { id.clone() };
            let v = request_id::verify(KEY, &shown, NOW.min(expires), 0)
                .map_err(|e| TestCaseError::fail(format!("issued id refused: {e:?}")))?;
            check!(
                v.canonical == id && v.expires_at == expires,
                "canonical form changed"
            );
            check!(v.owned_by(KEY, &login), "owner lost");
            check!(
                !v.owned_by(KEY, &format!("{login}x")),
                "another login owns it"
            );
            check!(
                request_id::verify(b"another-key", &id, NOW.min(expires), 0).is_err(),
                "other key"
            );
            // Flip one bit of the raw id: never accepted, at any time.
            let mut raw = hex::decode(&id).unwrap();
            let i = at % raw.len();
            raw[i] ^= 1 << bit;
            let mutated = hex::encode(&raw);
            for now in [0, NOW, u64::MAX] {
                check!(
                    request_id::verify(KEY, &mutated, now, u64::MAX).is_err(),
                    "bit {bit} of byte {i} flipped, accepted"
                );
            }
            // Cut or lengthened: refused.
            check!(
                request_id::verify(KEY, &id[..id.len() - 2], NOW, 0).is_err(),
                "cut id"
            );
            check!(
                request_id::verify(KEY, &format!("{id}00"), NOW, 0).is_err(),
                "long id"
            );
            Ok(())
        },
    );
}

#[test]
fn connection_ids_belong_to_their_channel() {
    fuzz(
        "websocket::connection_id_ok",
        (
            any::<[u8; 16]>(),
            "[a-z0-9-]{1,36}",
            "[a-z0-9-]{1,36}",
            any::<usize>(),
            0u8..8,
        ),
        |(random, channel, other, at, bit)| {
            let id = websocket::connection_id(KEY, random, NOW, &channel);
            check!(
                websocket::connection_id_ok(KEY, &channel, &id, NOW),
                "own id refused"
            );
            check!(
                !websocket::connection_id_ok(
                    KEY,
                    &channel,
                    &id,
                    NOW + websocket::REPLY_URL_TTL_S + 1
                ),
                "expired id accepted"
            );
            if other != channel {
                check!(
                    !websocket::connection_id_ok(KEY, &other, &id, NOW),
                    "id of {channel} works for {other}"
                );
            }
            let mut raw = hex::decode(&id).unwrap();
            let i = at % raw.len();
            raw[i] ^= 1 << bit;
            check!(
                !websocket::connection_id_ok(KEY, &channel, &hex::encode(&raw), NOW),
                "mutated id accepted"
            );
            Ok(())
        },
    );
}
