//! JSON Web Keys (RFC 7517/7518) for RSA, JWK Sets, and RFC 7638
//! thumbprints.
//!
//! A [`Jwk`] holds an RSA public key, optionally its private half, and the
//! optional members `kid`, `alg`, `use`; any other member (`x5c`,
//! `key_ops`, …) is kept verbatim in [`Jwk::extra`] and written back on
//! emit. A JWK Set may also contain keys of other types (EC, OKP, oct): they
//! are kept as [`JwkKey::Other`] so a directory's JWKS parses, but they are
//! never selected for RSA operations.
//!
//! Decoding of `n`, `e` and the private members accepts base64url (the
//! format RFC 7518 requires) and, leniently, standard base64, padded or not
//! ([`crate::encoding::b64_decode`]). Emitting always writes unpadded
//! base64url without leading zero octets.

use super::{Code, Error, RsaPrivateKey, RsaPublicKey};
use crate::encoding::{b64_decode, b64url};
use der::Decode;
use rsa::BoxedUint;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The key material of a [`Jwk`].
#[derive(Clone, Debug)]
pub enum JwkKey {
    /// An RSA public key.
    RsaPublic(RsaPublicKey),
    /// An RSA private key (its public half is derived from it).
    RsaPrivate(Box<RsaPrivateKey>),
    /// A key of another type, kept so a JWK Set parses; never used.
    Other {
        /// The `kty` member as found.
        kty: String,
    },
}

/// One JSON Web Key. `Debug` prints member names of `extra`, never values
/// (a non-RSA key's private members live there).
#[derive(Clone)]
pub struct Jwk {
    /// The key material.
    pub key: JwkKey,
    /// `kid`: key identifier.
    pub kid: Option<String>,
    /// `alg`: the algorithm the key is meant for (`"PS256"`).
    pub alg: Option<String>,
    /// `use`: `"sig"` or `"enc"`.
    pub key_use: Option<String>,
    /// Every other member, kept verbatim (for `Other` keys: all members
    /// except `kty`, `kid`, `alg`, `use`).
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("key", &self.key)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("use", &self.key_use)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Members of an RSA JWK that carry key material (never copied to `extra`).
const RSA_MEMBERS: [&str; 9] = ["n", "e", "d", "p", "q", "dp", "dq", "qi", "oth"];
const PRIVATE_MEMBERS: [&str; 5] = ["p", "q", "dp", "dq", "qi"];

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::new(
            Code::JwkMalformed,
            format!(
                "JWK member '{name}': expected a string, found {}",
                describe(other)
            ),
        )),
    }
}

fn b64_member(obj: &Map<String, Value>, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    match opt_string(obj, name)? {
        None => Ok(None),
        Some(text) => {
            let text = Zeroizing::new(text);
            let bytes = b64_decode(&text).map_err(|e| {
                Error::new(
                    Code::JwkBadBase64,
                    format!("JWK member '{name}' is not base64url: {e}"),
                )
            })?;
            if strip_zeros(&bytes).is_empty() {
                return Err(Error::new(
                    Code::JwkMalformed,
                    format!("JWK member '{name}': expected a positive integer, found zero/empty"),
                ));
            }
            Ok(Some(Zeroizing::new(bytes)))
        }
    }
}

fn required(obj: &Map<String, Value>, name: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    b64_member(obj, name)?.ok_or_else(|| {
        Error::new(
            Code::JwkMissingMember,
            format!("RSA {what} JWK lacks required member '{name}'"),
        )
    })
}

fn uint(bytes: &[u8]) -> BoxedUint {
    BoxedUint::from_be_slice_vartime(bytes)
}

/// The private components of an RSA key as big-endian bytes (via its
/// PKCS#1 encoding, which always carries the CRT values).
struct PrivateParts {
    der: Zeroizing<Vec<u8>>,
}

impl PrivateParts {
    fn of(key: &RsaPrivateKey) -> Result<Self, Error> {
        Ok(Self {
            der: key.to_pkcs1_der()?,
        })
    }

