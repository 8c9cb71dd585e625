#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! SPEC §5, many instances: each with its own `Session` and `SafraShare`,
//! one bank, one store. The store here is a small in-memory stand-in that
//! answers the protocol's scripts as `docs/shared-state.md` specifies (the
//! Lua itself runs against a real redis-server in `shared_redis.rs` and in
//! the adapters' fleet tests); it lets these tests interleave instances
//! step by step.

mod common;

use common::safra::{BANK_ORIGIN, key};
use selo::http::ReceivedResponse;
use selo::rng::seeded;
use selo::safra::bank::{Bank, Fault};
use selo::safra::boleto::BoletoRequest;
use selo::safra::share::{Acquired, RecordOutcome, SafraShare};
use selo::safra::{BaseUrl, Next, Operation, Outcome, Reply, SafraProfile, Session};
use selo::shared::{PublishResult, ScriptCall};
use std::collections::HashMap;

const SEAL: [u8; 32] = [7; 32];

/// The store: values with an optional expiry (ms).
#[derive(Default)]
struct Store {
    map: HashMap<String, (String, Option<u64>)>,
    now_ms: u64,
    up: bool,
}

impl Store {
    fn live(&mut self, k: &str) -> Option<String> {
        let now = self.now_ms;
        if let Some((_, Some(exp))) = self.map.get(k)
            && *exp <= now
        {
            self.map.remove(k);
        }
        self.map.get(k).map(|(v, _)| v.clone())
    }

    fn get(&mut self, k: &str) -> Result<Option<String>, &'static str> {
        if !self.up {
            return Err("store down");
        }
        Ok(self.live(k))
    }

    fn eval(&mut self, c: &ScriptCall) -> Result<i64, &'static str> {
        if !self.up {
            return Err("store down");
        }
        let now = self.now_ms;
        Ok(match c.name {
            "LEASE_ACQUIRE" => {
                let holder = self.live(&c.keys[0]);
                if holder.is_none() || holder.as_deref() == Some(&c.args[0]) {
                    let ttl: u64 = c.args[1].parse().unwrap();
                    self.map
                        .insert(c.keys[0].clone(), (c.args[0].clone(), Some(now + ttl)));
                    let fence = self.live(&c.keys[1]).map_or(0, |f| f.parse().unwrap()) + 1;
                    self.map
                        .insert(c.keys[1].clone(), (fence.to_string(), None));
                    fence
                } else {
                    let exp = self.map[&c.keys[0]].1.unwrap();
                    -((exp - now).max(1) as i64)
                }
            }
            "RELEASE_IF_OWNER" => {
                if self.live(&c.keys[0]).as_deref() == Some(&c.args[0]) {
                    self.map.remove(&c.keys[0]);
                    1
                } else {
                    0
                }
            }
            "PUBLISH_IF_GENERATION" => {
                if self.live(&c.keys[1]).as_deref() != Some(&c.args[0]) {
                    return Ok(-1);
                }
                if self.live(&c.keys[2]).as_deref() != Some(&c.args[1]) {
                    return Ok(-2);
                }
                let current = self.live(&c.keys[0]).map_or("0".to_string(), |r| {
                    r.split('.').nth(1).unwrap().to_string()
                });
                if current != c.args[2] {
                    return Ok(-3);
                }
                self.map
                    .insert(c.keys[0].clone(), (c.args[3].clone(), None));
                1
            }
            other => panic!("script {other} not expected here"),
        })
    }
}

/// One instance: a shared session and its share.
struct Instance {
    session: Session,
    share: SafraShare,
    rng: chacha20::ChaCha20Rng,
}

fn instance(seed: u8, lease_ttl_ms: u64) -> Instance {
    let mut session = Session::new(
        SafraProfile::default(),
        BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
        "CLIENTE01",
    )
    .unwrap();
    session.set_client_key(key("rsa1024-client"));
    session.set_shared(true);
    let mut share = SafraShare::new("acme", &SEAL).unwrap();
    share.set_lease_ttl_ms(lease_ttl_ms).unwrap();
    Instance {
        session,
        share,
        rng: seeded([seed; 32]),
    }
}

struct Fleet {
    bank: Bank,
    bank_rng: chacha20::ChaCha20Rng,
    store: Store,
    now: u64,
    /// Services the bank saw, in order.
    wire: Vec<String>,
}

