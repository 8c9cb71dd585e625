#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The shared-state protocol (docs/shared-state.md) against a real
//! `redis-server`: every Lua script through `redis-cli EVAL`, on a plain
//! server and on a one-node Redis Cluster (which refuses a script whose
//! keys span slots, so the hash tags are checked for real).
//!
//! Each test starts its own servers on free loopback ports (no
//! persistence) and kills them when it ends. `redis-server` and `redis-cli`
//! must be on PATH (Debian's `redis-server` package; `scripts/setup`
//! installs it): without them the tests FAIL, they never skip.

use selo::rng::seeded;
use selo::shared::{
    BMP_PENDING_TTL_SECONDS, DEFAULT_LEASE_TTL_MS, LEASE_ACQUIRE, LEASE_EXTEND, LeaseAcquire,
    LeaseExtend, LeaseOwner, PUBLISH_IF_GENERATION, PublishResult, RELEASE_IF_OWNER, Release,
    SCRIPTS, SafraKeys, ScriptCall, SealKey, WAIT_POLL_INTERVAL_MS, bmp_pending_key, cluster_slot,
    jti_key, next_generation, open, peek_generation, script_sha1, seal,
};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::sleep;
use std::time::{Duration, Instant};

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

fn require(tool: &str) {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`{tool} --version` failed ({}): is Redis installed correctly?",
            o.status
        ),
        Err(e) => panic!(
            "`{tool}` is not on PATH ({e}). These tests need a real Redis: install Debian's \
             `redis-server` package (scripts/setup does; CI installs it). They never skip."
        ),
    }
}

