#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Envelope seal/open (1 KiB, 64 KiB) and the client's handshake CPU.
//! Run: `cargo bench -p selo --bench safra`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selo::crypto::{Padding, default_provider};
use selo::keys::{KeyFormat, RsaPrivateKey};
use selo::rng::seeded;
use selo::safra::SignatureMessage;
use selo::safra::envelope::{IvLog, SessionKey, open_bytes, seal_with_iv};
use selo::safra::handshake::{
    bank_stage2_reply, parse_stage2_reply, stage1_jwk, stage2_parametros,
};
use std::hint::black_box;

fn key(name: &str) -> RsaPrivateKey {
    let path = format!(
        "{}/../tests/vectors/external/keys/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let pem = std::fs::read(path).unwrap_or_default();
    match RsaPrivateKey::import(&pem) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

fn envelope(c: &mut Criterion) {
    let k = SessionKey::new([7; 32]);
    let mut g = c.benchmark_group("safra/envelope");
    for size in [1024usize, 64 * 1024] {
        let msg = vec![b'a'; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("seal {} KiB", size / 1024), |b| {
            let mut rng = seeded([1; 32]);
            let mut log = IvLog::default();
            b.iter(|| black_box(log.seal(&k, &msg, &mut rng)))
        });
        let env = seal_with_iv(&k, b"AbCdEfGhIjKlMnOp", &msg);
        g.bench_function(format!("open {} KiB", size / 1024), |b| {
            b.iter(|| black_box(open_bytes(&k, &env)))
        });
    }
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let client = key("rsa1024-client");
    let bank = key("rsa1024-bank");
    let p = default_provider();
    let sid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
    let mut rng = seeded([2; 32]);
    let aes = SessionKey::new([9; 32]);
    let reply = bank_stage2_reply(
        p,
        &client.public_key(),
        &bank,
        &aes,
        Padding::Pkcs1v15,
        SignatureMessage::RawKey,
        &mut rng,
    )
    .unwrap_or_default();
    let mut g = c.benchmark_group("safra/handshake-client-cpu");
    g.bench_function("stage1 + stage2 + reply (1024, pkcs1v15)", |b| {
        b.iter(|| {
            let j = stage1_jwk(p, &client, sid, KeyFormat::DerSpki, &mut rng);
            let s = stage2_parametros(
                p,
                &bank.public_key(),
                &client,
                sid,
                Padding::Pkcs1v15,
                &mut rng,
            );
            let k = parse_stage2_reply(
                p,
                &reply,
                &client,
                &bank.public_key(),
                &[Padding::Pkcs1v15],
                &[SignatureMessage::RawKey],
                &mut rng,
            );
            black_box((j, s, k.is_ok()))
        })
    });
    g.bench_function("generate 1024-bit client key", |b| {
        b.iter(|| black_box(RsaPrivateKey::generate(1024, &mut rng).is_ok()))
    });
    g.finish();
}

criterion_group!(benches, envelope, handshake);
criterion_main!(benches);
