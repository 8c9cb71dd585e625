//! # selo-ffi — the C ABI over selo
//!
//! Conventions (ARCHITECTURE.md, "Rules of the bindings"; rustls-ffi is the
//! model):
//!
//! - Every fallible function returns a [`SeloStatus`]: `SELO_OK` (0) or one
//!   value per error family. The values are never renumbered.
//! - After a failure, [`selo_last_error_code`] and [`selo_last_error_message`]
//!   give the stable dotted code (`"safra.envelope.reused_iv"`) and the human
//!   message, for the calling thread. Every status-returning call resets them.
//! - Outputs (`out` pointers) are written only on success.
//! - Strings are UTF-8 and NUL-terminated. Strings selo returns are freed by
//!   [`selo_string_free`], byte buffers ([`SeloBuffer`]) by
//!   [`selo_buffer_free`]; both zeroize before freeing; NULL, a double free
//!   and a pointer selo never returned are all ignored.
//! - Objects are opaque handles with `_new`/`_free` (and other
//!   constructors). A handle is checked against a registry on every call:
//!   NULL, a freed handle or a handle of another type is an error, never a
//!   crash. A handle must not be used by two threads at the same time.
//! - Every entry point runs inside `catch_unwind`: a panic becomes
//!   `SELO_ERR_PANIC`, it never unwinds into the host.
//! - Times are `int64_t` Unix seconds (negative is refused).
//! - A byte input is a pointer and a length; a NULL pointer is allowed only
//!   with length 0.

#![warn(missing_docs)]

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::{LazyLock, Mutex, MutexGuard};
use zeroize::Zeroize;

pub mod bmp;
pub mod br;
pub mod http;
pub mod jwks_cache;
pub mod keys;
pub mod ofb;
pub mod safra;
pub mod safra_share;

/// The status every fallible function returns. Values are stable: new
/// families get new numbers, existing ones never change.
///
/// cbindgen:prefix-with-name=false
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum SeloStatus {
    /// Success.
    SELO_OK = 0,
    /// A required pointer argument was NULL (code `ffi.null_argument`).
    SELO_ERR_NULL_ARGUMENT = 1,
    /// A string argument was not UTF-8 (code `ffi.invalid_utf8`).
    SELO_ERR_INVALID_UTF8 = 2,
    /// An argument is outside its domain (code `ffi.invalid_argument`).
    SELO_ERR_INVALID_ARGUMENT = 3,
    /// A handle is freed, of another type, or was never returned by selo
    /// (code `ffi.invalid_handle`).
    SELO_ERR_INVALID_HANDLE = 4,
    /// selo panicked; the panic was caught (code `ffi.panic`).
    SELO_ERR_PANIC = 5,
    /// Key import, export, generation (codes `key.*`).
    SELO_ERR_KEY = 10,
    /// Cryptographic operation (codes `crypto.*`).
    SELO_ERR_CRYPTO = 11,
    /// Banco Safra PSD (codes `safra.*`).
    SELO_ERR_SAFRA = 12,
    /// Open Finance Brasil JWS (codes `ofb.*`).
    SELO_ERR_OFB = 13,
    /// BMP HMAC (codes `bmp.*`).
    SELO_ERR_BMP = 14,
    /// Brazilian identifiers (codes `br.*`).
    SELO_ERR_BR = 15,
}

use SeloStatus::*;

/// The codes of the binding's own errors (not in the core's table).
pub const FFI_CODES: [&str; 5] = [
    "ffi.null_argument",
    "ffi.invalid_utf8",
    "ffi.invalid_argument",
    "ffi.invalid_handle",
    "ffi.panic",
];

/// A byte buffer returned by selo. Free it with [`selo_buffer_free`].
/// An empty buffer has `data == NULL` and `len == 0`.
#[repr(C)]
#[derive(Debug)]
pub struct SeloBuffer {
    /// The bytes (NULL when empty).
    pub data: *mut u8,
    /// Their count.
    pub len: usize,
}

/// An error on its way to the host.
#[derive(Debug)]
pub(crate) struct FfiError {
    status: SeloStatus,
    code: &'static str,
    message: String,
}

