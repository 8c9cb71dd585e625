//! One Safra session shared by many instances (SPEC §5,
//! `docs/shared-state.md`): `selo::safra::share::SafraShare` over the C ABI.
//! The host runs each `SeloScriptCall` on its Redis client (`EVAL script
//! nkeys keys… args…`, or `EVALSHA sha1 …`) and hands the integer reply
//! back; `GET`s of the record key go to `selo_safra_share_on_record`.

use crate::safra::SeloSafraSession;
use crate::{
    FfiResult, Out, Rng, SeloBuffer, SeloStatus, alloc_buffer, alloc_string, bytes_arg, call,
    free_handle, guard, handle_mut, handle_ref, new_handle, str_arg, system_rng,
};
use selo::safra::share::{Acquired, RecordOutcome, SafraShare};
use selo::shared::{PublishResult, Release, ScriptCall};
use std::ffi::{CString, c_char};

/// One instance's view of a shared Safra session (opaque).
pub struct SeloSafraShare {
    inner: SafraShare,
    rng: Rng,
}

/// A script to run on the store (opaque): name, source, SHA-1, keys, args.
pub struct SeloScriptCall {
    name: CString,
    script: CString,
    sha1: CString,
    keys: Vec<CString>,
    args: Vec<CString>,
}

impl SeloScriptCall {
    fn from_call(c: &ScriptCall) -> FfiResult<Self> {
        let text = |s: &str| {
            CString::new(s).map_err(|_| crate::FfiError::arg("a script text holds a NUL byte"))
        };
        Ok(Self {
            name: text(c.name)?,
            script: text(c.script)?,
            sha1: text(&c.sha1())?,
            keys: c.keys.iter().map(|k| text(k)).collect::<FfiResult<_>>()?,
            args: c.args.iter().map(|a| text(a)).collect::<FfiResult<_>>()?,
        })
    }
}

/// What `selo_safra_share_on_record` did with a record.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloRecordOutcome {
    /// No record yet.
    Empty = 0,
    /// The record is the one this instance uses (or older).
    Current = 1,
    /// A newer record: the session took its credentials.
    Adopted = 2,
}

/// What `selo_safra_share_on_publish` found.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloPublishResult {
    /// Published.
    Published = 0,
    /// Refused: the lease is another instance's (it expired).
    NotLeaseOwner = 1,
    /// Refused: the fencing number moved on.
    FenceMovedOn = 2,
    /// Refused: another writer published first.
    GenerationChanged = 3,
    /// Refused: the stored record is not one of ours.
    StoredRecordMalformed = 4,
}

/// A counter of `selo_safra_share_stat`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloShareStat {
    /// Handshakes this instance ran and published.
    Handshakes = 0,
    /// Authentications and renewals this instance ran and published.
    Renewals = 1,
    /// Records adopted from other instances.
    Adopted = 2,
    /// Times the lease was found held by another instance.
    LeaseWaits = 3,
    /// Writes refused because the lease was lost (fenced).
    LeaseSteals = 4,
    /// Store calls that failed (counted by the host).
    StoreErrors = 5,
}

/// A share of fleet `name` sealed under the 32-byte `seal_key`
/// (`safra.shared.name`, `safra.shared.seal_key`).
///
/// # Safety
/// `name` is NUL-terminated; `seal_key` points to `seal_key_len` bytes;
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_new(
    name: *const c_char,
    seal_key: *const u8,
    seal_key_len: usize,
    out: *mut *mut SeloSafraShare,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let name = str_arg(name, "name")?;
        let key = bytes_arg(seal_key, seal_key_len, "seal_key")?;
        let inner = SafraShare::new(name, key)?;
        out.write(new_handle(SeloSafraShare {
            inner,
            rng: system_rng(),
        }));
        Ok(())
    })
}

/// Sets the lease TTL (1 to 600 000 ms; `safra.shared.protocol` else).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_set_lease_ttl_ms(
    share: *mut SeloSafraShare,
    ttl_ms: u64,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(share, "share")?;
        s.inner.set_lease_ttl_ms(ttl_ms)?;
        Ok(())
    })
}

