//! Conversions between JS values and core types. Nothing here decides
//! protocol: it moves bytes, strings, numbers and plain objects across.

use js_sys::{Reflect, Uint8Array};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "../lib/errors.cjs")]
extern "C" {
    /// Builds a `SeloError` (a real `Error` subclass) in JS.
    #[wasm_bindgen(js_name = makeSeloError)]
    fn make_selo_error(code: &str, message: &str, http_status: Option<u16>) -> JsValue;
}

/// A core error as a JS `SeloError` (`.code`, `.message`, `.httpStatus`).
pub fn selo_err(e: impl Into<selo::Error>) -> JsValue {
    let e = e.into();
    make_selo_error(e.code(), e.message(), e.http_status())
}

/// A JS `TypeError`: the caller passed a value of the wrong JS type.
pub fn type_err(msg: impl AsRef<str>) -> JsValue {
    js_sys::TypeError::new(msg.as_ref()).into()
}

#[wasm_bindgen(raw_module = "../lib/text.cjs")]
extern "C" {
    /// The engine's native UTF-8 encoder (`TextEncoder`), for long strings.
    #[wasm_bindgen(js_name = utf8Bytes)]
    fn utf8_bytes(s: &JsValue) -> Uint8Array;
}

/// Strings at least this long cross as UTF-8 bytes encoded by the engine:
/// wasm-bindgen's own string passing walks them one UTF-16 unit at a time
/// in JS, which dominates for envelope-sized text (tens of KiB).
const NATIVE_UTF8_FROM: u32 = 256;

/// The text of `v` when it is a JS string: long ones encoded by the engine,
/// short ones by wasm-bindgen.
fn js_text(v: &JsValue) -> Option<String> {
    let s = v.dyn_ref::<js_sys::JsString>()?;
    if s.length() >= NATIVE_UTF8_FROM {
        // TextEncoder writes UTF-8 (lone surrogates become U+FFFD, as
        // `as_string` does), so the check below never fails.
        return String::from_utf8(utf8_bytes(v).to_vec()).ok();
    }
    v.as_string()
}

/// Bytes from a string (UTF-8), a `Uint8Array` (or `Buffer`) or an `ArrayBuffer`.
pub fn bytes_in(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = js_text(v) {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if v.is_instance_of::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(v).to_vec());
    }
    Err(type_err(format!(
        "{what}: expected a string, a Uint8Array or an ArrayBuffer"
    )))
}

/// Text from a string, or UTF-8 bytes.
pub fn text_in(v: &JsValue, what: &str) -> Result<String, JsValue> {
    if let Some(s) = js_text(v) {
        return Ok(s);
    }
    let b = bytes_in(v, what)?;
    String::from_utf8(b).map_err(|_| type_err(format!("{what}: bytes are not UTF-8")))
}

/// A `Uint8Array` copy of `b`.
pub fn bytes_out(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// Unix seconds from an optional JS number (default: the host clock).
pub fn now_in(now: Option<f64>) -> Result<u64, JsValue> {
    let n = match now {
        Some(n) => n,
        None => js_sys::Date::now() / 1000.0,
    };
    if !n.is_finite() || !(0.0..=9_007_199_254_740_991.0).contains(&n) {
        return Err(type_err(format!(
            "now: expected Unix seconds as a finite number >= 0, found {n}"
        )));
    }
    // Whole seconds: the core's clock resolution.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(n.floor() as u64)
}

/// Unix seconds to a JS number (exact below 2^53).
#[allow(clippy::cast_precision_loss)]
pub fn secs_out(t: u64) -> f64 {
    t as f64
}

/// Any serialisable value as plain JS (objects, arrays, numbers, strings):
/// serialised to JSON text in wasm and parsed by the engine's native
/// `JSON.parse` — one crossing, instead of one per member and element.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v)
        .map_err(|e| type_err(format!("could not convert a value to JS: {e}")))?;
    js_sys::JSON::parse(&text)
        .map_err(|_| type_err("could not convert a value to JS: JSON.parse refused it"))
}