impl FfiError {
    pub(crate) fn null(what: &str) -> Self {
        Self {
            status: SELO_ERR_NULL_ARGUMENT,
            code: "ffi.null_argument",
            message: format!("argument `{what}` is NULL"),
        }
    }
    pub(crate) fn utf8(what: &str) -> Self {
        Self {
            status: SELO_ERR_INVALID_UTF8,
            code: "ffi.invalid_utf8",
            message: format!("argument `{what}` is not valid UTF-8"),
        }
    }
    pub(crate) fn arg(message: impl Into<String>) -> Self {
        Self {
            status: SELO_ERR_INVALID_ARGUMENT,
            code: "ffi.invalid_argument",
            message: message.into(),
        }
    }
    fn handle(what: &str) -> Self {
        Self {
            status: SELO_ERR_INVALID_HANDLE,
            code: "ffi.invalid_handle",
            message: format!(
                "argument `{what}` is not a live handle of the expected type (freed, foreign or of another type)"
            ),
        }
    }
    fn panic(detail: &str) -> Self {
        Self {
            status: SELO_ERR_PANIC,
            code: "ffi.panic",
            message: format!("selo panicked (caught at the C boundary): {detail}"),
        }
    }
}

impl From<selo::Error> for FfiError {
    fn from(e: selo::Error) -> Self {
        let status = match e.code().split('.').next() {
            Some("key") => SELO_ERR_KEY,
            Some("crypto") => SELO_ERR_CRYPTO,
            Some("safra") => SELO_ERR_SAFRA,
            Some("ofb") => SELO_ERR_OFB,
            Some("bmp") => SELO_ERR_BMP,
            Some("br") => SELO_ERR_BR,
            _ => SELO_ERR_INVALID_ARGUMENT,
        };
        Self {
            status,
            code: e.code(),
            message: e.message().to_string(),
        }
    }
}

macro_rules! from_area {
    ($($t:ty),*) => {$(
        impl From<$t> for FfiError {
            fn from(e: $t) -> Self { selo::Error::from(e).into() }
        }
    )*};
}
from_area!(
    selo::keys::Error,
    selo::crypto::Error,
    selo::safra::Error,
    selo::ofb::Error,
    selo::bmp::Error,
    selo::br::Error
);

pub(crate) type FfiResult<T> = Result<T, FfiError>;

// ---------------------------------------------------------------------------
// The per-thread last error.

struct LastError {
    code: CString,
    message: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn c_string_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn set_last_error(e: &FfiError) {
    let last = LastError {
        code: c_string_lossy(e.code),
        message: c_string_lossy(&e.message),
    };
    LAST_ERROR.with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            *slot = Some(last);
        }
    });
}

fn clear_last_error() {
    LAST_ERROR.with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            *slot = None;
        }
    });
}

fn panic_detail(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

/// Runs a status-returning entry point: resets the thread's last error,
/// catches panics, records the error.
pub(crate) fn call(f: impl FnOnce() -> FfiResult<()>) -> SeloStatus {
    clear_last_error();
    let e = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            // A nested call (a host callback calling back into selo) may
            // have failed on its own: the outer success is what counts.
            clear_last_error();
            return SELO_OK;
        }
        Ok(Err(e)) => e,
        Err(payload) => FfiError::panic(&panic_detail(payload.as_ref())),
    };
    set_last_error(&e);
    e.status
}

/// Runs an entry point that returns a plain value (accessors, frees):
/// catches panics and answers `fallback` instead.
pub(crate) fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The stable dotted code of the calling thread's last error (for example
/// `"safra.envelope.reused_iv"`), or NULL when the last status-returning call
/// succeeded. The pointer is valid until the next status-returning selo call
/// on this thread; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn selo_last_error_code() -> *const c_char {
    guard(std::ptr::null(), || {
        LAST_ERROR.with(|l| match l.try_borrow() {
            Ok(slot) => slot.as_ref().map_or(std::ptr::null(), |e| e.code.as_ptr()),
            Err(_) => std::ptr::null(),
        })
    })
}

