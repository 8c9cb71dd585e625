//! One Safra session shared by many instances through Redis (SPEC §5,
//! `docs/shared-state.md`): [`selo::safra::share::SafraShare`] for JS. It
//! builds the store calls and reads their replies; `selo/redis`
//! (`js/lib/redis.cjs`) runs them on a node-redis client.

use crate::conv::{
    bytes_in, get_opt, get_opt_f64, get_opt_string, rng_in, secs_out, selo_err, set, type_err,
};
use crate::safra::SafraSession;
use selo::rng::CryptoRng;
use selo::safra::share::{Acquired, RecordOutcome, SafraShare as CoreShare};
use selo::shared::{PublishResult, Release, ScriptCall};
use wasm_bindgen::prelude::*;

/// A script call as a plain object: `{ name, script, sha1, keys, args }`
/// (run it with `EVALSHA sha1` or `EVAL script`, `keys` and `args` as they
/// are; the reply is an integer).
fn call_out(c: &ScriptCall) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "name", &c.name.into());
    set(&o, "script", &c.script.into());
    set(&o, "sha1", &c.sha1().into());
    let keys = js_sys::Array::new();
    for k in &c.keys {
        keys.push(&k.as_str().into());
    }
    set(&o, "keys", &keys.into());
    let args = js_sys::Array::new();
    for a in &c.args {
        args.push(&a.as_str().into());
    }
    set(&o, "args", &args.into());
    o.into()
}

/// A script's integer reply: a JS number that is a safe integer.
fn reply_in(v: &JsValue) -> Result<i64, JsValue> {
    if let Some(n) = v.as_f64()
        && n.fract() == 0.0
        && n.abs() <= 9_007_199_254_740_991.0
    {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(n as i64);
    }
    Err(type_err("reply: expected the script's integer reply"))
}

/// One instance's view of a Safra session shared by a fleet (SPEC §5):
/// the lease, the fencing number and the sealed record. Sans I/O: it
/// builds the Redis calls (`recordKey`, `acquire`, `publish`, `release`)
/// and reads their replies (`onRecord`, `onAcquire`, `onPublish`,
/// `onRelease`). `selo/redis`'s `RedisSafraShare` runs them.
#[wasm_bindgen]
pub struct SafraShare {
    inner: CoreShare,
    rng: Box<dyn CryptoRng>,
}

#[wasm_bindgen]
impl SafraShare {
    /// `{ name, sealKey, leaseTtlMs?, seed? }`: the fleet's name (every
    /// instance sharing the credentials uses the same; ASCII `!`..`~`
    /// without braces, 1 to 200 bytes, else `safra.shared.name`), the
    /// 32-byte key records are sealed with (`safra.shared.seal_key`
    /// otherwise; never stored), the lease TTL in ms (default 30000).
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<SafraShare, JsValue> {
        let name = get_opt_string(&opts, "name", "options")?
            .ok_or_else(|| type_err("options.name: expected a string"))?;
        let key = get_opt(&opts, "sealKey")
            .ok_or_else(|| type_err("options.sealKey: expected 32 bytes"))?;
        let key = zeroize::Zeroizing::new(bytes_in(&key, "options.sealKey")?);
        let mut inner = CoreShare::new(&name, &key).map_err(selo_err)?;
        if let Some(ttl) = get_opt_f64(&opts, "leaseTtlMs", "options")? {
            if ttl.fract() != 0.0 || !(1.0..=9_007_199_254_740_991.0).contains(&ttl) {
                return Err(type_err(
                    "options.leaseTtlMs: expected an integer number of milliseconds >= 1",
                ));
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            inner.set_lease_ttl_ms(ttl as u64).map_err(selo_err)?;
        }
        let rng = rng_in(get_opt(&opts, "seed"))?;
        Ok(SafraShare { inner, rng })
    }

    /// The fleet name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.keys().name().to_string()
    }

    /// The lease TTL in milliseconds.
    #[wasm_bindgen(getter, js_name = leaseTtlMs)]
    pub fn lease_ttl_ms(&self) -> f64 {
        secs_out(self.inner.lease_ttl_ms())
    }

    /// The key to `GET` for the sealed record.
    #[wasm_bindgen(getter, js_name = recordKey)]
    pub fn record_key(&self) -> String {
        self.inner.record_key().to_string()
    }

    /// The record generation this instance uses (0: none yet).
    #[wasm_bindgen(getter, js_name = adoptedGeneration)]
    pub fn adopted_generation(&self) -> f64 {
        secs_out(self.inner.adopted_generation())
    }

    /// True while this instance holds the lease.
    #[wasm_bindgen(getter, js_name = holdsLease)]
    pub fn holds_lease(&self) -> bool {
        self.inner.holds_lease()
    }

    /// `{ handshakes, renewals, adopted, leaseWaits, leaseSteals,
    /// storeErrors }`.
    pub fn stats(&self) -> JsValue {
        let s = self.inner.stats();
        let o = js_sys::Object::new();
        set(&o, "handshakes", &secs_out(s.handshakes).into());
        set(&o, "renewals", &secs_out(s.renewals).into());
        set(&o, "adopted", &secs_out(s.adopted).into());
        set(&o, "leaseWaits", &secs_out(s.lease_waits).into());
        set(&o, "leaseSteals", &secs_out(s.lease_steals).into());
        set(&o, "storeErrors", &secs_out(s.store_errors).into());
        o.into()
    }

    /// Counts a failed store call (the adapter raises
    /// `shared.store_unavailable`).
    #[wasm_bindgen(js_name = storeError)]
    pub fn store_error(&mut self) {
        self.inner.store_error();
    }