/// A `redis-server` of this test's own, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    fn plain() -> Redis {
        Self::start(false)
    }

    fn cluster() -> Redis {
        Self::start(true)
    }

    /// Both kinds: every scenario runs on each.
    fn both() -> [Redis; 2] {
        [Self::plain(), Self::cluster()]
    }

    fn start(cluster: bool) -> Redis {
        require("redis-server");
        require("redis-cli");
        for _attempt in 0..5 {
            // `--port 0` is not supported: take a free port from the OS.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let dir = std::env::temp_dir().join(format!(
                "selo-shared-redis-{}-{}",
                std::process::id(),
                NEXT_DIR.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let mut cmd = Command::new("redis-server");
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if cluster {
                cmd.args([
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ]);
            }
            let child = cmd.spawn().expect("spawn redis-server");
            let mut r = Redis { child, port, dir };
            if r.wait_ready() {
                if cluster {
                    assert_eq!(r.cli(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), "OK");
                    let t = Instant::now();
                    while !r.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok") {
                        assert!(
                            t.elapsed() < Duration::from_secs(10),
                            "one-node cluster never reached cluster_state:ok"
                        );
                        sleep(Duration::from_millis(50));
                    }
                }
                return r;
            }
            // Lost the port to someone else, or the server died: try again.
            let _ = r.child.kill();
        }
        panic!("redis-server did not start on a free port in 5 attempts");
    }

    fn wait_ready(&mut self) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.cli(&["PING"]) == "PONG" {
                return true;
            }
            sleep(Duration::from_millis(20));
        }
        false
    }

    /// One command; stdout without its final newline (`redis-cli` prints
    /// raw replies when stdout is not a terminal: nil is an empty line).
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        let s = String::from_utf8(out.stdout).unwrap();
        s.strip_suffix('\n').unwrap_or(&s).to_string()
    }

    fn int(&self, args: &[&str]) -> i64 {
        let s = self.cli(args);
        s.parse()
            .unwrap_or_else(|_| panic!("expected an integer reply to {:?}, got {s:?}", args[0]))
    }

    fn get(&self, key: &str) -> Option<String> {
        let s = self.cli(&["GET", key]);
        (!s.is_empty()).then_some(s)
    }

    /// `EVAL script numkeys keys… args…` → the integer reply.
    fn eval_raw(&self, script: &str, keys: &[&str], args: &[&str]) -> i64 {
        let n = keys.len().to_string();
        let mut v = vec!["EVAL", script, n.as_str()];
        v.extend_from_slice(keys);
        v.extend_from_slice(args);
        self.int(&v)
    }

    fn eval(&self, call: &ScriptCall) -> i64 {
        let keys: Vec<&str> = call.keys.iter().map(String::as_str).collect();
        let args: Vec<&str> = call.args.iter().map(String::as_str).collect();
        self.eval_raw(call.script, &keys, &args)
    }

    fn acquire(&self, k: &SafraKeys, o: &LeaseOwner, ttl_ms: u64) -> LeaseAcquire {
        LeaseAcquire::from_reply(self.eval(&ScriptCall::lease_acquire(k, o, ttl_ms).unwrap()))
            .unwrap()
    }

    fn fence_of(&self, k: &SafraKeys, o: &LeaseOwner, ttl_ms: u64) -> u64 {
        match self.acquire(k, o, ttl_ms) {
            LeaseAcquire::Acquired { fence } => fence,
            other => panic!("expected the lease, got {other:?}"),
        }
    }

    fn extend(&self, k: &SafraKeys, o: &LeaseOwner, ttl_ms: u64) -> LeaseExtend {
        LeaseExtend::from_reply(self.eval(&ScriptCall::lease_extend(k, o, ttl_ms).unwrap()))
            .unwrap()
    }

    fn release(&self, k: &SafraKeys, o: &LeaseOwner) -> Release {
        Release::from_reply(self.eval(&ScriptCall::release_if_owner(k, o))).unwrap()
    }

    fn publish(
        &self,
        k: &SafraKeys,
        o: &LeaseOwner,
        fence: u64,
        expected: u64,
        sealed: &str,
    ) -> PublishResult {
        let call = ScriptCall::publish_if_generation(k, o, fence, expected, sealed).unwrap();
        PublishResult::from_reply(self.eval(&call)).unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seal_key() -> SealKey {
    SealKey::new(&[0x42; 32]).unwrap()
}

fn record(k: &SafraKeys, generation: u64, seed: u8) -> String {
    let plaintext = format!(r#"{{"version":1,"generation":{generation}}}"#);
    seal(
        &seal_key(),
        k.name(),
        generation,
        plaintext.as_bytes(),
        &mut seeded([seed; 32]),
    )
    .unwrap()
}

fn owner(seed: u8) -> LeaseOwner {
    LeaseOwner::generate(&mut seeded([seed; 32]))
}

#[test]
fn lease_acquire_contend_extend_release() {
    for r in Redis::both() {
        let k = SafraKeys::new("lease-basics").unwrap();
        let (a, b) = (owner(1), owner(2));
        assert_eq!(r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS), 1);
        assert_eq!(r.get(k.lease()).as_deref(), Some(a.as_str()));
        // Contended: B sees A's remaining time, nothing changes.
        match r.acquire(&k, &b, DEFAULT_LEASE_TTL_MS) {
            LeaseAcquire::Held { remaining_ms } => {
                assert!(
                    (1..=DEFAULT_LEASE_TTL_MS).contains(&remaining_ms),
                    "{remaining_ms}"
                )
            }
            other => panic!("B took A's lease: {other:?}"),
        }
        assert_eq!(r.get(k.fence()).as_deref(), Some("1"));
        // The owner re-acquiring (a retried call) gets a new fence.
        assert_eq!(r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS), 2);
        // Extend: only the owner.
        assert_eq!(r.extend(&k, &b, 60_000), LeaseExtend::NotOwner);
        assert_eq!(r.extend(&k, &a, 60_000), LeaseExtend::Extended);
        let pttl = r.int(&["PTTL", k.lease()]);
        assert!(pttl > 30_000 && pttl <= 60_000, "{pttl}");
        // Release: only the owner; B's attempt leaves A's lease alone.
        assert_eq!(r.release(&k, &b), Release::NotOwner);
        assert_eq!(r.get(k.lease()).as_deref(), Some(a.as_str()));
        assert_eq!(r.release(&k, &a), Release::Released);
        assert_eq!(r.get(k.lease()), None);
        assert_eq!(r.release(&k, &a), Release::NotOwner);
        assert_eq!(r.extend(&k, &a, 1_000), LeaseExtend::NotOwner);
        // Free again: B gets it, the fence keeps counting.
        assert_eq!(r.fence_of(&k, &b, DEFAULT_LEASE_TTL_MS), 3);
        assert_eq!(r.int(&["PTTL", k.fence()]), -1, "the fence never expires");
    }
}