fn fleet() -> Fleet {
    let mut bank_rng = seeded([99; 32]);
    let bank = common::safra::bank(SafraProfile::default(), &mut bank_rng);
    Fleet {
        bank,
        bank_rng,
        store: Store {
            up: true,
            ..Store::default()
        },
        now: 1_800_000_000,
        wire: vec![],
    }
}

fn boleto(nosso: u64) -> BoletoRequest {
    let mut b = common::safra::boleto_sample();
    b.documento.nosso_numero = nosso;
    b
}

impl Fleet {
    fn send(&mut self, req: &selo::http::PreparedRequest) -> ReceivedResponse {
        let path = req.url.trim_start_matches(BANK_ORIGIN).to_string();
        self.wire.push(path.rsplit('/').next().unwrap().to_string());
        self.bank
            .handle(&path, &req.headers, &req.body, self.now, &mut self.bank_rng)
    }

    fn count(&self, service: &str) -> usize {
        self.wire.iter().filter(|s| *s == service).count()
    }

    /// Takes the lease for `i` the way an adapter does: acquire, re-read,
    /// adopt or grant. Returns what acquiring found.
    fn take_lease(&mut self, i: &mut Instance) -> Acquired {
        let call = i.share.acquire(&mut i.rng).unwrap();
        let reply = self.store.eval(&call).unwrap();
        let got = i.share.on_acquire(reply).unwrap();
        if got == Acquired::Held {
            let rec = self.store.get(i.share.record_key()).unwrap();
            match i.share.on_record(&mut i.session, rec.as_deref()).unwrap() {
                RecordOutcome::Adopted => self.release(i),
                RecordOutcome::Empty | RecordOutcome::Current => {
                    i.share.grant(&mut i.session).unwrap();
                }
            }
        }
        got
    }

    fn release(&mut self, i: &mut Instance) {
        if let Some(call) = i.share.release(&mut i.session) {
            let r = self.store.eval(&call).unwrap();
            i.share.on_release(r).unwrap();
        }
    }

    fn publish_if_ready(&mut self, i: &mut Instance) -> Option<PublishResult> {
        if !i.share.ready_to_publish(&i.session) {
            return None;
        }
        let call = i.share.publish(&i.session, &mut i.rng).unwrap();
        let r = self.store.eval(&call).unwrap();
        let out = i.share.on_publish(&i.session, r).unwrap();
        self.release(i);
        Some(out)
    }

    /// Drives operation `id` of `i`, which holds the lease (or needs
    /// none), to its reply: send, handle, publish after a transition.
    fn drive_held(&mut self, i: &mut Instance, id: selo::safra::OperationId) -> Reply {
        for _ in 0..10 {
            let Next::Send(rid, req) = i.session.next(id, self.now, &mut i.rng).unwrap() else {
                panic!("an instance that holds the lease never waits")
            };
            let t = i.session.is_transition(rid);
            let resp = self.send(&req);
            let out = i
                .session
                .handle_response(rid, &resp, self.now, &mut i.rng)
                .unwrap();
            if t {
                self.publish_if_ready(i);
            }
            if let Outcome::Done(r) = out {
                return r;
            }
        }
        panic!("no reply after 10 steps: {:?}", self.wire);
    }

    fn poll_record(&mut self, i: &mut Instance) -> RecordOutcome {
        let rec = self.store.get(i.share.record_key()).unwrap();
        i.share.on_record(&mut i.session, rec.as_deref()).unwrap()
    }

    /// Runs `op` on instance `i` to the end, as an adapter would, while the
    /// store lets it.
    fn run(&mut self, i: &mut Instance, op: Operation) -> Result<Reply, selo::safra::Error> {
        let id = i.session.begin(op)?;
        for _ in 0..30 {
            // A due renewal asked for the lease without stopping anyone:
            // the adapter takes it before the next step.
            if i.session.wants_lease()
                && !i.share.holds_lease()
                && let Acquired::Busy { .. } = self.take_lease(i)
            {
                self.poll_record(i);
            }
            match i.session.next(id, self.now, &mut i.rng)? {
                // One operation per instance here: only the gate waits (the
                // loop head takes the lease next).
                Next::Wait => assert!(i.session.wants_lease()),
                Next::Send(rid, req) => {
                    let transition = i.session.is_transition(rid);
                    let resp = self.send(&req);
                    let out = i.session.handle_response(rid, &resp, self.now, &mut i.rng);
                    if transition {
                        self.publish_if_ready(i);
                    }
                    match out {
                        Ok(Outcome::Continue(_)) => {}
                        Ok(Outcome::Done(r)) => return Ok(r),
                        Err(e) => {
                            self.release(i);
                            return Err(e);
                        }
                    }
                }
            }
        }
        panic!("no reply after 30 steps: {:?}", self.wire);
    }
}