/// A plain JS value as JSON (numbers that are safe integers stay integers).
pub fn json_in(v: &JsValue, what: &str) -> Result<serde_json::Value, JsValue> {
    if v.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| type_err(format!("{what}: {e}")))
}

/// A typed value from a plain JS value.
pub fn from_js<T: DeserializeOwned>(v: &JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| type_err(format!("{what}: {e}")))
}

/// `obj[name]`, `undefined` when `obj` is not an object.
pub fn get(obj: &JsValue, name: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[name]` when it is neither `undefined` nor `null`.
pub fn get_opt(obj: &JsValue, name: &str) -> Option<JsValue> {
    let v = get(obj, name);
    if v.is_undefined() || v.is_null() {
        None
    } else {
        Some(v)
    }
}

/// An optional string member.
pub fn get_opt_string(obj: &JsValue, name: &str, what: &str) -> Result<Option<String>, JsValue> {
    match get_opt(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| type_err(format!("{what}.{name}: expected a string"))),
    }
}

/// An optional number member.
pub fn get_opt_f64(obj: &JsValue, name: &str, what: &str) -> Result<Option<f64>, JsValue> {
    match get_opt(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| type_err(format!("{what}.{name}: expected a number"))),
    }
}

/// HTTP headers from `[[name, value], …]`, a plain object (values may be
/// arrays, as Node's `IncomingMessage.headers`), or anything with
/// `entries()` (`Headers`, `Map`).
pub fn headers_in(v: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let push = |out: &mut Vec<(String, String)>, k: JsValue, val: JsValue| -> Result<(), JsValue> {
        let name = k
            .as_string()
            .ok_or_else(|| type_err("headers: a header name is not a string"))?;
        if js_sys::Array::is_array(&val) {
            for item in js_sys::Array::from(&val).iter() {
                out.push((name.clone(), header_value(&item)?));
            }
        } else if !val.is_undefined() {
            out.push((name, header_value(&val)?));
        }
        Ok(())
    };
    if js_sys::Array::is_array(v) {
        for pair in js_sys::Array::from(v).iter() {
            let pair = js_sys::Array::from(&pair);
            push(&mut out, pair.get(0), pair.get(1))?;
        }
        return Ok(out);
    }
    let entries = get(v, "entries");
    if entries.is_function() && !is_plain_object(v) {
        let it = entries
            .unchecked_ref::<js_sys::Function>()
            .call0(v)
            .map_err(|_| type_err("headers: entries() failed"))?;
        let arr = js_sys::Array::from(&it);
        for pair in arr.iter() {
            let pair = js_sys::Array::from(&pair);
            push(&mut out, pair.get(0), pair.get(1))?;
        }
        return Ok(out);
    }
    if v.is_object() {
        let obj: &js_sys::Object = v.unchecked_ref();
        for pair in js_sys::Object::entries(obj).iter() {
            let pair = js_sys::Array::from(&pair);
            push(&mut out, pair.get(0), pair.get(1))?;
        }
        return Ok(out);
    }
    Err(type_err(
        "headers: expected [[name, value], …], an object or a Headers instance",
    ))
}

fn is_plain_object(v: &JsValue) -> bool {
    let proto = js_sys::Object::get_prototype_of(v);
    proto.is_null() || proto == js_sys::Object::get_prototype_of(&js_sys::Object::new())
}

fn header_value(v: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s);
    }
    if let Some(n) = v.as_f64() {
        return Ok(format!("{n}"));
    }
    Err(type_err("headers: a header value is not a string"))
}

/// Headers as `[[name, value], …]`.
pub fn headers_out(h: &[(String, String)]) -> JsValue {
    let arr = js_sys::Array::new();
    for (n, v) in h {
        let pair = js_sys::Array::of2(&JsValue::from_str(n), &JsValue::from_str(v));
        arr.push(&pair);
    }
    arr.into()
}

/// `{ status, headers: [[n, v], …], body: Uint8Array }`.
pub fn response_out(status: u16, headers: &[(String, String)], body: &[u8]) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "status", &JsValue::from(status));
    set(&o, "headers", &headers_out(headers));
    set(&o, "body", &bytes_out(body));
    o.into()
}

/// A prepared request: `{ method, url, headers: [[n, v], …], body: Uint8Array,
/// resendable }` (`resendable` false: never send it again after an
/// ambiguous outcome; report the failure to the session instead).
pub fn request_out(r: &selo::http::PreparedRequest) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "resendable", &JsValue::from_bool(r.resendable));
    set(&o, "method", &JsValue::from_str(&r.method));
    set(&o, "url", &JsValue::from_str(&r.url));
    set(&o, "headers", &headers_out(&r.headers));
    set(&o, "body", &bytes_out(&r.body));
    o.into()
}