    fn parsed(&self) -> Result<pkcs1::RsaPrivateKey<der::asn1::UintRef<'_>>, Error> {
        pkcs1::RsaPrivateKey::<der::asn1::UintRef<'_>>::from_der(&self.der).map_err(|e| {
            Error::new(
                Code::Export,
                format!("PKCS#1 re-encoding of the private key did not parse ({e})"),
            )
        })
    }
}

impl Jwk {
    /// A public JWK for `key`, without `kid`/`alg`/`use`.
    pub fn from_public(key: &RsaPublicKey) -> Self {
        Self {
            key: JwkKey::RsaPublic(key.clone()),
            kid: None,
            alg: None,
            key_use: None,
            extra: Map::new(),
        }
    }

    /// A private JWK for `key`, without `kid`/`alg`/`use`.
    pub fn from_private(key: &RsaPrivateKey) -> Self {
        Self {
            key: JwkKey::RsaPrivate(Box::new(key.clone())),
            kid: None,
            alg: None,
            key_use: None,
            extra: Map::new(),
        }
    }

    /// Imports any PEM or DER form [`RsaPrivateKey::import`] or
    /// [`RsaPublicKey::import`] reads (PKCS#8, PKCS#1, SPKI, X.509
    /// certificate). Private key forms give a private JWK. The error names
    /// the detected format and why it failed.
    pub fn import(data: &[u8]) -> Result<Self, Error> {
        match RsaPrivateKey::import(data) {
            Ok(k) => Ok(Self::from_private(&k)),
            Err(private_err) => match RsaPublicKey::import(data) {
                Ok(k) => Ok(Self::from_public(&k)),
                Err(public_err) => {
                    // A PEM with a private label, or DER that only the private
                    // parser recognised, is best explained by the private error.
                    if matches!(
                        private_err.kind(),
                        Code::Encrypted | Code::NotRsa | Code::BadPem
                    ) {
                        Err(private_err)
                    } else {
                        Err(public_err)
                    }
                }
            },
        }
    }

    /// Sets `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `kid` to the RFC 7638 thumbprint (a good default).
    pub fn with_thumbprint_kid(mut self) -> Result<Self, Error> {
        self.kid = Some(self.thumbprint()?);
        Ok(self)
    }

    /// Sets `alg`.
    pub fn with_alg(mut self, alg: impl Into<String>) -> Self {
        self.alg = Some(alg.into());
        self
    }

    /// Sets `use`.
    pub fn with_use(mut self, key_use: impl Into<String>) -> Self {
        self.key_use = Some(key_use.into());
        self
    }

    /// The `kty` member (`"RSA"` for RSA keys).
    pub fn kty(&self) -> &str {
        match &self.key {
            JwkKey::RsaPublic(_) | JwkKey::RsaPrivate(_) => "RSA",
            JwkKey::Other { kty } => kty,
        }
    }

    /// The RSA public key, if this is an RSA JWK.
    pub fn rsa_public_key(&self) -> Option<RsaPublicKey> {
        match &self.key {
            JwkKey::RsaPublic(k) => Some(k.clone()),
            JwkKey::RsaPrivate(k) => Some(k.public_key()),
            JwkKey::Other { .. } => None,
        }
    }

    /// The RSA public key, borrowed (keeps the key's provider cache across calls).
    pub fn rsa_public_key_ref(&self) -> Option<&RsaPublicKey> {
        match &self.key {
            JwkKey::RsaPublic(k) => Some(k),
            JwkKey::RsaPrivate(k) => Some(k.public_key_ref()),
            JwkKey::Other { .. } => None,
        }
    }

    /// The RSA private key, if this JWK carries one.
    pub fn rsa_private_key(&self) -> Option<&RsaPrivateKey> {
        match &self.key {
            JwkKey::RsaPrivate(k) => Some(k),
            _ => None,
        }
    }

    /// True when the JWK carries private material.
    pub fn is_private(&self) -> bool {
        matches!(self.key, JwkKey::RsaPrivate(_))
    }

