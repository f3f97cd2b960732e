//! Signature checking against raw SHA-1 over the same bytes (phase 5),
//! native: no worker.

use crate::args::Args;
use crate::report::Report;
use crate::SECRET;
use sha1::{Digest, Sha1};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};
use syncbridge_core::signature;

pub(crate) struct SigBench {
    pub(crate) body_len: usize,
    pub(crate) iters: u64,
    pub(crate) rounds: usize,
    pub(crate) verify_per_s: f64,
    pub(crate) sha1_per_s: f64,
    pub(crate) naive_per_s: f64,
    pub(crate) streamed_per_s: f64,
    /// Median over rounds of verify / raw sha1 throughput.
    pub(crate) median_ratio: f64,
}

/// Times `signature::verify` against SHA-1 of the same bytes. The rounds
/// rotate which side goes first, so drift (clock boost, caches) is shared.
pub(crate) fn sig_bench(iters: u64, rounds: usize) -> SigBench {
    let t = "1767225600";
    let secret = SECRET;
    // A ~1 KB Sync API body: a create op with some data.
    let mut body =
        String::from(r#"{"timeout":30,"ops":[{"type":"create","obj":"task","conv_id":1,"data":{"#);
    let mut i = 0;
    while body.len() < 1000 {
        write!(
            body,
            r#""field_{i}":"value number {i} of the benchmark body","#
        )
        .unwrap();
        i += 1;
    }
    body.push_str(r#""n":1}}]}"#);
    let body = body.into_bytes();
    let sig = signature::sign(t, secret, &body);
    assert!(
        signature::verify(&sig, t, secret, &body),
        "verify must accept its own signature"
    );
    // The baseline hashes one contiguous, prebuilt buffer: the least work
    // any implementation of the formula can do.
    let concat: Vec<u8> = [t.as_bytes(), secret.as_bytes(), &body, secret.as_bytes()].concat();
    assert_eq!(hex::encode(Sha1::digest(&concat)), sig);

    let timed = |f: &dyn Fn()| {
        let t0 = Instant::now();
        for _ in 0..iters {
            f();
        }
        t0.elapsed()
    };
    let verify = || {
        black_box(signature::verify(
            black_box(&sig),
            black_box(t),
            black_box(secret),
            black_box(&body),
        ));
    };
    let raw = || {
        black_box(Sha1::digest(black_box(&concat)));
    };
    // What a straightforward check does: build the string, hash, compare hex.
    let naive = || {
        let mut buf = Vec::with_capacity(concat.len());
        buf.extend_from_slice(t.as_bytes());
        buf.extend_from_slice(secret.as_bytes());
        buf.extend_from_slice(black_box(&body));
        buf.extend_from_slice(secret.as_bytes());
        black_box(hex::encode(Sha1::digest(&buf)) == black_box(&sig).to_lowercase());
    };
    // verify's hashing alone: the four pieces fed in turn, no hex, no compare.
    let streamed = || {
        let mut h = Sha1::new();
        h.update(black_box(t).as_bytes());
        h.update(black_box(secret).as_bytes());
        h.update(black_box(&body));
        h.update(black_box(secret).as_bytes());
        black_box(h.finalize());
    };
    let sides: [&dyn Fn(); 4] = [&verify, &raw, &naive, &streamed];
    // One unmeasured pass to warm caches and clocks.
    sides.iter().for_each(|f| {
        timed(*f);
    });
    let n = sides.len();
    let mut totals = vec![Duration::ZERO; n];
    let mut ratios = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let mut round = vec![Duration::ZERO; n];
        for k in 0..n {
            let side = (r + k) % n;
            round[side] = timed(sides[side]);
        }
        for (total, d) in totals.iter_mut().zip(&round) {
            *total += *d;
        }
        // Throughput ratio is the time ratio inverted.
        ratios.push(round[1].as_secs_f64() / round[0].as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per_s = |d: Duration| (iters as f64 * rounds as f64) / d.as_secs_f64();
    SigBench {
        body_len: body.len(),
        iters,
        rounds,
        verify_per_s: per_s(totals[0]),
        sha1_per_s: per_s(totals[1]),
        naive_per_s: per_s(totals[2]),
        streamed_per_s: per_s(totals[3]),
        median_ratio: ratios[ratios.len() / 2],
    }
}

/// Phase 5: signature checking vs raw SHA-1, native.
pub(crate) fn signature_phase(args: &Args, rep: &mut Report) {
    eprintln!(
        "loadgen: signature bench ({} iterations x {} rounds)",
        args.sig_iters, args.sig_rounds
    );
    let b = sig_bench(args.sig_iters, args.sig_rounds);
    let ratio = b.verify_per_s / b.sha1_per_s;
    let d = &mut rep.details;
    writeln!(d, "### Signature checking, native (no worker)\n").unwrap();
    writeln!(d, "| measure | value |\n| --- | --- |").unwrap();
    writeln!(
        d,
        "| body | {} bytes (plus a 10-byte time and a 34-byte secret, twice) |",
        b.body_len
    )
    .unwrap();
    writeln!(
        d,
        "| iterations | {} per side per round, {} rounds, order rotated |",
        b.iters, b.rounds
    )
    .unwrap();
    writeln!(
        d,
        "| `signature::verify` | {:.0} checks/s ({:.0} MB/s of body) |",
        b.verify_per_s,
        b.verify_per_s * b.body_len as f64 / 1e6
    )
    .unwrap();
    writeln!(
        d,
        "| raw `Sha1::digest` of the prebuilt `t+secret+body+secret` | {:.0} hashes/s |",
        b.sha1_per_s
    )
    .unwrap();
    writeln!(
        d,
        "| the same SHA-1 fed in four pieces, as verify does (no hex decode, no compare) | {:.0} hashes/s |",
        b.streamed_per_s
    )
    .unwrap();
    writeln!(
        d,
        "| naive check: concatenate, hash, hex-encode, compare | {:.0} checks/s |",
        b.naive_per_s
    )
    .unwrap();
    writeln!(d, "| **verify / raw sha1** (totals) | **{ratio:.3}** |").unwrap();
    writeln!(
        d,
        "| verify / raw sha1 (median round) | {:.3} |",
        b.median_ratio
    )
    .unwrap();
    writeln!(
        d,
        "| verify / naive check | {:.3} |\n",
        b.verify_per_s / b.naive_per_s
    )
    .unwrap();
    let label = args
        .label
        .as_deref()
        .map_or(String::new(), |l| format!(", {l}"));
    rep.figure(
        format!("signature verify / raw sha1 (native, ~1 KB body{label})"),
        format!("{ratio:.3}"),
        "≥ 0.9",
    );
}
