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
    pub(crate) check_per_s: f64,
    pub(crate) sha1_per_s: f64,
    pub(crate) naive_per_s: f64,
    pub(crate) streamed_per_s: f64,
    /// `signature::verify` over a body already read: four pieces hashed.
    pub(crate) pieces_per_s: f64,
    /// The worker's check with its buffer built each time (body copied).
    pub(crate) built_per_s: f64,
    /// Median over rounds of check / raw sha1 throughput.
    pub(crate) median_ratio: f64,
}

/// Times the Sync API's check as the worker makes it against SHA-1 of the
/// same bytes: the body copied into the `Covered` buffer (the worker copies
/// it out of the runtime there, in place of a copy into a plain `Vec`),
/// sealed, hashed in one piece, compared. The rounds
/// rotate which side goes first, so drift (clock boost, caches) is shared.
pub(crate) fn sig_bench(iters: u64, rounds: usize) -> SigBench {
    let unixtime = "1767225600";
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
    let sig = signature::sign(unixtime, secret, &body);
    assert!(
        signature::verify(&sig, unixtime, secret, &body),
        "verify must accept its own signature"
    );
    // The baseline hashes one contiguous, prebuilt buffer: the least work
    // any implementation of the formula can do.
    let concat: Vec<u8> = [
        unixtime.as_bytes(),
        secret.as_bytes(),
        &body,
        secret.as_bytes(),
    ]
    .concat();
    assert_eq!(hex::encode(Sha1::digest(&concat)), sig);

    let timed = |f: &dyn Fn()| {
        let t0 = Instant::now();
        for _ in 0..iters {
            f();
        }
        t0.elapsed()
    };
    // The body as the worker holds it once read: in the covered buffer
    // (its copy out of the runtime goes there instead of into a plain Vec).
    let mut read = signature::Covered::new(unixtime, Some(secret), body.len());
    read.extend_body(&body);
    let read = read.seal();
    let check = || {
        black_box(black_box(&read).verify(black_box(&sig)));
    };
    // The same with the buffer built each time (an allocation and a copy of
    // the body that the worker makes anyway, into a plain Vec or here).
    let built = || {
        let mut covered =
            signature::Covered::new(black_box(unixtime), Some(black_box(secret)), body.len());
        covered.extend_body(black_box(&body));
        black_box(covered.seal().verify(black_box(&sig)));
    };
    let pieces = || {
        black_box(signature::verify(
            black_box(&sig),
            black_box(unixtime),
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
        buf.extend_from_slice(unixtime.as_bytes());
        buf.extend_from_slice(secret.as_bytes());
        buf.extend_from_slice(black_box(&body));
        buf.extend_from_slice(secret.as_bytes());
        black_box(hex::encode(Sha1::digest(&buf)) == black_box(&sig).to_lowercase());
    };
    // verify's hashing alone: the four pieces fed in turn, no hex, no compare.
    let streamed = || {
        let mut h = Sha1::new();
        h.update(black_box(unixtime).as_bytes());
        h.update(black_box(secret).as_bytes());
        h.update(black_box(&body));
        h.update(black_box(secret).as_bytes());
        black_box(h.finalize());
    };
    let sides: [&dyn Fn(); 6] = [&check, &raw, &naive, &streamed, &pieces, &built];
    // One unmeasured pass to warm caches and clocks.
    sides.iter().for_each(|f| {
        timed(*f);
    });
    let side_count = sides.len();
    let mut totals = vec![Duration::ZERO; side_count];
    let mut ratios = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let mut round = vec![Duration::ZERO; side_count];
        for turn in 0..side_count {
            let side = (r + turn) % side_count;
            round[side] = timed(sides[side]);
        }
        for (total, elapsed) in totals.iter_mut().zip(&round) {
            *total += *elapsed;
        }
        // Throughput ratio is the time ratio inverted.
        ratios.push(round[1].as_secs_f64() / round[0].as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let per_s = |elapsed: Duration| (iters as f64 * rounds as f64) / elapsed.as_secs_f64();
    SigBench {
        body_len: body.len(),
        iters,
        rounds,
        check_per_s: per_s(totals[0]),
        sha1_per_s: per_s(totals[1]),
        naive_per_s: per_s(totals[2]),
        streamed_per_s: per_s(totals[3]),
        pieces_per_s: per_s(totals[4]),
        built_per_s: per_s(totals[5]),
        median_ratio: ratios[ratios.len() / 2],
    }
}

/// Phase 5: signature checking vs raw SHA-1, native.
pub(crate) fn signature_phase(args: &Args, rep: &mut Report) {
    eprintln!(
        "loadgen: signature bench ({} iterations x {} rounds)",
        args.sig_iters, args.sig_rounds
    );
    let bench = sig_bench(args.sig_iters, args.sig_rounds);
    let ratio = bench.check_per_s / bench.sha1_per_s;
    let details = &mut rep.details;
    writeln!(details, "### Signature checking, native (no worker)\n").unwrap();
    writeln!(details, "| measure | value |\n| --- | --- |").unwrap();
    writeln!(
        details,
        "| body | {} bytes (plus a 10-byte time and a 34-byte secret, twice) |",
        bench.body_len
    )
    .unwrap();
    writeln!(
        details,
        "| iterations | {} per side per round, {} rounds, order rotated |",
        bench.iters, bench.rounds
    )
    .unwrap();
    writeln!(
        details,
        "| the worker's check: `Covered::verify` of the buffer the body was read into | {:.0} checks/s ({:.0} MB/s of body) |",
        bench.check_per_s,
        bench.check_per_s * bench.body_len as f64 / 1e6
    )
    .unwrap();
    writeln!(
        details,
        "| the same with the buffer built each time (allocation, the body copied in, sealed) | {:.0} checks/s |",
        bench.built_per_s
    )
    .unwrap();
    writeln!(
        details,
        "| `signature::verify` of a body already read (four pieces hashed) | {:.0} checks/s |",
        bench.pieces_per_s
    )
    .unwrap();
    writeln!(
        details,
        "| raw `Sha1::digest` of the prebuilt `t+secret+body+secret` | {:.0} hashes/s |",
        bench.sha1_per_s
    )
    .unwrap();
    writeln!(
        details,
        "| the same SHA-1 fed in four pieces, as `verify` does (no hex decode, no compare) | {:.0} hashes/s |",
        bench.streamed_per_s
    )
    .unwrap();
    writeln!(
        details,
        "| naive check: concatenate, hash, hex-encode, compare | {:.0} checks/s |",
        bench.naive_per_s
    )
    .unwrap();
    writeln!(
        details,
        "| **check / raw sha1** (totals) | **{ratio:.3}** |"
    )
    .unwrap();
    writeln!(
        details,
        "| check / raw sha1 (median round) | {:.3} |",
        bench.median_ratio
    )
    .unwrap();
    writeln!(
        details,
        "| check / naive check | {:.3} |\n",
        bench.check_per_s / bench.naive_per_s
    )
    .unwrap();
    let label = args
        .label
        .as_deref()
        .map_or(String::new(), |l| format!(", {l}"));
    rep.figure(
        format!("signature check / raw sha1 (native, ~1 KB body{label})"),
        format!("{ratio:.3}"),
        "≥ 0.95",
    );
}