#[test]
fn three_instances_share_one_handshake_and_one_psd005() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    let mut b = instance(2, 30_000);
    let mut c = instance(3, 30_000);
    for (n, i) in [&mut a, &mut b, &mut c].into_iter().enumerate() {
        for k in 0..3 {
            let r = f
                .run(
                    i,
                    Operation::RegisterBoleto(boleto(100 + 10 * n as u64 + k)),
                )
                .unwrap();
            assert!(matches!(r, Reply::BoletoRegistered(_)));
        }
    }
    assert_eq!(f.count("psd001"), 2, "{:?}", f.wire);
    assert_eq!(f.count("psd005"), 1, "{:?}", f.wire);
    assert_eq!(f.count("psd050"), 9);
    assert_eq!(a.share.stats().handshakes, 1);
    assert_eq!(b.share.stats().handshakes + c.share.stats().handshakes, 0);
    assert_eq!(b.share.stats().adopted, 1);
    assert_eq!(c.share.stats().adopted, 1);
    assert_eq!(b.session.session_id(), a.session.session_id());
    // The record is sealed: no key, token or session id in it.
    let rec = f.store.live(a.share.record_key()).unwrap();
    let token = a.session.token().unwrap().token.clone();
    assert!(!rec.contains(&token) && !rec.contains(a.session.session_id()));
    assert!(rec.starts_with("selo1.1."), "{rec}");
}

#[test]
fn a_key_expiry_heard_by_every_instance_makes_one_new_handshake() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    let mut b = instance(2, 30_000);
    f.run(&mut a, Operation::RegisterBoleto(boleto(200)))
        .unwrap();
    f.run(&mut b, Operation::RegisterBoleto(boleto(201)))
        .unwrap();
    f.wire.clear();
    // Both send a psd050 on generation 1; the bank forgot the key.
    f.bank.inject(Fault::ExpireKey);
    let ida = a
        .session
        .begin(Operation::RegisterBoleto(boleto(202)))
        .unwrap();
    let idb = b
        .session
        .begin(Operation::RegisterBoleto(boleto(203)))
        .unwrap();
    let Next::Send(ra, qa) = a.session.next(ida, f.now, &mut a.rng).unwrap() else {
        panic!()
    };
    let Next::Send(rb, qb) = b.session.next(idb, f.now, &mut b.rng).unwrap() else {
        panic!()
    };
    let (xa, xb) = (f.send(&qa), f.send(&qb));
    assert_eq!((xa.status, xb.status), (500, 500));
    a.session
        .handle_response(ra, &xa, f.now, &mut a.rng)
        .unwrap();
    b.session
        .handle_response(rb, &xb, f.now, &mut b.rng)
        .unwrap();
    // Both want the lease; A gets it, B finds it held.
    assert_eq!(a.session.next(ida, f.now, &mut a.rng).unwrap(), Next::Wait);
    assert_eq!(b.session.next(idb, f.now, &mut b.rng).unwrap(), Next::Wait);
    assert_eq!(f.take_lease(&mut a), Acquired::Held);
    assert!(matches!(f.take_lease(&mut b), Acquired::Busy { .. }));
    // B keeps waiting while A runs the handshake and publishes.
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Current);
    // A's operation: handshake, psd005, publish, then its psd050.
    let done_a = f.drive_held(&mut a, ida);
    assert!(matches!(done_a, Reply::BoletoRegistered(_)));
    assert!(!a.share.holds_lease(), "released after publishing");
    // B adopts generation 2 and finishes with no handshake of its own.
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Adopted);
    b.session.grant_transitions(false);
    let Next::Send(rid, req) = b.session.next(idb, f.now, &mut b.rng).unwrap() else {
        panic!("B should call psd050 now")
    };
    let resp = f.send(&req);
    assert!(matches!(
        b.session
            .handle_response(rid, &resp, f.now, &mut b.rng)
            .unwrap(),
        Outcome::Done(Reply::BoletoRegistered(_))
    ));
    assert_eq!(f.count("psd001"), 2, "one handshake: {:?}", f.wire);
    assert_eq!(f.count("psd005"), 1, "{:?}", f.wire);
    assert_eq!(a.share.adopted_generation(), 2);
    assert_eq!(b.share.adopted_generation(), 2);
}