#[test]
fn lease_expires_and_passes_on() {
    for r in Redis::both() {
        let k = SafraKeys::new("lease-expiry").unwrap();
        let (a, b) = (owner(3), owner(4));
        let fa = r.fence_of(&k, &a, 150);
        sleep(Duration::from_millis(300));
        assert_eq!(r.get(k.lease()), None, "expired");
        let fb = r.fence_of(&k, &b, DEFAULT_LEASE_TTL_MS);
        assert_eq!(fb, fa + 1);
        assert_eq!(r.extend(&k, &a, 1_000), LeaseExtend::NotOwner);
        assert_eq!(r.release(&k, &a), Release::NotOwner);
        assert_eq!(r.get(k.lease()).as_deref(), Some(b.as_str()));
    }
}

#[test]
fn lease_scripts_refuse_bad_arguments() {
    for r in Redis::both() {
        let k = SafraKeys::new("lease-args").unwrap();
        let (lease, fence) = (k.lease(), k.fence());
        for (o, ttl) in [
            ("a", "0"),
            ("a", "abc"),
            ("a", "01"),
            ("a", "-5"),
            ("", "100"),
            ("a", "1000000000"),
        ] {
            assert_eq!(
                r.eval_raw(LEASE_ACQUIRE, &[lease, fence], &[o, ttl]),
                0,
                "{o:?} {ttl:?}"
            );
            assert_eq!(
                r.eval_raw(LEASE_EXTEND, &[lease], &[o, ttl]),
                -1,
                "{o:?} {ttl:?}"
            );
        }
        assert_eq!(r.eval_raw(RELEASE_IF_OWNER, &[lease], &[""]), -1);
        assert_eq!(r.get(lease), None);
        assert_eq!(r.get(fence), None, "refused calls change nothing");
        assert!(LeaseAcquire::from_reply(0).is_err());
    }
}

#[test]
fn publish_if_generation_publishes_and_chains() {
    for r in Redis::both() {
        let k = SafraKeys::new("publish-ok").unwrap();
        let a = owner(5);
        let f = r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS);
        assert_eq!(r.get(k.record()), None, "no record: expected generation 0");
        let g1 = record(&k, 1, 1);
        assert_eq!(r.publish(&k, &a, f, 0, &g1), PublishResult::Published);
        assert_eq!(r.release(&k, &a), Release::Released);
        let stored = r.get(k.record()).unwrap();
        assert_eq!(stored, g1);
        let (g, p) = open(&seal_key(), k.name(), &stored).unwrap();
        assert_eq!(
            (g, p.as_slice()),
            (1, &br#"{"version":1,"generation":1}"#[..])
        );
        assert_eq!(r.int(&["PTTL", k.record()]), -1, "records have no TTL");

        // The next transition replaces generation 1.
        let b = owner(6);
        let f = r.fence_of(&k, &b, DEFAULT_LEASE_TTL_MS);
        let seen = peek_generation(&r.get(k.record()).unwrap()).unwrap();
        assert_eq!(seen, 1);
        let g2 = record(&k, 2, 2);
        assert_eq!(r.publish(&k, &b, f, seen, &g2), PublishResult::Published);
        assert_eq!(
            open(&seal_key(), k.name(), &r.get(k.record()).unwrap())
                .unwrap()
                .0,
            2
        );
        // Generations may jump (a host may skip numbers), never go back.
        let g9 = record(&k, 9, 3);
        assert_eq!(r.publish(&k, &b, f, 2, &g9), PublishResult::Published);
        assert_eq!(peek_generation(&r.get(k.record()).unwrap()).unwrap(), 9);
    }
}