    /// Hands over what `GET recordKey` returned (a string, or null: no
    /// record): "empty", "current" or "adopted" (a newer record, opened
    /// and taken by `session`). A record that does not open under this
    /// key and fleet name is `safra.shared.record_rejected`.
    #[wasm_bindgen(js_name = onRecord)]
    pub fn on_record(
        &mut self,
        session: &mut SafraSession,
        record: JsValue,
    ) -> Result<String, JsValue> {
        let text = if record.is_null() || record.is_undefined() {
            None
        } else {
            Some(
                record
                    .as_string()
                    .ok_or_else(|| type_err("record: expected the stored text or null"))?,
            )
        };
        let out = self
            .inner
            .on_record(&mut session.inner, text.as_deref())
            .map_err(selo_err)?;
        Ok(match out {
            RecordOutcome::Empty => "empty",
            RecordOutcome::Current => "current",
            RecordOutcome::Adopted => "adopted",
        }
        .to_string())
    }

    /// The script call that takes the lease (a fresh owner each time).
    pub fn acquire(&mut self) -> Result<JsValue, JsValue> {
        let c = self.inner.acquire(&mut *self.rng).map_err(selo_err)?;
        Ok(call_out(&c))
    }

    /// Hands over the acquire call's integer reply: `{ held: true }` (re-read
    /// the record, then `grant` unless it adopted) or `{ held: false,
    /// retryAfterMs }` (another instance holds it).
    #[wasm_bindgen(js_name = onAcquire)]
    pub fn on_acquire(&mut self, reply: JsValue) -> Result<JsValue, JsValue> {
        let r = reply_in(&reply)?;
        let o = js_sys::Object::new();
        match self.inner.on_acquire(r).map_err(selo_err)? {
            Acquired::Held => {
                set(&o, "held", &JsValue::TRUE);
                set(&o, "retryAfterMs", &JsValue::from_f64(0.0));
            }
            Acquired::Busy { retry_after_ms } => {
                set(&o, "held", &JsValue::FALSE);
                set(&o, "retryAfterMs", &secs_out(retry_after_ms).into());
            }
        }
        Ok(o.into())
    }

    /// Lets `session` run transitions (the lease is held and the record
    /// re-read).
    pub fn grant(&mut self, session: &mut SafraSession) -> Result<(), JsValue> {
        self.inner.grant(&mut session.inner).map_err(selo_err)
    }

    /// True when the lease is held and `session` finished its transitions
    /// under it: publish now.
    #[wasm_bindgen(js_name = readyToPublish)]
    pub fn ready_to_publish(&self, session: &SafraSession) -> bool {
        self.inner.ready_to_publish(&session.inner)
    }

    /// The script call that publishes `session`'s credentials, sealed.
    pub fn publish(&mut self, session: &SafraSession) -> Result<JsValue, JsValue> {
        let c = self
            .inner
            .publish(&session.inner, &mut *self.rng)
            .map_err(selo_err)?;
        Ok(call_out(&c))
    }

    /// Hands over the publish call's integer reply: "published",
    /// "notLeaseOwner", "fenceMovedOn", "generationChanged" or
    /// "storedRecordMalformed" (all but the first counted as a steal:
    /// re-read the record).
    #[wasm_bindgen(js_name = onPublish)]
    pub fn on_publish(
        &mut self,
        session: &SafraSession,
        reply: JsValue,
    ) -> Result<String, JsValue> {
        let r = reply_in(&reply)?;
        Ok(
            match self.inner.on_publish(&session.inner, r).map_err(selo_err)? {
                PublishResult::Published => "published",
                PublishResult::NotLeaseOwner => "notLeaseOwner",
                PublishResult::FenceMovedOn => "fenceMovedOn",
                PublishResult::GenerationChanged => "generationChanged",
                PublishResult::StoredRecordMalformed => "storedRecordMalformed",
            }
            .to_string(),
        )
    }

    /// Gives the lease up (`session`'s transitions stop): the script call
    /// that deletes it if still this instance's, or null.
    pub fn release(&mut self, session: &mut SafraSession) -> JsValue {
        match self.inner.release(&mut session.inner) {
            Some(c) => call_out(&c),
            None => JsValue::NULL,
        }
    }

    /// Hands over the release call's integer reply: "released" or
    /// "notOwner" (counted as a steal).
    #[wasm_bindgen(js_name = onRelease)]
    pub fn on_release(&mut self, reply: JsValue) -> Result<String, JsValue> {
        let r = reply_in(&reply)?;
        Ok(match self.inner.on_release(r).map_err(selo_err)? {
            Release::Released => "released",
            Release::NotOwner => "notOwner",
        }
        .to_string())
    }
}

/// The Redis key of a BMP pending transaction (`docs/shared-state.md` §2).
#[wasm_bindgen(js_name = sharedBmpPendingKey)]
pub fn shared_bmp_pending_key(idempotency_key: &str) -> String {
    selo::shared::bmp_pending_key(idempotency_key)
}

/// How long a BMP pending transaction is kept, in seconds (7 days).
#[wasm_bindgen(js_name = sharedBmpPendingTtlSeconds)]
pub fn shared_bmp_pending_ttl_seconds() -> f64 {
    secs_out(selo::shared::BMP_PENDING_TTL_SECONDS)
}

/// How often an instance waiting for another's transition re-reads the
/// record, in ms.
#[wasm_bindgen(js_name = sharedWaitPollIntervalMs)]
pub fn shared_wait_poll_interval_ms() -> f64 {
    secs_out(selo::shared::WAIT_POLL_INTERVAL_MS)
}

/// The default lease TTL, in ms.
#[wasm_bindgen(js_name = sharedDefaultLeaseTtlMs)]
pub fn shared_default_lease_ttl_ms() -> f64 {
    secs_out(selo::shared::DEFAULT_LEASE_TTL_MS)
}