/// The lease TTL in milliseconds (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_lease_ttl_ms(share: *const SeloSafraShare) -> u64 {
    guard(0, || {
        handle_ref(share, "share").map_or(0, |s| s.inner.lease_ttl_ms())
    })
}

/// The key to `GET` for the sealed record (free with `selo_string_free`).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_record_key(
    share: *const SeloSafraShare,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(share, "share")?;
        out.write(alloc_string(s.inner.record_key().to_string())?);
        Ok(())
    })
}

/// Hands over what a `GET` of the record key returned: `record` of
/// `record_len` bytes, or NULL when there was no record. A newer record is
/// opened and adopted by `session`.
///
/// # Safety
/// `record` (when not NULL) points to `record_len` bytes; `outcome_out` is
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_on_record(
    share: *mut SeloSafraShare,
    session: *mut SeloSafraSession,
    record: *const u8,
    record_len: usize,
    outcome_out: *mut u32,
) -> SeloStatus {
    call(|| {
        let outcome_out = Out::new(outcome_out, "outcome_out")?;
        let s = handle_mut(share, "share")?;
        let session = handle_mut(session, "session")?;
        let text = if record.is_null() {
            None
        } else {
            let b = bytes_arg(record, record_len, "record")?;
            Some(std::str::from_utf8(b).map_err(|_| {
                crate::FfiError::from(selo::safra::Error::new(
                    selo::safra::Code::SharedRecordRejected,
                    "the record is not UTF-8 text",
                ))
            })?)
        };
        let o = s.inner.on_record(&mut session.inner, text)?;
        outcome_out.write(match o {
            RecordOutcome::Empty => SeloRecordOutcome::Empty,
            RecordOutcome::Current => SeloRecordOutcome::Current,
            RecordOutcome::Adopted => SeloRecordOutcome::Adopted,
        } as u32);
        Ok(())
    })
}

/// The script call that takes the lease (a fresh owner token).
///
/// # Safety
/// `call_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_acquire(
    share: *mut SeloSafraShare,
    call_out: *mut *mut SeloScriptCall,
) -> SeloStatus {
    call(|| {
        let out = Out::new(call_out, "call_out")?;
        let s = handle_mut(share, "share")?;
        let c = s.inner.acquire(s.rng.as_mut())?;
        out.write(new_handle(SeloScriptCall::from_call(&c)?));
        Ok(())
    })
}

/// Hands over the acquire's integer reply. `*held_out` true: the lease is
/// this instance's (re-read the record, then `selo_safra_share_grant`
/// unless it adopted); false: another instance holds it for
/// `*retry_after_ms_out` more.
///
/// # Safety
/// Out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_on_acquire(
    share: *mut SeloSafraShare,
    reply: i64,
    held_out: *mut bool,
    retry_after_ms_out: *mut u64,
) -> SeloStatus {
    call(|| {
        let held_out = Out::new(held_out, "held_out")?;
        let retry_out = Out::new(retry_after_ms_out, "retry_after_ms_out")?;
        let s = handle_mut(share, "share")?;
        match s.inner.on_acquire(reply)? {
            Acquired::Held => {
                held_out.write(true);
                retry_out.write(0);
            }
            Acquired::Busy { retry_after_ms } => {
                held_out.write(false);
                retry_out.write(retry_after_ms);
            }
        }
        Ok(())
    })
}

/// Lets `session` run transitions (the lease is held, the record re-read).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_grant(
    share: *mut SeloSafraShare,
    session: *mut SeloSafraSession,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(share, "share")?;
        let session = handle_mut(session, "session")?;
        s.inner.grant(&mut session.inner)?;
        Ok(())
    })
}

/// True when the lease is held and `session` finished its transitions:
/// publish now (false for invalid handles).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_ready_to_publish(
    share: *const SeloSafraShare,
    session: *const SeloSafraSession,
) -> bool {
    guard(false, || {
        match (handle_ref(share, "share"), handle_ref(session, "session")) {
            (Ok(s), Ok(session)) => s.inner.ready_to_publish(&session.inner),
            _ => false,
        }
    })
}