#[test]
fn stale_writer_is_refused_after_its_lease_expired() {
    for r in Redis::both() {
        let k = SafraKeys::new("publish-stale").unwrap();
        let (a, b) = (owner(7), owner(8));
        let fa = r.fence_of(&k, &a, 150);
        // A stalls past its lease; B takes over.
        sleep(Duration::from_millis(300));
        let fb = r.fence_of(&k, &b, DEFAULT_LEASE_TTL_MS);
        assert!(fb > fa);
        // A wakes up and tries to publish: refused, nothing written.
        assert_eq!(
            r.publish(&k, &a, fa, 0, &record(&k, 1, 1)),
            PublishResult::NotLeaseOwner
        );
        assert_eq!(r.get(k.record()), None);
        // Even with B's fence number, A is not the owner.
        assert_eq!(
            r.publish(&k, &a, fb, 0, &record(&k, 1, 1)),
            PublishResult::NotLeaseOwner
        );
        let gb = record(&k, 1, 2);
        assert_eq!(r.publish(&k, &b, fb, 0, &gb), PublishResult::Published);
        assert_eq!(r.release(&k, &b), Release::Released);
        // After B released: A is still refused (no lease at all).
        assert_eq!(
            r.publish(&k, &a, fa, 1, &record(&k, 2, 3)),
            PublishResult::NotLeaseOwner
        );
        assert_eq!(r.get(k.record()).unwrap(), gb);
    }
}

#[test]
fn old_fence_is_refused() {
    for r in Redis::both() {
        let k = SafraKeys::new("publish-fence").unwrap();
        let a = owner(9);
        let f1 = r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS);
        let f2 = r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS);
        assert_eq!(f2, f1 + 1);
        assert_eq!(
            r.publish(&k, &a, f1, 0, &record(&k, 1, 1)),
            PublishResult::FenceMovedOn
        );
        assert_eq!(r.get(k.record()), None);
        assert_eq!(
            r.publish(&k, &a, f2, 0, &record(&k, 1, 1)),
            PublishResult::Published
        );
    }
}

#[test]
fn generation_mismatch_is_refused() {
    for r in Redis::both() {
        let k = SafraKeys::new("publish-generation").unwrap();
        let a = owner(10);
        let f = r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS);
        let g3 = record(&k, 3, 1);
        assert_eq!(r.publish(&k, &a, f, 0, &g3), PublishResult::Published);
        // The writer believes there is no record, or an older or newer one.
        for expected in [0, 1, 2, 4, 10] {
            let text = record(&k, expected + 1, 2);
            assert_eq!(
                r.publish(&k, &a, f, expected, &text),
                PublishResult::GenerationChanged,
                "expected {expected}"
            );
        }
        assert_eq!(r.get(k.record()).unwrap(), g3);
        // Decimal, not numeric-as-double: 2^53 + 1 vs 2^53.
        let big = (1u64 << 53) + 1;
        let key = SafraKeys::new("publish-generation-big").unwrap();
        let f = r.fence_of(&key, &a, DEFAULT_LEASE_TTL_MS);
        assert_eq!(
            r.publish(&key, &a, f, 0, &record(&key, big, 3)),
            PublishResult::Published
        );
        assert_eq!(
            r.publish(&key, &a, f, big - 1, &record(&key, big + 1, 4)),
            PublishResult::GenerationChanged
        );
        assert_eq!(
            r.publish(&key, &a, f, big, &record(&key, u64::MAX, 5)),
            PublishResult::Published
        );
        assert_eq!(
            peek_generation(&r.get(key.record()).unwrap()).unwrap(),
            u64::MAX
        );
    }
}

