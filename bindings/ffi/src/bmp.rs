//! BMP HMAC-SHA512: canonical bodies, money, signing, verification and the
//! partner's confirmation endpoint.

use crate::http::{SeloRequest, SeloResponse};
use crate::{
    FfiError, FfiResult, Out, Rng, SeloBuffer, SeloStatus, alloc_buffer, alloc_string, bytes_arg,
    call, free_handle, guard, handle_mut, handle_ref, new_handle, seeded_rng, str_arg, system_rng,
};
use selo::bmp::{BmpClient, BmpProfile, HmacKey, Money, canonical};
use std::ffi::{CString, c_char, c_void};
use zeroize::Zeroize;

fn profile_arg(p: *const c_char) -> FfiResult<BmpProfile> {
    let s = str_arg(p, "profile_json")?;
    if s.trim().is_empty() {
        Ok(BmpProfile::default())
    } else {
        Ok(BmpProfile::from_json(s)?)
    }
}

/// The partner side of BMP (opaque): the shared key and the profile.
pub struct SeloBmpSigner {
    client: BmpClient,
    key: HmacKey,
    profile: BmpProfile,
    rng: Rng,
}

/// A signer for the shared `key` (128 alphanumeric characters unless the
/// profile relaxes it) and a `BmpProfile` JSON (`""` = SPEC defaults).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_new(
    key: *const c_char,
    profile_json: *const c_char,
    out: *mut *mut SeloBmpSigner,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let profile = profile_arg(profile_json)?;
        let key = HmacKey::new(str_arg(key, "key")?, &profile)?;
        out.write(new_handle(SeloBmpSigner {
            client: BmpClient::new(key.clone(), profile.clone()),
            key,
            profile,
            rng: system_rng(),
        }));
        Ok(())
    })
}

/// Replaces the signer's RNG (idempotency keys) by a seeded ChaCha20 stream
/// (tests only).
///
/// # Safety
/// `seed` points to `seed_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_set_seed(
    signer: *mut SeloBmpSigner,
    seed: *const u8,
    seed_len: usize,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(signer, "signer")?;
        s.rng = seeded_rng(bytes_arg(seed, seed_len, "seed")?)?;
        Ok(())
    })
}

/// Canonicalises a JSON text (SPEC §4.1: minified, member order kept, money
/// with two fraction digits) and signs it. The request (POST `url`, headers
/// `Content-Type`, `IdempotencyKey`, `hmac`; the exact body bytes) is the
/// same on every retry: keep it. The idempotency key is the body's root
/// `idempotencyKey` when present, otherwise a new UUID v4.
///
/// # Safety
/// `url` is NUL-terminated; `json` points to `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_sign_json(
    signer: *mut SeloBmpSigner,
    url: *const c_char,
    json: *const u8,
    len: usize,
    out: *mut *mut SeloRequest,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_mut(signer, "signer")?;
        let url = str_arg(url, "url")?;
        let signed = s
            .client
            .sign_json(bytes_arg(json, len, "json")?, s.rng.as_mut())?;
        out.write(new_handle(SeloRequest::from_prepared(signed.request(url))?));
        Ok(())
    })
}

/// Signs exact body bytes (already canonical) with a given idempotency key.
///
/// # Safety
/// Strings are NUL-terminated; `body` points to `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_sign_bytes(
    signer: *const SeloBmpSigner,
    url: *const c_char,
    body: *const u8,
    len: usize,
    idempotency_key: *const c_char,
    out: *mut *mut SeloRequest,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(signer, "signer")?;
        let url = str_arg(url, "url")?;
        let k = str_arg(idempotency_key, "idempotency_key")?;
        let signed = s
            .client
            .sign_bytes(bytes_arg(body, len, "body")?.to_vec(), k)?;
        out.write(new_handle(SeloRequest::from_prepared(signed.request(url))?));
        Ok(())
    })
}

/// The `hmac` header value for exact body bytes (profile encoding).
///
/// # Safety
/// `body` points to `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_hmac(
    signer: *const SeloBmpSigner,
    body: *const u8,
    len: usize,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(signer, "signer")?;
        let mac = selo::bmp::sign(&s.key, bytes_arg(body, len, "body")?, &s.profile);
        out.write(alloc_string(mac)?);
        Ok(())
    })
}

/// Verifies an `hmac` header value over exact body bytes (constant time;
/// hex in either case, base64 when the profile accepts it). Fails with
/// `bmp.mac.mismatch` or `bmp.mac.encoding`.
///
/// # Safety
/// `hmac` is NUL-terminated; `body` points to `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_signer_verify(
    signer: *const SeloBmpSigner,
    body: *const u8,
    len: usize,
    hmac: *const c_char,
) -> SeloStatus {
    call(|| {
        let s = handle_ref(signer, "signer")?;
        selo::bmp::verify(
            &s.key,
            bytes_arg(body, len, "body")?,
            str_arg(hmac, "hmac")?,
            &s.profile,
        )?;
        Ok(())
    })
}

/// The transaction lookup slot a `SeloBmpLookup` callback fills (opaque).
pub struct SeloBmpOriginal {
    body: Option<Vec<u8>>,
}

impl Drop for SeloBmpOriginal {
    fn drop(&mut self) {
        if let Some(b) = &mut self.body {
            b.zeroize();
        }
    }
}

/// Finds the body originally sent for `idempotency_key`. To answer, call
/// `selo_bmp_original_set(original, bytes, len)` before returning; not
/// calling it means "unknown transaction" (404). Both pointers are valid
/// only during the call.
pub type SeloBmpLookup = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        idempotency_key: *const c_char,
        original: *mut SeloBmpOriginal,
    ),
>;