/// The script call that publishes `session`'s credentials, sealed at the
/// next generation.
///
/// # Safety
/// `call_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_publish(
    share: *mut SeloSafraShare,
    session: *const SeloSafraSession,
    call_out: *mut *mut SeloScriptCall,
) -> SeloStatus {
    call(|| {
        let out = Out::new(call_out, "call_out")?;
        let s = handle_mut(share, "share")?;
        let session = handle_ref(session, "session")?;
        let c = s.inner.publish(&session.inner, s.rng.as_mut())?;
        out.write(new_handle(SeloScriptCall::from_call(&c)?));
        Ok(())
    })
}

/// Hands over the publish's integer reply (`SeloPublishResult` in
/// `*result_out`; a refusal is counted as a steal: re-read the record).
///
/// # Safety
/// `result_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_on_publish(
    share: *mut SeloSafraShare,
    session: *const SeloSafraSession,
    reply: i64,
    result_out: *mut u32,
) -> SeloStatus {
    call(|| {
        let out = Out::new(result_out, "result_out")?;
        let s = handle_mut(share, "share")?;
        let session = handle_ref(session, "session")?;
        let r = s.inner.on_publish(&session.inner, reply)?;
        out.write(match r {
            PublishResult::Published => SeloPublishResult::Published,
            PublishResult::NotLeaseOwner => SeloPublishResult::NotLeaseOwner,
            PublishResult::FenceMovedOn => SeloPublishResult::FenceMovedOn,
            PublishResult::GenerationChanged => SeloPublishResult::GenerationChanged,
            PublishResult::StoredRecordMalformed => SeloPublishResult::StoredRecordMalformed,
        } as u32);
        Ok(())
    })
}

/// Gives the lease up (`session`'s transitions stop). `*call_out` is the
/// script call that deletes the lease if still ours, or NULL when there is
/// nothing to release.
///
/// # Safety
/// `call_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_release(
    share: *mut SeloSafraShare,
    session: *mut SeloSafraSession,
    call_out: *mut *mut SeloScriptCall,
) -> SeloStatus {
    call(|| {
        let out = Out::new(call_out, "call_out")?;
        let s = handle_mut(share, "share")?;
        let session = handle_mut(session, "session")?;
        match s.inner.release(&mut session.inner) {
            Some(c) => out.write(new_handle(SeloScriptCall::from_call(&c)?)),
            None => out.write(std::ptr::null_mut()),
        }
        Ok(())
    })
}

/// Hands over the release's integer reply (`*released_out` false: the lease
/// had expired or been taken — counted as a steal).
///
/// # Safety
/// `released_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_share_on_release(
    share: *mut SeloSafraShare,
    reply: i64,
    released_out: *mut bool,
) -> SeloStatus {
    call(|| {
        let out = Out::new(released_out, "released_out")?;
        let s = handle_mut(share, "share")?;
        out.write(s.inner.on_release(reply)? == Release::Released);
        Ok(())
    })
}

/// Counts a failed store call (the host raises `shared.store_unavailable`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_store_error(share: *mut SeloSafraShare) -> SeloStatus {
    call(|| {
        handle_mut(share, "share")?.inner.store_error();
        Ok(())
    })
}

/// A counter (`SeloShareStat`); 0 for an invalid handle or counter.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_stat(share: *const SeloSafraShare, which: u32) -> u64 {
    guard(0, || {
        let Ok(s) = handle_ref(share, "share") else {
            return 0;
        };
        let st = s.inner.stats();
        match which {
            0 => st.handshakes,
            1 => st.renewals,
            2 => st.adopted,
            3 => st.lease_waits,
            4 => st.lease_steals,
            5 => st.store_errors,
            _ => 0,
        }
    })
}

/// The record generation this instance uses (0: none; 0 for an invalid
/// handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_adopted_generation(share: *const SeloSafraShare) -> u64 {
    guard(0, || {
        handle_ref(share, "share").map_or(0, |s| s.inner.adopted_generation())
    })
}

/// True while this instance holds the lease.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_holds_lease(share: *const SeloSafraShare) -> bool {
    guard(false, || {
        handle_ref(share, "share").is_ok_and(|s| s.inner.holds_lease())
    })
}