#[test]
fn malformed_stored_record_and_bad_publish_arguments_are_refused() {
    for r in Redis::both() {
        let k = SafraKeys::new("publish-malformed").unwrap();
        let a = owner(11);
        let f = r.fence_of(&k, &a, DEFAULT_LEASE_TTL_MS);
        for garbage in ["garbage", "selo1.007.AAAA", "selo1..AAAA", "selo2.1.AAAA"] {
            assert_eq!(r.cli(&["SET", k.record(), garbage]), "OK");
            assert_eq!(
                r.publish(&k, &a, f, 0, &record(&k, 1, 1)),
                PublishResult::StoredRecordMalformed,
                "{garbage}"
            );
            assert_eq!(r.get(k.record()).as_deref(), Some(garbage));
        }
        assert_eq!(r.cli(&["DEL", k.record()]), "1");

        // Arguments the core never builds: the script refuses them (-5).
        let keys = [k.record(), k.lease(), k.fence()];
        let (fs, o) = (f.to_string(), a.as_str());
        let g1 = record(&k, 1, 1);
        for args in [
            [o, fs.as_str(), "0", g1.as_str(), "2"], // prefix is not ARGV[5]
            [o, fs.as_str(), "1", g1.as_str(), "1"], // not greater
            [o, fs.as_str(), "01", g1.as_str(), "1"], // not canonical
            [o, "0", "0", g1.as_str(), "1"],         // fence 0
            [o, "x", "0", g1.as_str(), "1"],         // fence not decimal
            ["", fs.as_str(), "0", g1.as_str(), "1"], // no owner
            [o, fs.as_str(), "0", "selo1.1", "1"],   // no prefix
        ] {
            assert_eq!(
                r.eval_raw(PUBLISH_IF_GENERATION, &keys, &args),
                -5,
                "{args:?}"
            );
        }
        let long = format!("selo1.1.{}", "A".repeat(65_536));
        assert_eq!(
            r.eval_raw(PUBLISH_IF_GENERATION, &keys, &[o, &fs, "0", &long, "1"]),
            -5
        );
        assert_eq!(r.get(k.record()), None);
        assert!(PublishResult::from_reply(-5).is_err());
        // The right arguments go through.
        assert_eq!(
            r.eval_raw(PUBLISH_IF_GENERATION, &keys, &[o, &fs, "0", &g1, "1"]),
            1
        );
    }
}

#[test]
fn fleet_keys_share_one_cluster_slot() {
    let r = Redis::cluster();
    for name in ["acme-prod", "a", "x:y/z|w", &"n".repeat(200)] {
        let k = SafraKeys::new(name).unwrap();
        let slots: Vec<i64> = [k.record(), k.lease(), k.fence()]
            .iter()
            .map(|key| r.int(&["CLUSTER", "KEYSLOT", key]))
            .collect();
        assert_eq!(slots[0], slots[1]);
        assert_eq!(slots[0], slots[2]);
        assert_eq!(slots[0], i64::from(cluster_slot(k.record())), "{name}");
        assert_eq!(
            r.int(&["CLUSTER", "KEYSLOT", &k.hash_tag()]),
            slots[0],
            "the slot is the hash tag's"
        );
    }
    for key in ["foo", "selo:ofb:jti:3:tpp:abc", &bmp_pending_key("k}{")] {
        assert_eq!(
            r.int(&["CLUSTER", "KEYSLOT", key]),
            i64::from(cluster_slot(key)),
            "{key}"
        );
    }
    // The cluster does refuse a script whose keys span slots: the one-node
    // cluster checks what a real one would.
    let out = r.cli(&[
        "EVAL",
        RELEASE_IF_OWNER,
        "2",
        "selo:{safra:a}:lease",
        "selo:{safra:b}:lease",
        "x",
    ]);
    assert!(out.contains("CROSSSLOT"), "{out}");
}

#[test]
fn evalsha_uses_the_cores_sha1() {
    for r in Redis::both() {
        for (name, source) in SCRIPTS {
            assert_eq!(
                r.cli(&["SCRIPT", "LOAD", source]),
                script_sha1(source),
                "{name}"
            );
        }
        let k = SafraKeys::new("evalsha").unwrap();
        let call = ScriptCall::lease_acquire(&k, &owner(12), DEFAULT_LEASE_TTL_MS).unwrap();
        let sha = call.sha1();
        let n = call.keys.len().to_string();
        let mut v = vec!["EVALSHA", sha.as_str(), n.as_str()];
        v.extend(call.keys.iter().map(String::as_str));
        v.extend(call.args.iter().map(String::as_str));
        assert_eq!(r.int(&v), 1);
    }
}

