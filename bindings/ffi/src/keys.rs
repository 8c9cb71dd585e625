//! RSA keys: import (PEM or DER: PKCS#8, PKCS#1, SPKI, X.509), generate,
//! export, JWK.

use crate::{
    FfiError, Out, SeloBuffer, SeloStatus, alloc_buffer, alloc_string, bytes_arg, call,
    free_handle, guard, handle_ref, new_handle, str_arg,
};
use selo::keys::jwk::Jwk;
use selo::keys::{KeyFormat, RsaPrivateKey, RsaPublicKey};
use std::ffi::c_char;

/// An RSA private key (opaque; zeroized when freed).
pub struct SeloPrivateKey {
    pub(crate) inner: RsaPrivateKey,
}

/// An RSA public key (opaque).
pub struct SeloPublicKey {
    pub(crate) inner: RsaPublicKey,
}

/// Imports a private key from PEM or DER (PKCS#8 or PKCS#1). The error
/// (`key.import.*`) names the format detected and why it failed.
///
/// # Safety
/// `data` points to `len` readable bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_private_key_import(
    data: *const u8,
    len: usize,
    out: *mut *mut SeloPrivateKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = RsaPrivateKey::import(bytes_arg(data, len, "data")?)?;
        out.write(new_handle(SeloPrivateKey { inner }));
        Ok(())
    })
}

/// Generates a key of `bits` (1024, 2048, 3072 or 4096) with the system RNG.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_private_key_generate(
    bits: u32,
    out: *mut *mut SeloPrivateKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = RsaPrivateKey::generate(bits as usize, &mut selo::rng::system())?;
        out.write(new_handle(SeloPrivateKey { inner }));
        Ok(())
    })
}

/// The modulus size in bits (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_private_key_bits(key: *const SeloPrivateKey) -> usize {
    guard(0, || handle_ref(key, "key").map_or(0, |k| k.inner.bits()))
}

/// The public half of a private key.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_private_key_public(
    key: *const SeloPrivateKey,
    out: *mut *mut SeloPublicKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(key, "key")?;
        out.write(new_handle(SeloPublicKey {
            inner: k.inner.public_key(),
        }));
        Ok(())
    })
}

/// The key as PKCS#8 PEM text (a secret: free it with `selo_string_free`,
/// which zeroizes).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_private_key_to_pkcs8_pem(
    key: *const SeloPrivateKey,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(key, "key")?;
        let pem = k.inner.to_pkcs8_pem()?;
        out.write(alloc_string(pem.to_string())?);
        Ok(())
    })
}

/// Frees a private key (zeroized; NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_private_key_free(key: *mut SeloPrivateKey) {
    free_handle(key);
}

/// Imports a public key from PEM or DER (SPKI, PKCS#1, X.509 certificate).
///
/// # Safety
/// `data` points to `len` readable bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_public_key_import(
    data: *const u8,
    len: usize,
    out: *mut *mut SeloPublicKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = RsaPublicKey::import(bytes_arg(data, len, "data")?)?;
        out.write(new_handle(SeloPublicKey { inner }));
        Ok(())
    })
}

/// The modulus size in bits (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_public_key_bits(key: *const SeloPublicKey) -> usize {
    guard(0, || handle_ref(key, "key").map_or(0, |k| k.inner.bits()))
}

/// Encodes the key as `format`: `"der-spki"`, `"pem-spki"` or `"der-pkcs1"`.
///
/// # Safety
/// `format` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_public_key_encode(
    key: *const SeloPublicKey,
    format: *const c_char,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(key, "key")?;
        let f = str_arg(format, "format")?;
        let fmt = KeyFormat::parse(f).ok_or_else(|| {
            FfiError::arg(format!(
                "format: expected der-spki, pem-spki or der-pkcs1, found {f:?}"
            ))
        })?;
        out.write(alloc_buffer(k.inner.encode(fmt)?));
        Ok(())
    })
}

/// True (1) when both keys are the same public key; 0 otherwise or for an
/// invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_public_key_equals(a: *const SeloPublicKey, b: *const SeloPublicKey) -> bool {
    guard(false, || match (handle_ref(a, "a"), handle_ref(b, "b")) {
        (Ok(a), Ok(b)) => a.inner == b.inner,
        _ => false,
    })
}

/// The public JWK as JSON text with `kid` (an empty `kid` means the RFC 7638
/// thumbprint), `"alg":"PS256"` and `"use":"sig"`.
///
/// # Safety
/// `kid` is a NUL-terminated string; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_public_key_to_jwk(
    key: *const SeloPublicKey,
    kid: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(key, "key")?;
        let kid = str_arg(kid, "kid")?;
        let jwk = Jwk::from_public(&k.inner).with_alg("PS256").with_use("sig");
        let jwk = if kid.is_empty() {
            jwk.with_thumbprint_kid()?
        } else {
            jwk.with_kid(kid)
        };
        out.write(alloc_string(jwk.to_json()?.to_string())?);
        Ok(())
    })
}

/// Frees a public key (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_public_key_free(key: *mut SeloPublicKey) {
    free_handle(key);
}