/// The human message of the calling thread's last error (what was
/// expected, what was found; never key material), or NULL. Same lifetime as
/// [`selo_last_error_code`].
#[unsafe(no_mangle)]
pub extern "C" fn selo_last_error_message() -> *const c_char {
    guard(std::ptr::null(), || {
        LAST_ERROR.with(|l| match l.try_borrow() {
            Ok(slot) => slot
                .as_ref()
                .map_or(std::ptr::null(), |e| e.message.as_ptr()),
            Err(_) => std::ptr::null(),
        })
    })
}

// ---------------------------------------------------------------------------
// Registries: live handles (with their type) and live allocations.
// BTreeMaps rather than HashMaps: their nodes are referenced from the start,
// so leak checkers see the (process-lifetime) registries as reachable.

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static HANDLES: LazyLock<Mutex<BTreeMap<usize, TypeId>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));
static STRINGS: LazyLock<Mutex<BTreeMap<usize, ()>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));
static BUFFERS: LazyLock<Mutex<BTreeMap<usize, usize>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// Boxes `v` and registers it as a live handle of type `T`.
pub(crate) fn new_handle<T: 'static>(v: T) -> *mut T {
    let p = Box::into_raw(Box::new(v));
    lock(&HANDLES).insert(p as usize, TypeId::of::<T>());
    p
}

fn is_live<T: 'static>(p: *const T) -> bool {
    lock(&HANDLES).get(&(p as usize)) == Some(&TypeId::of::<T>())
}

/// Borrows a handle after checking it is live and of type `T`.
pub(crate) fn handle_ref<'a, T: 'static>(p: *const T, what: &str) -> FfiResult<&'a T> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    if !is_live(p) {
        return Err(FfiError::handle(what));
    }
    // SAFETY: `p` is registered as a live `T`: it came from `new_handle::<T>`
    // (Box::into_raw) and has not been freed (freeing unregisters it first).
    // The host promises not to use a handle from two threads at once.
    Ok(unsafe { &*p })
}

/// Mutably borrows a handle after checking it is live and of type `T`.
pub(crate) fn handle_mut<'a, T: 'static>(p: *mut T, what: &str) -> FfiResult<&'a mut T> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    if !is_live(p) {
        return Err(FfiError::handle(what));
    }
    // SAFETY: as in `handle_ref`; exclusive use is the host's promise (one
    // thread per handle at a time), and no other borrow of it is held by selo.
    Ok(unsafe { &mut *p })
}

/// Frees a handle if it is live and of type `T`; anything else is ignored.
pub(crate) fn free_handle<T: 'static>(p: *mut T) {
    guard((), || {
        if p.is_null() {
            return;
        }
        let removed = {
            let mut h = lock(&HANDLES);
            if h.get(&(p as usize)) == Some(&TypeId::of::<T>()) {
                h.remove(&(p as usize));
                true
            } else {
                false
            }
        };
        if removed {
            // SAFETY: `p` was registered as a live `T` created by
            // `Box::into_raw` in `new_handle`; it is now unregistered, so this
            // is the only reconstruction of the box.
            drop(unsafe { Box::from_raw(p) });
        }
    });
}

/// A NUL-terminated string for the host; registered for `selo_string_free`.
///
/// The text is copied once into an allocation with room for the NUL (so
/// `CString` never reallocates and leaves a stray copy behind) and the
/// source is zeroized: PEM private keys, JWKs and session data take this
/// path, and `selo_string_free` zeroizes the copy the host got.
pub(crate) fn alloc_string(s: String) -> FfiResult<*mut c_char> {
    let s = zeroize::Zeroizing::new(s);
    let mut v = Vec::with_capacity(s.len().saturating_add(1));
    v.extend_from_slice(s.as_bytes());
    let c = CString::new(v).map_err(|e| {
        let mut v = e.into_vec();
        v.zeroize();
        FfiError::arg("output text contains a NUL byte")
    })?;
    let p = c.into_raw();
    lock(&STRINGS).insert(p as usize, ());
    Ok(p)
}

