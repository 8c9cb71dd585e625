//! HTTP messages as plain data, readable and buildable from C.
//!
//! A [`SeloRequest`] is what selo asks the host to send (Safra
//! `prepare_next`, BMP signing) or what the host received (the bank role,
//! BMP confirmation, OFB server). A [`SeloResponse`] is what the host
//! received (Safra `handle_response`) or must send (bank role, BMP
//! confirmation). Accessors return borrowed pointers valid until the handle
//! is freed or modified.

use crate::{
    FfiResult, Out, SeloStatus, bytes_arg, call, free_handle, guard, handle_mut, handle_ref,
    new_handle, str_arg,
};
use selo::http::{PreparedRequest, ReceivedResponse};
use std::ffi::{CString, c_char};
use zeroize::Zeroize;

/// Header storage: the Rust pair for selo and C strings for the accessors.
#[derive(Default)]
pub(crate) struct Headers {
    pairs: Vec<(String, String)>,
    c: Vec<(CString, CString)>,
}

impl Headers {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> FfiResult<Self> {
        let mut h = Headers::default();
        for (n, v) in pairs {
            h.push(n, v)?;
        }
        Ok(h)
    }
    fn push(&mut self, name: String, mut value: String) -> FfiResult<()> {
        let cn =
            c_copy(&name).map_err(|_| crate::FfiError::arg("header name contains a NUL byte"))?;
        let cv = match c_copy(&value) {
            Ok(c) => c,
            Err(()) => {
                value.zeroize();
                return Err(crate::FfiError::arg("header value contains a NUL byte"));
            }
        };
        self.pairs.push((name, value));
        self.c.push((cn, cv));
        Ok(())
    }
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
    fn name(&self, i: usize) -> *const c_char {
        self.c.get(i).map_or(std::ptr::null(), |(n, _)| n.as_ptr())
    }
    fn value(&self, i: usize) -> *const c_char {
        self.c.get(i).map_or(std::ptr::null(), |(_, v)| v.as_ptr())
    }
    fn get(&self, name: &str) -> Option<&str> {
        selo::http::header_value(&self.pairs, name)
    }
}

/// A C copy of `s` allocated once at its final size (a header value may be
/// the bearer token: no reallocation may leave a copy behind).
fn c_copy(s: &str) -> Result<CString, ()> {
    let mut v = Vec::with_capacity(s.len().saturating_add(1));
    v.extend_from_slice(s.as_bytes());
    CString::new(v).map_err(|e| {
        let mut v = e.into_vec();
        v.zeroize();
    })
}

impl Drop for Headers {
    /// Header values may hold the bearer token: wiped, both copies.
    fn drop(&mut self) {
        for (_, v) in &mut self.pairs {
            v.zeroize();
        }
        for (_, v) in self.c.drain(..) {
            let mut b = v.into_bytes_with_nul();
            b.zeroize();
        }
    }
}

/// An HTTP request (opaque).
pub struct SeloRequest {
    method: CString,
    url: CString,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
    pub(crate) resendable: bool,
}

impl Drop for SeloRequest {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl SeloRequest {
    pub(crate) fn from_prepared(r: PreparedRequest) -> FfiResult<Self> {
        let PreparedRequest {
            method,
            url,
            headers,
            body,
            resendable,
        } = r;
        Ok(SeloRequest {
            method: CString::new(method)
                .map_err(|_| crate::FfiError::arg("method contains a NUL byte"))?,
            url: CString::new(url).map_err(|_| crate::FfiError::arg("url contains a NUL byte"))?,
            headers: Headers::from_pairs(headers)?,
            body,
            resendable,
        })
    }
    pub(crate) fn method_str(&self) -> &str {
        self.method.to_str().unwrap_or_default()
    }
    pub(crate) fn url_str(&self) -> &str {
        self.url.to_str().unwrap_or_default()
    }
    /// The path of the URL (`/psd/psd001` of `http://h:1/psd/psd001?x`).
    pub(crate) fn path(&self) -> &str {
        let u = self.url_str();
        let after_scheme = u
            .find("://")
            .map_or(u, |i| u.get(i + 3..).unwrap_or_default());
        let path = after_scheme
            .find('/')
            .map_or("/", |i| after_scheme.get(i..).unwrap_or("/"));
        path.split(['?', '#']).next().unwrap_or(path)
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// An HTTP response (opaque).
pub struct SeloResponse {
    status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
}

impl Drop for SeloResponse {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl SeloResponse {
    pub(crate) fn new(
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> FfiResult<Self> {
        Ok(SeloResponse {
            status,
            headers: Headers::from_pairs(headers)?,
            body,
        })
    }
    pub(crate) fn from_received(r: ReceivedResponse) -> FfiResult<Self> {
        Self::new(r.status, r.headers, r.body)
    }
    pub(crate) fn to_received(&self) -> ReceivedResponse {
        ReceivedResponse::new(
            self.status,
            self.headers.pairs().to_vec(),
            self.body.clone(),
        )
    }
}

// --------------------------------------------------------------------------
// Requests.

/// A new request with no headers and an empty body.
///
/// # Safety
/// `method` and `url` are NUL-terminated strings; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_request_new(
    method: *const c_char,
    url: *const c_char,
    out: *mut *mut SeloRequest,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let r = SeloRequest::from_prepared(PreparedRequest::new(
            str_arg(method, "method")?,
            str_arg(url, "url")?,
            Vec::new(),
            Vec::new(),
        ))?;
        out.write(new_handle(r));
        Ok(())
    })
}

/// Appends a header.
///
/// # Safety
/// `name`, `value` are NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_request_add_header(
    request: *mut SeloRequest,
    name: *const c_char,
    value: *const c_char,
) -> SeloStatus {
    call(|| {
        let r = handle_mut(request, "request")?;
        let n = str_arg(name, "name")?.to_string();
        let v = str_arg(value, "value")?.to_string();
        r.headers.push(n, v)
    })
}

/// Replaces the body with a copy of `len` bytes at `data`.
///
/// # Safety
/// `data` points to `len` readable bytes (NULL allowed when `len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_request_set_body(
    request: *mut SeloRequest,
    data: *const u8,
    len: usize,
) -> SeloStatus {
    call(|| {
        let r = handle_mut(request, "request")?;
        let b = bytes_arg(data, len, "data")?.to_vec();
        r.body.zeroize();
        r.body = b;
        Ok(())
    })
}