    /// The same JWK without its private members (for keys of other types,
    /// the members that are private in RFC 7518: `d`, `p`, `q`, `dp`,
    /// `dq`, `qi`, `oth`, `k`).
    pub fn to_public(&self) -> Self {
        let mut out = self.clone();
        match &self.key {
            JwkKey::RsaPrivate(k) => out.key = JwkKey::RsaPublic(k.public_key()),
            JwkKey::Other { .. } => {
                for m in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                    out.extra.remove(m);
                }
            }
            JwkKey::RsaPublic(_) => {}
        }
        out
    }

    /// RFC 7638 thumbprint: SHA-256 over `{"e":..,"kty":"RSA","n":..}`,
    /// base64url without padding. The same for the public and private JWK.
    pub fn thumbprint(&self) -> Result<String, Error> {
        let public = self.rsa_public_key().ok_or_else(|| {
            Error::new(
                Code::JwkUnsupportedKty,
                format!(
                    "thumbprints are computed for kty 'RSA' only, found '{}'",
                    self.kty()
                ),
            )
        })?;
        Ok(rsa_thumbprint(&public))
    }

    /// Parses one JWK from JSON text.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::new(Code::JwkMalformed, format!("JWK is not valid JSON ({e})")))?;
        Self::from_value(&value)
    }

    /// Parses one JWK from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let obj = value.as_object().ok_or_else(|| {
            Error::new(
                Code::JwkMalformed,
                format!("expected a JWK JSON object, found {}", describe(value)),
            )
        })?;
        let kty = opt_string(obj, "kty")?
            .ok_or_else(|| Error::new(Code::JwkMissingMember, "JWK lacks required member 'kty'"))?;
        let kid = opt_string(obj, "kid")?;
        let alg = opt_string(obj, "alg")?;
        let key_use = opt_string(obj, "use")?;
        let common = ["kty", "kid", "alg", "use"];
        if kty != "RSA" {
            let extra = obj
                .iter()
                .filter(|(k, _)| !common.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            return Ok(Self {
                key: JwkKey::Other { kty },
                kid,
                alg,
                key_use,
                extra,
            });
        }
        let extra = obj
            .iter()
            .filter(|(k, _)| !common.contains(&k.as_str()) && !RSA_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let key = parse_rsa(obj)?;
        Ok(Self {
            key,
            kid,
            alg,
            key_use,
            extra,
        })
    }

    /// The JWK as a JSON object. Member order: `kty`, `kid`, `use`, `alg`,
    /// `n`, `e`, then `d`, `p`, `q`, `dp`, `dq`, `qi` for private keys, then
    /// the extra members. Private JWKs: prefer [`Jwk::to_json`], whose text
    /// is zeroized on drop.
    pub fn to_value(&self) -> Result<Value, Error> {
        let mut m = Map::new();
        m.insert("kty".into(), Value::String(self.kty().to_string()));
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), Value::String(kid.clone()));
        }
        if let Some(u) = &self.key_use {
            m.insert("use".into(), Value::String(u.clone()));
        }
        if let Some(a) = &self.alg {
            m.insert("alg".into(), Value::String(a.clone()));
        }
        match &self.key {
            JwkKey::RsaPublic(k) => {
                m.insert("n".into(), Value::String(b64url(&k.modulus())));
                m.insert("e".into(), Value::String(b64url(&k.exponent())));
            }
            JwkKey::RsaPrivate(k) => {
                let public = k.public_key();
                m.insert("n".into(), Value::String(b64url(&public.modulus())));
                m.insert("e".into(), Value::String(b64url(&public.exponent())));
                let parts = PrivateParts::of(k)?;
                let p = parts.parsed()?;
                for (name, v) in [
                    ("d", p.private_exponent),
                    ("p", p.prime1),
                    ("q", p.prime2),
                    ("dp", p.exponent1),
                    ("dq", p.exponent2),
                    ("qi", p.coefficient),
                ] {
                    m.insert(
                        name.into(),
                        Value::String(b64url(strip_zeros(v.as_bytes()))),
                    );
                }
            }
            JwkKey::Other { .. } => {}
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(Value::Object(m))
    }

    /// The JWK as compact JSON text (zeroized on drop: it may hold `d`).
    pub fn to_json(&self) -> Result<Zeroizing<String>, Error> {
        Ok(Zeroizing::new(self.to_value()?.to_string()))
    }
}