/// A received response from `{ status, headers, body }`.
pub fn received_in(v: &JsValue) -> Result<selo::http::ReceivedResponse, JsValue> {
    let status = get(v, "status")
        .as_f64()
        .filter(|s| s.fract() == 0.0 && (0.0..=999.0).contains(s))
        .ok_or_else(|| type_err("response.status: expected an integer HTTP status"))?;
    let headers = headers_in(&get(v, "headers"))?;
    let body = match get_opt(v, "body") {
        Some(b) => bytes_in(&b, "response.body")?,
        None => Vec::new(),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(selo::http::ReceivedResponse::new(
        status as u16,
        headers,
        body,
    ))
}

/// `o[name] = v`.
pub fn set(o: &js_sys::Object, name: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(name), v);
}

/// Profile member names: JS uses camelCase, the core's JSON snake_case.
/// `names` are the core's snake_case names; both spellings are accepted and
/// unknown names are passed through (the core refuses them).
pub fn profile_in(v: &JsValue, names: &[String]) -> Result<serde_json::Value, JsValue> {
    let j = if let Some(s) = v.as_string() {
        serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))
    } else {
        json_in(v, "profile")?
    };
    let serde_json::Value::Object(m) = j else {
        if j.is_null() {
            return Ok(serde_json::Value::Object(serde_json::Map::new()));
        }
        return Ok(j);
    };
    let camel: HashMap<String, &String> = names.iter().map(|n| (snake_to_camel(n), n)).collect();
    let mut out = serde_json::Map::new();
    for (k, val) in m {
        let key = match camel.get(&k) {
            Some(snake) => (*snake).clone(),
            None => k,
        };
        out.insert(key, val);
    }
    Ok(serde_json::Value::Object(out))
}

/// A core profile (snake_case JSON) as a camelCase JS object.
pub fn profile_out<T: Serialize>(p: &T) -> Result<JsValue, JsValue> {
    let v = serde_json::to_value(p).map_err(|e| type_err(e.to_string()))?;
    let v = match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .map(|(k, v)| (snake_to_camel(&k), v))
                .collect(),
        ),
        other => other,
    };
    to_js(&v)
}

/// The snake_case member names of a profile's JSON form.
pub fn member_names<T: Serialize>(p: &T) -> Vec<String> {
    match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `key_bits` → `keyBits`, `on_480` → `on480`.
pub fn snake_to_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A seeded or system RNG from an optional 32-byte `seed`.
pub fn rng_in(seed: Option<JsValue>) -> Result<Box<dyn selo::rng::CryptoRng>, JsValue> {
    match seed {
        None => Ok(Box::new(selo::rng::system())),
        Some(s) => {
            let b = bytes_in(&s, "seed")?;
            let arr: [u8; 32] = b
                .as_slice()
                .try_into()
                .map_err(|_| type_err(format!("seed: expected 32 bytes, found {}", b.len())))?;
            Ok(Box::new(selo::rng::seeded(arr)))
        }
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `JSON.parse` on a string that is already a JS value (no second copy).
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    pub fn json_parse_value(text: &JsValue) -> Result<JsValue, JsValue>;
}