/// The method (`"POST"`), borrowed; NULL for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_method(request: *const SeloRequest) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(request, "request").map_or(std::ptr::null(), |r| r.method.as_ptr())
    })
}

/// 1 when the host may send this request again after an ambiguous outcome
/// (lost reply, timeout, reset, 5xx), 0 when it must not (Safra psd050:
/// report the failure with `selo_safra_session_handle_transport_error`
/// instead, and the session reconciles). 0 for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_resendable(request: *const SeloRequest) -> u32 {
    guard(0, || {
        handle_ref(request, "request").map_or(0, |r| u32::from(r.resendable))
    })
}

/// The absolute URL, borrowed; NULL for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_url(request: *const SeloRequest) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(request, "request").map_or(std::ptr::null(), |r| r.url.as_ptr())
    })
}

/// The number of headers (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_header_count(request: *const SeloRequest) -> usize {
    guard(0, || {
        handle_ref(request, "request").map_or(0, |r| r.headers.c.len())
    })
}

/// The name of header `index`, borrowed; NULL out of range.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_header_name(
    request: *const SeloRequest,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(request, "request").map_or(std::ptr::null(), |r| r.headers.name(index))
    })
}

/// The value of header `index`, borrowed; NULL out of range.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_header_value(
    request: *const SeloRequest,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(request, "request").map_or(std::ptr::null(), |r| r.headers.value(index))
    })
}

/// The body length in bytes (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_body_len(request: *const SeloRequest) -> usize {
    guard(0, || {
        handle_ref(request, "request").map_or(0, |r| r.body.len())
    })
}

/// The body bytes, borrowed (`selo_request_body_len` of them); NULL when
/// empty or for an invalid handle. Send them exactly as they are.
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_body(request: *const SeloRequest) -> *const u8 {
    guard(std::ptr::null(), || {
        handle_ref(request, "request").map_or(std::ptr::null(), |r| {
            if r.body.is_empty() {
                std::ptr::null()
            } else {
                r.body.as_ptr()
            }
        })
    })
}

/// Frees a request (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_request_free(request: *mut SeloRequest) {
    free_handle(request);
}

// --------------------------------------------------------------------------
// Responses.

/// A new response with `status`, no headers and an empty body.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_response_new(status: u16, out: *mut *mut SeloResponse) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        out.write(new_handle(SeloResponse::new(
            status,
            Vec::new(),
            Vec::new(),
        )?));
        Ok(())
    })
}

/// Appends a header.
///
/// # Safety
/// `name`, `value` are NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_response_add_header(
    response: *mut SeloResponse,
    name: *const c_char,
    value: *const c_char,
) -> SeloStatus {
    call(|| {
        let r = handle_mut(response, "response")?;
        let n = str_arg(name, "name")?.to_string();
        let v = str_arg(value, "value")?.to_string();
        r.headers.push(n, v)
    })
}

/// Replaces the body with a copy of `len` bytes at `data`.
///
/// # Safety
/// `data` points to `len` readable bytes (NULL allowed when `len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_response_set_body(
    response: *mut SeloResponse,
    data: *const u8,
    len: usize,
) -> SeloStatus {
    call(|| {
        let r = handle_mut(response, "response")?;
        let b = bytes_arg(data, len, "data")?.to_vec();
        r.body.zeroize();
        r.body = b;
        Ok(())
    })
}

/// The status code (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_status(response: *const SeloResponse) -> u16 {
    guard(0, || {
        handle_ref(response, "response").map_or(0, |r| r.status)
    })
}

/// The number of headers (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_header_count(response: *const SeloResponse) -> usize {
    guard(0, || {
        handle_ref(response, "response").map_or(0, |r| r.headers.c.len())
    })
}

/// The name of header `index`, borrowed; NULL out of range.
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_header_name(
    response: *const SeloResponse,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(response, "response").map_or(std::ptr::null(), |r| r.headers.name(index))
    })
}

/// The value of header `index`, borrowed; NULL out of range.
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_header_value(
    response: *const SeloResponse,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(response, "response").map_or(std::ptr::null(), |r| r.headers.value(index))
    })
}

/// The body length in bytes (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_body_len(response: *const SeloResponse) -> usize {
    guard(0, || {
        handle_ref(response, "response").map_or(0, |r| r.body.len())
    })
}

/// The body bytes, borrowed; NULL when empty or for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_body(response: *const SeloResponse) -> *const u8 {
    guard(std::ptr::null(), || {
        handle_ref(response, "response").map_or(std::ptr::null(), |r| {
            if r.body.is_empty() {
                std::ptr::null()
            } else {
                r.body.as_ptr()
            }
        })
    })
}

/// Frees a response (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_response_free(response: *mut SeloResponse) {
    free_handle(response);
}