/// RFC 7638 thumbprint of an RSA public key (SHA-256, base64url).
pub fn rsa_thumbprint(key: &RsaPublicKey) -> String {
    // Required members in lexicographic order, no whitespace (RFC 7638 §3.2);
    // base64url text needs no JSON escaping.
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        b64url(&key.exponent()),
        b64url(&key.modulus())
    );
    b64url(&Sha256::digest(canonical.as_bytes()))
}

fn parse_rsa(obj: &Map<String, Value>) -> Result<JwkKey, Error> {
    let has_d = obj.contains_key("d");
    let what = if has_d { "private" } else { "public" };
    let n = required(obj, "n", what)?;
    let e = required(obj, "e", what)?;
    if !has_d {
        if let Some(extra) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(Error::new(
                Code::JwkMissingMember,
                format!("RSA JWK has private member '{extra}' but lacks 'd'"),
            ));
        }
        let key =
            RsaPublicKey::from_components(strip_zeros(&n), strip_zeros(&e)).map_err(|err| {
                Error::new(Code::JwkInconsistent, format!("RSA JWK: {}", err.message()))
            })?;
        return Ok(JwkKey::RsaPublic(key));
    }
    if obj.contains_key("oth") {
        return Err(Error::new(
            Code::JwkUnsupportedKty,
            "RSA JWK with 'oth' (multi-prime key): only two-prime keys are supported",
        ));
    }
    let d = required(obj, "d", what)?;
    let present: Vec<&str> = PRIVATE_MEMBERS
        .iter()
        .copied()
        .filter(|m| obj.contains_key(*m))
        .collect();
    let crt = if present.is_empty() {
        None
    } else if present.len() == PRIVATE_MEMBERS.len() {
        Some([
            required(obj, "p", what)?,
            required(obj, "q", what)?,
            required(obj, "dp", what)?,
            required(obj, "dq", what)?,
            required(obj, "qi", what)?,
        ])
    } else {
        let missing: Vec<&str> = PRIVATE_MEMBERS
            .iter()
            .copied()
            .filter(|m| !present.contains(m))
            .collect();
        return Err(Error::new(
            Code::JwkMissingMember,
            format!(
                "private RSA JWK has {} but lacks {} (RFC 7518 §6.3.2: all or none)",
                present.join(", "),
                missing.join(", ")
            ),
        ));
    };
    let primes = match &crt {
        Some([p, q, ..]) => vec![uint(p), uint(q)],
        None => Vec::new(),
    };
    let inner =
        rsa::PrivateKey::from_components(uint(&n), uint(&e), uint(&d), primes).map_err(|err| {
            Error::new(
                Code::JwkInconsistent,
                format!("private RSA JWK components do not form a valid key ({err})"),
            )
        })?;
    let key = RsaPrivateKey::from_inner(inner);
    if let Some([_, _, dp, dq, qi]) = &crt {
        let parts = PrivateParts::of(&key)?;
        let ours = parts.parsed()?;
        for (name, given, computed) in [
            ("dp", dp, ours.exponent1),
            ("dq", dq, ours.exponent2),
            ("qi", qi, ours.coefficient),
        ] {
            let same: bool =
                subtle::ConstantTimeEq::ct_eq(strip_zeros(given), strip_zeros(computed.as_bytes()))
                    .into();
            if !same {
                return Err(Error::new(
                    Code::JwkInconsistent,
                    format!("private RSA JWK member '{name}' does not match d, p and q"),
                ));
            }
        }
    }
    Ok(JwkKey::RsaPrivate(Box::new(key)))
}