#[test]
fn a_stale_lease_holder_cannot_publish_over_the_new_one() {
    let mut f = fleet();
    let mut a = instance(1, 1_000);
    let mut b = instance(2, 1_000);
    // A takes the lease and runs a handshake and psd005, slowly.
    let ida = a.session.begin(Operation::Authenticate).unwrap();
    assert_eq!(a.session.next(ida, f.now, &mut a.rng).unwrap(), Next::Wait);
    assert_eq!(f.take_lease(&mut a), Acquired::Held);
    let mut finished = false;
    for _ in 0..5 {
        let Next::Send(rid, req) = a.session.next(ida, f.now, &mut a.rng).unwrap() else {
            panic!()
        };
        let resp = f.send(&req);
        if let Outcome::Done(_) = a
            .session
            .handle_response(rid, &resp, f.now, &mut a.rng)
            .unwrap()
        {
            finished = true;
            break;
        }
    }
    assert!(finished);
    // Its lease expired meanwhile: B takes it and publishes first.
    f.store.now_ms += 1_500;
    f.run(&mut b, Operation::Authenticate).unwrap();
    assert_eq!(b.share.stats().handshakes, 1);
    // A's publish is refused (fenced) and counted.
    let out = f.publish_if_ready(&mut a).unwrap();
    assert_ne!(out, PublishResult::Published);
    assert_eq!(a.share.stats().lease_steals, 1);
    // A adopts the winner's record.
    assert_eq!(f.poll_record(&mut a), RecordOutcome::Adopted);
    assert_eq!(a.session.session_id(), b.session.session_id());
}

#[test]
fn a_killed_lease_holder_is_replaced_once_its_lease_expires() {
    let mut f = fleet();
    let mut dead = instance(1, 2_000);
    let mut b = instance(2, 2_000);
    let id = dead.session.begin(Operation::Authenticate).unwrap();
    assert_eq!(
        dead.session.next(id, f.now, &mut dead.rng).unwrap(),
        Next::Wait
    );
    assert_eq!(f.take_lease(&mut dead), Acquired::Held);
    // `dead` sends stage 1 and is killed: nothing more from it.
    let Next::Send(_, req) = dead.session.next(id, f.now, &mut dead.rng).unwrap() else {
        panic!()
    };
    f.send(&req);
    let idb = b.session.begin(Operation::Authenticate).unwrap();
    assert_eq!(b.session.next(idb, f.now, &mut b.rng).unwrap(), Next::Wait);
    let Acquired::Busy { retry_after_ms } = f.take_lease(&mut b) else {
        panic!("the dead instance's lease is still live")
    };
    assert!(retry_after_ms <= 2_000);
    f.store.now_ms += retry_after_ms;
    assert_eq!(f.take_lease(&mut b), Acquired::Held);
    drop(dead);
    assert!(matches!(f.drive_held(&mut b, idb), Reply::Authenticated(_)));
    assert_eq!(b.share.stats().handshakes, 1);
    assert_eq!(b.share.stats().lease_waits, 1);
}

#[test]
fn a_renewal_falls_due_fleet_wide_once() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    let mut b = instance(2, 30_000);
    f.run(&mut a, Operation::RegisterBoleto(boleto(300)))
        .unwrap();
    f.run(&mut b, Operation::RegisterBoleto(boleto(301)))
        .unwrap();
    let t = a.session.token().unwrap().clone();
    f.now = t.renew_at + 1;
    f.wire.clear();
    // A meets the due renewal: its psd050 goes on; it wants the lease.
    let r = f
        .run(&mut a, Operation::RegisterBoleto(boleto(302)))
        .unwrap();
    assert!(matches!(r, Reply::BoletoRegistered(_)));
    assert!(a.session.wants_lease());
    assert_eq!(f.take_lease(&mut a), Acquired::Held);
    f.run(&mut a, Operation::RegisterBoleto(boleto(303)))
        .unwrap();
    assert_eq!(f.count("psd007"), 1, "{:?}", f.wire);
    assert_eq!(a.share.stats().renewals, 1);
    // B meets the same due renewal (or a 401 for the old token): it takes
    // the lease, finds the new record and adopts it instead of renewing.
    f.run(&mut b, Operation::RegisterBoleto(boleto(304)))
        .unwrap();
    f.run(&mut b, Operation::RegisterBoleto(boleto(305)))
        .unwrap();
    assert!(!b.share.holds_lease());
    assert_eq!(b.share.stats().adopted, 2);
    assert_eq!(b.share.stats().renewals, 0);
    assert_eq!(f.count("psd007"), 1, "one renewal fleet-wide: {:?}", f.wire);
    assert_eq!(f.count("psd001") + f.count("psd005"), 0);
}

