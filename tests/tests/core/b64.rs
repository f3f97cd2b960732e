//! `b64`: the same answers as the `base64` crate's standard engines (padded
//! encoding; decoding with padding optional), on edge cases and on every
//! short text over a small alphabet that reaches each rule.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use syncbridge_core::b64::{decode_lenient, encode};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[test]
fn encoding_is_standard_and_padded() {
    assert_eq!(encode(b""), "");
    assert_eq!(encode(b"A"), "QQ==");
    assert_eq!(encode(b"AB"), "QUI=");
    assert_eq!(encode(b"ABC"), "QUJD");
    assert_eq!(encode(&[0xfb, 0xff, 0xfe]), "+//+");
    for len in 0..70 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert_eq!(encode(&bytes), STANDARD.encode(&bytes), "{len} bytes");
    }
}

#[test]
fn lenient_decoding_takes_padding_or_none() {
    for text in ["QQ", "QQ=", "QQ=="] {
        assert_eq!(decode_lenient(text).as_deref(), Some(&b"A"[..]), "{text}");
    }
    assert_eq!(decode_lenient("").as_deref(), Some(&b""[..]));
    assert_eq!(decode_lenient("QUJD").as_deref(), Some(&b"ABC"[..]));
    for bad in [
        "Q",
        "Q=",
        "Q==",
        "=",
        "==",
        "QQ===",
        "QUJD=",
        "QUJD====",
        "QQ=Q",
        "Q=Q=",
        "QR",
        "QR==",
        "QUJ",
        "QU J",
        " QUJD",
        "QUJD\n",
        "QUJD-_",
        "QU\u{e9}D",
    ] {
        assert_eq!(decode_lenient(bad), None, "{bad:?}");
        assert!(LENIENT.decode(bad).is_err(), "{bad:?}");
    }
}

/// Every text of up to 6 characters over `A Q R g / + = -` (valid symbols
/// with zero and non-zero low bits, padding, an invalid character).
#[test]
fn lenient_decoding_agrees_with_the_base64_crate() {
    let chars = ['A', 'Q', 'R', 'g', '/', '+', '=', '-'];
    let mut texts = vec![String::new()];
    let mut checked = 0;
    for _ in 0..6 {
        let mut next = Vec::new();
        for t in &texts {
            for c in chars {
                let s = format!("{t}{c}");
                assert_eq!(decode_lenient(&s), LENIENT.decode(&s).ok(), "{s:?}");
                checked += 1;
                next.push(s);
            }
        }
        texts = next;
    }
    assert!(checked > 290_000);
}