/// Answers a lookup with the exact original body bytes (copied).
///
/// # Safety
/// `data` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_original_set(
    original: *mut SeloBmpOriginal,
    data: *const u8,
    len: usize,
) -> SeloStatus {
    call(|| {
        let o = handle_mut(original, "original")?;
        o.body = Some(bytes_arg(data, len, "data")?.to_vec());
        Ok(())
    })
}

/// The partner confirmation endpoint (SPEC §4.5): decides the received
/// confirmation `request` (its headers and raw body, never re-serialised)
/// and writes the response to send: 200 with `hmac` over the received
/// bytes, or 404 (unknown transaction), 400 (headers, JSON) or 409 (a value
/// differs) with a JSON `{"code","message"}` body. `*difference_out` is the
/// path of the first differing value for a 409, NULL otherwise. `lookup` is
/// called at most once, synchronously.
///
/// # Safety
/// `lookup` is a valid function pointer; `user_data` is passed through;
/// outs are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_confirm(
    signer: *const SeloBmpSigner,
    request: *const SeloRequest,
    lookup: SeloBmpLookup,
    user_data: *mut c_void,
    response_out: *mut *mut SeloResponse,
    difference_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let response_out = Out::new(response_out, "response_out")?;
        let difference_out = Out::new(difference_out, "difference_out")?;
        let s = handle_ref(signer, "signer")?;
        let r = handle_ref(request, "request")?;
        let Some(lookup) = lookup else {
            return Err(FfiError::null("lookup"));
        };
        let find = |key: &str| -> Option<Vec<u8>> {
            let ckey = CString::new(key).ok()?;
            let slot = new_handle(SeloBmpOriginal { body: None });
            // SAFETY: `lookup` is a valid function pointer by contract; the
            // key and slot pointers are live for the whole call.
            unsafe { lookup(user_data, ckey.as_ptr(), slot) };
            let body = handle_mut(slot, "original")
                .ok()
                .and_then(|o| o.body.take());
            free_handle(slot);
            body
        };
        let c = selo::bmp::confirm(&s.key, &s.profile, r.headers.pairs(), &r.body, &find);
        let difference = match c.difference {
            Some(d) => alloc_string(d)?,
            None => std::ptr::null_mut(),
        };
        let resp = SeloResponse::new(c.status, c.headers, c.body)?;
        response_out.write(new_handle(resp));
        difference_out.write(difference);
        Ok(())
    })
}

/// The confirmation endpoint's answer when the host could not decide (its
/// transaction store failed, its handler broke): 500
/// `{"code":"bmp.confirm.internal","message":…}` with a fixed message —
/// what a host sends instead of an exception's text.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_confirm_internal_response(
    out: *mut *mut SeloResponse,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let c = selo::bmp::ConfirmResponse::internal();
        out.write(new_handle(SeloResponse::new(c.status, c.headers, c.body)?));
        Ok(())
    })
}

/// Frees a signer (key zeroized; NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_bmp_signer_free(signer: *mut SeloBmpSigner) {
    free_handle(signer);
}

/// A new shared key: 128 characters from `[A-Za-z0-9]` (system RNG). A
/// secret: `selo_string_free` zeroizes it.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_generate_key(out: *mut *mut c_char) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = HmacKey::generate(&mut selo::rng::system());
        out.write(alloc_string(k.expose_secret().to_string())?);
        Ok(())
    })
}

/// The canonical body bytes of a JSON text under a profile (`""` = default).
///
/// # Safety
/// `json` points to `len` bytes; `profile_json` NUL-terminated; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_canonical(
    json: *const u8,
    len: usize,
    profile_json: *const c_char,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let profile = profile_arg(profile_json)?;
        let body = canonical::canonical_from_text(bytes_arg(json, len, "json")?, &profile)?;
        out.write(alloc_buffer(body));
        Ok(())
    })
}

/// An amount in integer cents as BMP money text (`134583` → `"1345.83"`);
/// negative amounts fail with `bmp.money.negative`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_money_from_cents(
    cents: i64,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let m = Money::from_cents_signed(cents)?;
        out.write(alloc_string(m.to_json_text())?);
        Ok(())
    })
}

/// A decimal text as BMP money text (`"1345.8"` → `"1345.80"`). More than
/// two fraction digits is `bmp.money.precision` (never rounded), a sign is
/// `bmp.money.negative`, anything but digits and one `.` is `bmp.money.syntax`.
///
/// # Safety
/// `decimal` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_money_parse(
    decimal: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let m = Money::parse(str_arg(decimal, "decimal")?)?;
        out.write(alloc_string(m.to_json_text())?);
        Ok(())
    })
}

/// The amount of a decimal money text in cents (same rules as
/// `selo_bmp_money_parse`; above `INT64_MAX` cents is `bmp.money.range`).
///
/// # Safety
/// `decimal` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_money_cents(decimal: *const c_char, out: *mut i64) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let m = Money::parse(str_arg(decimal, "decimal")?)?;
        let c = i64::try_from(m.cents()).map_err(|_| {
            FfiError::from(selo::bmp::Error::new(
                selo::bmp::Code::MoneyRange,
                "amount exceeds INT64_MAX cents",
            ))
        })?;
        out.write(c);
        Ok(())
    })
}

/// Exact decimal equality of two JSON number texts (`"100.0"` equals
/// `"100.00"`); false for a text that is not a number.
///
/// # Safety
/// `a`, `b` are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_bmp_decimal_eq(a: *const c_char, b: *const c_char) -> bool {
    guard(false, || match (str_arg(a, "a"), str_arg(b, "b")) {
        (Ok(a), Ok(b)) => selo::bmp::decimal_eq(a, b),
        _ => false,
    })
}