/// A byte buffer for the host; registered for `selo_buffer_free`.
pub(crate) fn alloc_buffer(v: Vec<u8>) -> SeloBuffer {
    if v.is_empty() {
        return SeloBuffer {
            data: std::ptr::null_mut(),
            len: 0,
        };
    }
    // `into_boxed_slice` would reallocate (and free an unzeroized copy)
    // when there is spare capacity: copy exactly, then zeroize the source.
    let boxed = if v.capacity() == v.len() {
        v.into_boxed_slice()
    } else {
        let mut v = v;
        let exact: Box<[u8]> = v.as_slice().into();
        v.zeroize();
        exact
    };
    let len = boxed.len();
    let data = Box::into_raw(boxed).cast::<u8>();
    lock(&BUFFERS).insert(data as usize, len);
    SeloBuffer { data, len }
}

/// Frees (after zeroizing) a string returned by selo. NULL, a second free
/// and a pointer selo did not return are ignored.
///
/// # Safety
/// `s` is NULL or a pointer; it is dereferenced only if selo returned it
/// and it was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_string_free(s: *mut c_char) {
    guard((), || {
        if s.is_null() || lock(&STRINGS).remove(&(s as usize)).is_none() {
            return;
        }
        // SAFETY: `s` was registered by `alloc_string`, which got it from
        // `CString::into_raw`; it was just unregistered, so this is the only
        // reconstruction.
        let c = unsafe { CString::from_raw(s) };
        let mut bytes = c.into_bytes_with_nul();
        bytes.zeroize();
    });
}

/// Frees (after zeroizing) a buffer returned by selo and resets `*buf` to
/// empty. NULL, an empty buffer, a second free and a buffer selo did not
/// return are ignored.
///
/// # Safety
/// `buf` is NULL or points to a writable `SeloBuffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_buffer_free(buf: *mut SeloBuffer) {
    guard((), || {
        if buf.is_null() {
            return;
        }
        // SAFETY: `buf` is non-NULL and, by contract, points to a SeloBuffer.
        let b = unsafe { &mut *buf };
        let data = b.data;
        b.data = std::ptr::null_mut();
        b.len = 0;
        if data.is_null() {
            return;
        }
        let Some(len) = lock(&BUFFERS).remove(&(data as usize)) else {
            return;
        };
        // SAFETY: `data`/`len` were registered by `alloc_buffer` from a
        // `Box<[u8]>` of exactly `len` bytes; unregistered just now, so this
        // is the only reconstruction.
        let mut boxed = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) };
        boxed.zeroize();
    });
}

// ---------------------------------------------------------------------------
// Argument helpers.

/// A NUL-terminated UTF-8 string argument.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &str) -> FfiResult<&'a str> {
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: `p` is non-NULL and by contract points to a NUL-terminated
    // string that outlives this call.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| FfiError::utf8(what))
}

/// A byte argument: pointer and length (NULL allowed only with length 0).
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    if len > isize::MAX as usize {
        return Err(FfiError::arg(format!(
            "argument `{what}`: length too large"
        )));
    }
    // SAFETY: `p` is non-NULL and by contract points to `len` readable bytes
    // that outlive this call; `len` fits in isize.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An output pointer, checked before any work so outputs are written only
/// on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    pub(crate) fn new(p: *mut T, what: &str) -> FfiResult<Self> {
        NonNull::new(p).map(Out).ok_or_else(|| FfiError::null(what))
    }
    pub(crate) fn write(self, v: T) {
        // SAFETY: non-NULL, and by contract points to writable memory for a
        // `T`; `write` does not read or drop the previous contents.
        unsafe { self.0.as_ptr().write(v) }
    }
}

/// A Unix time in seconds; negative values are refused.
pub(crate) fn time_arg(t: i64, what: &str) -> FfiResult<u64> {
    u64::try_from(t).map_err(|_| FfiError::arg(format!("argument `{what}`: negative time {t}")))
}

/// Randomness owned by a handle.
pub(crate) type Rng = Box<dyn selo::rng::CryptoRng + Send>;

pub(crate) fn system_rng() -> Rng {
    Box::new(selo::rng::system())
}