#[test]
fn a_record_sealed_under_another_key_or_fleet_is_refused() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    f.run(&mut a, Operation::Authenticate).unwrap();
    let rec = f.store.live(a.share.record_key()).unwrap();
    let mut s = Session::new(
        SafraProfile::default(),
        BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
        "CLIENTE01",
    )
    .unwrap();
    let mut wrong_key = SafraShare::new("acme", &[8; 32]).unwrap();
    let e = wrong_key.on_record(&mut s, Some(&rec)).unwrap_err();
    assert_eq!(e.code(), "safra.shared.record_rejected");
    let mut wrong_fleet = SafraShare::new("other", &SEAL).unwrap();
    let e = wrong_fleet.on_record(&mut s, Some(&rec)).unwrap_err();
    assert_eq!(e.code(), "safra.shared.record_rejected");
    assert_eq!(s.state(), selo::safra::State::New, "nothing adopted");
}

#[test]
fn a_record_the_store_lost_is_published_again() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    f.run(&mut a, Operation::Authenticate).unwrap();
    assert_eq!(a.share.adopted_generation(), 1);
    // Redis restarts without persistence: the record is gone, and the bank
    // forgets the key.
    f.store.map.clear();
    f.bank.inject(Fault::ExpireKey);
    let r = f
        .run(&mut a, Operation::RegisterBoleto(boleto(400)))
        .unwrap();
    assert!(matches!(r, Reply::BoletoRegistered(_)));
    assert_eq!(a.share.stats().lease_steals, 0, "nothing to fence");
    assert_eq!(a.share.stats().handshakes, 2);
    let rec = f.store.live(a.share.record_key()).expect("published again");
    assert!(rec.starts_with("selo1.2."), "generations only grow: {rec}");
    // A newcomer adopts it.
    let mut b = instance(2, 30_000);
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Adopted);
    assert_eq!(b.session.session_id(), a.session.session_id());
}

#[test]
fn a_waiter_sees_a_record_another_caller_of_its_instance_adopted() {
    let mut f = fleet();
    let mut a = instance(1, 30_000);
    let mut b = instance(2, 30_000);
    f.run(&mut a, Operation::Authenticate).unwrap();
    f.run(&mut b, Operation::RegisterBoleto(boleto(500)))
        .unwrap();
    // Both lose the key; A takes the lease, B finds it busy and waits.
    f.bank.inject(Fault::ExpireKey);
    let ida = a.session.begin(Operation::Authenticate).unwrap();
    let idb = b
        .session
        .begin(Operation::RegisterBoleto(boleto(501)))
        .unwrap();
    assert_eq!(f.take_lease(&mut a), Acquired::Held);
    let Acquired::Busy { .. } = f.take_lease(&mut b) else {
        panic!("A holds the lease")
    };
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Current);
    // A runs its handshake and publishes generation 2.
    assert!(matches!(f.drive_held(&mut a, ida), Reply::Authenticated(_)));
    // Another call of B reads the record first (a call's own read) and
    // adopts generation 2…
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Adopted);
    // …and B's waiting poll sees it too, instead of "current" until the
    // holder's lease would have expired.
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Adopted);
    // A new wait starts from what the instance uses now.
    let call = b.share.acquire(&mut b.rng).unwrap();
    let reply = f.store.eval(&call).unwrap();
    assert_eq!(b.share.on_acquire(reply).unwrap(), Acquired::Held);
    assert_eq!(f.poll_record(&mut b), RecordOutcome::Current);
    f.release(&mut b);
    let Next::Send(rid, req) = b.session.next(idb, f.now, &mut b.rng).unwrap() else {
        panic!("B has credentials now")
    };
    let resp = f.send(&req);
    assert!(matches!(
        b.session
            .handle_response(rid, &resp, f.now, &mut b.rng)
            .unwrap(),
        Outcome::Done(Reply::BoletoRegistered(_))
    ));
    assert_eq!(b.share.stats().handshakes, 0);
}