#[test]
fn jti_and_bmp_pending_keys_with_set_nx() {
    for r in Redis::both() {
        let replay = selo::ofb::server::ReplayKey {
            client_id: "tpp:1".into(),
            jti: "0b8f2b5e-1c1a-4c1e-9a53-3b1e6b0d7f10".into(),
            forget_after: 1_000 + 300,
        };
        let key = jti_key(&replay);
        let ttl = replay.ttl_seconds(1_000).to_string();
        assert_eq!(r.cli(&["SET", &key, "1", "NX", "EX", &ttl]), "OK", "fresh");
        assert_eq!(
            r.cli(&["SET", &key, "1", "NX", "EX", &ttl]),
            "",
            "replayed: nil"
        );
        let left = r.int(&["TTL", &key]);
        assert!((290..=300).contains(&left), "{left}");

        let pending = bmp_pending_key("3f2c1a9e-7b7d-4c2e-8f1a-2d6b9c0e4a11");
        let ttl = BMP_PENDING_TTL_SECONDS.to_string();
        assert_eq!(
            r.cli(&["SET", &pending, r#"{"a":1}"#, "NX", "EX", &ttl]),
            "OK"
        );
        assert_eq!(
            r.cli(&["SET", &pending, r#"{"a":2}"#, "NX", "EX", &ttl]),
            ""
        );
        assert_eq!(r.get(&pending).as_deref(), Some(r#"{"a":1}"#));
        assert!(r.int(&["TTL", &pending]) > 604_000);
    }
}

/// SPEC §5: one failure seen by many instances on generation g causes at
/// most one refresh for g. Eight instances (threads, each with its own
/// `redis-cli` processes) all see generation 1 fail at once and run the
/// transition algorithm of docs/shared-state.md §5.
#[test]
fn many_instances_refresh_a_generation_once() {
    for r in Redis::both() {
        let k = SafraKeys::new("fleet-once").unwrap();
        let boot = owner(100);
        let f = r.fence_of(&k, &boot, DEFAULT_LEASE_TTL_MS);
        assert_eq!(
            r.publish(&k, &boot, f, 0, &record(&k, 1, 1)),
            PublishResult::Published
        );
        assert_eq!(r.release(&k, &boot), Release::Released);

        let r = Arc::new(r);
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (r, k, barrier) = (Arc::clone(&r), k.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let failed_on = 1u64;
                    let me = owner(200 + i as u8);
                    barrier.wait();
                    let deadline = Instant::now() + Duration::from_millis(DEFAULT_LEASE_TTL_MS);
                    loop {
                        match r.acquire(&k, &me, DEFAULT_LEASE_TTL_MS) {
                            LeaseAcquire::Acquired { fence } => {
                                let text = r.get(k.record()).unwrap();
                                let (current, _) = open(&seal_key(), k.name(), &text).unwrap();
                                if current > failed_on {
                                    r.release(&k, &me);
                                    return (false, current);
                                }
                                // The transition itself (handshake, …) runs here.
                                sleep(Duration::from_millis(50));
                                let n = next_generation(current, failed_on).unwrap();
                                let next = record(&k, n, 50 + i as u8);
                                let p = r.publish(&k, &me, fence, current, &next);
                                r.release(&k, &me);
                                assert_eq!(p, PublishResult::Published);
                                return (true, n);
                            }
                            LeaseAcquire::Held { remaining_ms } => {
                                assert!(remaining_ms <= DEFAULT_LEASE_TTL_MS);
                                // Wait for the holder's generation, bounded.
                                let text = r.get(k.record()).unwrap();
                                let (current, _) = open(&seal_key(), k.name(), &text).unwrap();
                                if current > failed_on {
                                    return (false, current);
                                }
                                assert!(Instant::now() < deadline, "shared.lease_timeout");
                                sleep(Duration::from_millis(WAIT_POLL_INTERVAL_MS / 4));
                            }
                        }
                    }
                })
            })
            .collect();
        let results: Vec<(bool, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|(refreshed, _)| *refreshed).count(),
            1,
            "{results:?}"
        );
        assert!(results.iter().all(|(_, g)| *g == 2), "{results:?}");
        assert_eq!(peek_generation(&r.get(k.record()).unwrap()).unwrap(), 2);
        assert_eq!(
            r.get(k.fence())
                .as_deref()
                .map(|s| s.parse::<u64>().unwrap() >= 2),
            Some(true)
        );
    }
}