/// Frees a share (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_share_free(share: *mut SeloSafraShare) {
    free_handle(share);
}

/// The script's name (`LEASE_ACQUIRE`, …); valid until the call is freed.
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_name(c: *const SeloScriptCall) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(c, "call").map_or(std::ptr::null(), |c| c.name.as_ptr())
    })
}

/// The script's Lua source (for `EVAL` or `SCRIPT LOAD`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_script(c: *const SeloScriptCall) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(c, "call").map_or(std::ptr::null(), |c| c.script.as_ptr())
    })
}

/// The script's SHA-1 in hex (for `EVALSHA`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_sha1(c: *const SeloScriptCall) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(c, "call").map_or(std::ptr::null(), |c| c.sha1.as_ptr())
    })
}

/// How many `KEYS` the call passes.
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_key_count(c: *const SeloScriptCall) -> usize {
    guard(0, || handle_ref(c, "call").map_or(0, |c| c.keys.len()))
}

/// `KEYS[index + 1]`; NULL past the last.
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_key_at(c: *const SeloScriptCall, index: usize) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(c, "call")
            .ok()
            .and_then(|c| c.keys.get(index))
            .map_or(std::ptr::null(), |k| k.as_ptr())
    })
}

/// How many `ARGV` the call passes.
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_arg_count(c: *const SeloScriptCall) -> usize {
    guard(0, || handle_ref(c, "call").map_or(0, |c| c.args.len()))
}

/// `ARGV[index + 1]`; NULL past the last.
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_arg_at(c: *const SeloScriptCall, index: usize) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(c, "call")
            .ok()
            .and_then(|c| c.args.get(index))
            .map_or(std::ptr::null(), |a| a.as_ptr())
    })
}

/// Frees a script call (NULL and invalid handles ignored). The publish
/// call's arguments hold the sealed record only (never plaintext secrets).
#[unsafe(no_mangle)]
pub extern "C" fn selo_script_call_free(c: *mut SeloScriptCall) {
    free_handle(c);
}

// --------------------------------------------------------------------------
// The session side of sharing.

/// Shares the session with other instances: transitions run only while
/// the lease is granted (`selo_safra_share_grant`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_set_shared(
    session: *mut SeloSafraSession,
    shared: bool,
) -> SeloStatus {
    call(|| {
        handle_mut(session, "session")?.inner.set_shared(shared);
        Ok(())
    })
}

/// True when an operation of a shared session needs the lease (false for
/// an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_wants_lease(session: *const SeloSafraSession) -> bool {
    guard(false, || {
        handle_ref(session, "session").is_ok_and(|s| s.inner.wants_lease())
    })
}

/// True when request `request_id` is a transition (handshake stage,
/// psd005, psd007) in flight.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_is_transition(
    session: *const SeloSafraSession,
    request_id: u64,
) -> bool {
    guard(false, || {
        handle_ref(session, "session")
            .is_ok_and(|s| s.inner.is_transition(selo::safra::RequestId(request_id)))
    })
}

/// The credentials business calls need, as JSON (secret: seal it before it
/// leaves the process; `selo_safra_share_publish` does). Free with
/// `selo_buffer_free`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_export_credentials(
    session: *const SeloSafraSession,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(session, "session")?;
        let blob = s.inner.export_credentials()?;
        out.write(alloc_buffer(blob.to_vec()));
        Ok(())
    })
}

/// Takes over credentials another instance exported.
///
/// # Safety
/// `data` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_adopt_credentials(
    session: *mut SeloSafraSession,
    data: *const u8,
    len: usize,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(session, "session")?;
        let b = bytes_arg(data, len, "data")?;
        s.inner.adopt_credentials(b)?;
        Ok(())
    })
}

/// The store key of a BMP pending transaction (free with `selo_string_free`).
///
/// # Safety
/// `idempotency_key` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_shared_bmp_pending_key(
    idempotency_key: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = str_arg(idempotency_key, "idempotency_key")?;
        out.write(alloc_string(selo::shared::bmp_pending_key(k))?);
        Ok(())
    })
}