/// A JWK Set (`{"keys": [...]}`).
#[derive(Clone, Debug, Default)]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// A set of these keys.
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self { keys }
    }

    /// Parses JWKS JSON text. Keys of types other than RSA are kept as
    /// [`JwkKey::Other`]; a malformed RSA key fails the whole set, naming
    /// its index and `kid`.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            Error::new(
                Code::JwksMalformed,
                format!("JWK Set is not valid JSON ({e})"),
            )
        })?;
        Self::from_value(&value)
    }

    /// Parses a JWKS JSON value.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let keys = value
            .as_object()
            .ok_or_else(|| {
                Error::new(
                    Code::JwksMalformed,
                    format!("expected a JWK Set JSON object, found {}", describe(value)),
                )
            })?
            .get("keys")
            .ok_or_else(|| Error::new(Code::JwksMalformed, "JWK Set lacks member 'keys'"))?
            .as_array()
            .ok_or_else(|| {
                Error::new(Code::JwksMalformed, "JWK Set member 'keys' is not an array")
            })?;
        let mut out = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let jwk = Jwk::from_value(k).map_err(|e| {
                let kid = k
                    .get("kid")
                    .and_then(Value::as_str)
                    .map(|s| format!(" (kid '{s}')"))
                    .unwrap_or_default();
                Error::new(
                    Code::JwksMalformed,
                    format!("JWK Set key #{i}{kid}: {} [{}]", e.message(), e.code()),
                )
            })?;
            out.push(jwk);
        }
        Ok(Self { keys: out })
    }

    /// The set as a JSON value.
    pub fn to_value(&self) -> Result<Value, Error> {
        let keys = self
            .keys
            .iter()
            .map(Jwk::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        let mut m = Map::new();
        m.insert("keys".into(), Value::Array(keys));
        Ok(Value::Object(m))
    }

    /// The set as compact JSON text (zeroized on drop).
    pub fn to_json(&self) -> Result<Zeroizing<String>, Error> {
        Ok(Zeroizing::new(self.to_value()?.to_string()))
    }

    /// The same set with every private member removed (what to publish).
    pub fn to_public(&self) -> Self {
        Self {
            keys: self.keys.iter().map(Jwk::to_public).collect(),
        }
    }

    /// Every key whose `kid` equals `kid` exactly.
    pub fn find_kid<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_jwk_round_trips_and_matches_the_key() {
        let key = RsaPrivateKey::import(fixture!("external/keys/rsa2048-ofb.pem")).unwrap();
        let jwk = Jwk::from_private(&key)
            .with_kid("k1")
            .with_alg("PS256")
            .with_use("sig");
        let json = jwk.to_json().unwrap();
        let back = Jwk::parse(&json).unwrap();
        assert!(back.is_private());
        assert_eq!(back.kid.as_deref(), Some("k1"));
        assert_eq!(
            back.rsa_private_key().unwrap().to_pkcs1_der().unwrap(),
            key.to_pkcs1_der().unwrap()
        );
        // Only d (no CRT values): the primes are recovered.
        let mut v = back.to_value().unwrap();
        for m in PRIVATE_MEMBERS {
            v.as_object_mut().unwrap().remove(m);
        }
        let d_only = Jwk::from_value(&v).unwrap();
        assert_eq!(
            d_only.rsa_private_key().unwrap().to_pkcs1_der().unwrap(),
            key.to_pkcs1_der().unwrap()
        );
    }

    #[test]
    fn to_public_strips_private_members_of_every_key_type() {
        let ec = Jwk::from_value(
            &serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}),
        )
        .unwrap();
        let oct = Jwk::from_value(&serde_json::json!({"kty": "oct", "k": "AA"})).unwrap();
        for j in [ec, oct] {
            let v = j.to_public().to_value().unwrap();
            assert!(v.get("d").is_none() && v.get("k").is_none(), "{v}");
        }
        let ec = Jwk::from_value(
            &serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}),
        )
        .unwrap();
        assert_eq!(ec.to_public().to_value().unwrap()["crv"], "P-256");
    }

    #[test]
    fn inconsistent_private_members_are_refused() {
        let key = RsaPrivateKey::import(fixture!("external/keys/rsa2048-ofb.pem")).unwrap();
        let mut v = Jwk::from_private(&key).to_value().unwrap();
        let o = v.as_object_mut().unwrap();
        let dq = o.get("dq").unwrap().clone();
        o.insert("dp".into(), dq);
        let e = Jwk::from_value(&v).unwrap_err();
        assert_eq!(e.kind(), Code::JwkInconsistent, "{e}");
        let o = v.as_object_mut().unwrap();
        o.remove("dp");
        let e = Jwk::from_value(&v).unwrap_err();
        assert_eq!(e.kind(), Code::JwkMissingMember, "{e}");
        assert!(e.message().contains("dp"), "{e}");
    }
}
