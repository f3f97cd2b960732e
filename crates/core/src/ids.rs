//! Identifiers made from random bytes the caller draws from a CSPRNG.

/// A version 4 UUID (`b4680fbe-016c-4d6f-9d6b-50e54938780c`).
pub fn uuid_v4(random: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A channel's `token_local`: 32 lowercase hex characters.
pub fn token_hex(random: [u8; 16]) -> String {
    hex::encode(random)
}