pub(crate) fn seeded_rng(seed: &[u8]) -> FfiResult<Rng> {
    let arr: [u8; 32] = seed
        .try_into()
        .map_err(|_| FfiError::arg(format!("seed: expected 32 bytes, found {}", seed.len())))?;
    Ok(Box::new(selo::rng::seeded(arr)))
}

// ---------------------------------------------------------------------------
// Library-wide queries.

static CORE_CODES: LazyLock<Vec<CString>> =
    LazyLock::new(|| selo::all_codes().into_iter().map(c_string_lossy).collect());
static FFI_CODES_C: LazyLock<Vec<CString>> =
    LazyLock::new(|| FFI_CODES.iter().map(|c| c_string_lossy(c)).collect());
static HOST_CODES_C: LazyLock<Vec<CString>> =
    LazyLock::new(|| selo::host_codes().into_iter().map(c_string_lossy).collect());
static VERSION: LazyLock<CString> = LazyLock::new(|| c_string_lossy(env!("CARGO_PKG_VERSION")));

/// The number of stable error codes in the core's table (`selo::all_codes()`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_error_code_count() -> usize {
    guard(0, || CORE_CODES.len())
}

/// The `index`-th code of the core's table, or NULL past the end. Static
/// storage: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn selo_error_code_at(index: usize) -> *const c_char {
    guard(std::ptr::null(), || {
        CORE_CODES
            .get(index)
            .map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// The core's table of error codes as one string, codes separated by `\n`
/// (free with [`selo_string_free`]).
///
/// # Safety
/// `out` must point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_error_codes(out: *mut *mut c_char) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        out.write(alloc_string(selo::all_codes().join("\n"))?);
        Ok(())
    })
}

/// The number of the binding's own codes (`ffi.*`).
#[unsafe(no_mangle)]
pub extern "C" fn selo_ffi_error_code_count() -> usize {
    guard(0, || FFI_CODES_C.len())
}

/// The `index`-th `ffi.*` code, or NULL past the end. Static storage.
#[unsafe(no_mangle)]
pub extern "C" fn selo_ffi_error_code_at(index: usize) -> *const c_char {
    guard(std::ptr::null(), || {
        FFI_CODES_C
            .get(index)
            .map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// The number of codes raised only by the host-language layers of the selo
/// packages (HTTP drivers, JWKS fetchers, the wrappers' loaders and handles),
/// never by this library: `selo::HOST_CODES`.
#[unsafe(no_mangle)]
pub extern "C" fn selo_host_error_code_count() -> usize {
    guard(0, || HOST_CODES_C.len())
}

/// The `index`-th host-layer code, or NULL past the end. Static storage.
#[unsafe(no_mangle)]
pub extern "C" fn selo_host_error_code_at(index: usize) -> *const c_char {
    guard(std::ptr::null(), || {
        HOST_CODES_C
            .get(index)
            .map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// The library version (`SELO_VERSION_STRING`, the workspace version). Static storage.
#[unsafe(no_mangle)]
pub extern "C" fn selo_version() -> *const c_char {
    guard(std::ptr::null(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_core_errors_follows_the_area() {
        let e: FfiError = selo::bmp::Money::parse("1.234").unwrap_err().into();
        assert_eq!(e.status, SELO_ERR_BMP);
        assert_eq!(e.code, "bmp.money.precision");
    }

    #[test]
    fn the_three_code_lists_are_disjoint() {
        let core = selo::all_codes();
        let host = selo::host_codes();
        for c in FFI_CODES {
            assert!(
                !core.contains(&c) && !host.contains(&c),
                "{c} is in two lists"
            );
        }
        assert_eq!(selo_host_error_code_count(), host.len());
        assert!(selo_host_error_code_at(host.len()).is_null());
    }

    #[test]
    fn panics_become_a_status() {
        #[allow(clippy::panic)]
        let s = call(|| panic!("boom"));
        assert_eq!(s, SELO_ERR_PANIC);
        // SAFETY: the pointer is a live thread-local C string.
        let code = unsafe { CStr::from_ptr(selo_last_error_code()) };
        assert_eq!(code.to_str().unwrap(), "ffi.panic");
    }
}
