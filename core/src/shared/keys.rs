//! Redis key names of the shared-state protocol (docs/shared-state.md §2).
//!
//! - A Safra fleet (every instance sharing one set of bank credentials) is
//!   named by the host; its three keys share the hash tag `{safra:<name>}`,
//!   so they land in one Redis Cluster slot and one script may touch them
//!   all: [`SafraKeys`].
//! - OFB `jti` replay entries: [`jti_key`] (the key and TTL are the ones
//!   [`ReplayKey`] already defines; this is a thin wrapper with the default
//!   prefix, not a second definition).
//! - BMP pending transactions: [`bmp_pending_key`], [`BMP_PENDING_TTL_SECONDS`].

use crate::ofb::server::{REPLAY_KEY_PREFIX, ReplayKey};
use crate::safra::{Code, Error};

/// The longest fleet name (bytes).
pub const MAX_NAME_LEN: usize = 200;

/// The prefix every key of the protocol starts with.
pub const KEY_PREFIX: &str = "selo";

/// Checks a fleet name or a lease owner token: 1 to [`MAX_NAME_LEN`] bytes,
/// each an ASCII graphic character (`!` to `~`) other than `{` and `}` (so
/// the hash tag `{safra:<name>}` ends where it should). `what` names the
/// value in the message.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::new(
            Code::SharedName,
            format!(
                "{what}: expected 1 to {MAX_NAME_LEN} bytes, found {}",
                name.len()
            ),
        ));
    }
    if let Some((at, c)) = name
        .char_indices()
        .find(|&(_, c)| !c.is_ascii_graphic() || c == '{' || c == '}')
    {
        return Err(Error::new(
            Code::SharedName,
            format!(
                "{what}: expected ASCII graphic characters other than '{{' and '}}', found {:?} at byte {at}",
                c.escape_default().to_string()
            ),
        ));
    }
    Ok(())
}

/// The keys of one Safra fleet: every instance sharing one set of bank
/// credentials uses the same `name`, and so the same keys.
///
/// | key | value |
/// | --- | --- |
/// | `selo:{safra:<name>}:record` | the sealed credentials ([`super::seal::seal()`]), no TTL |
/// | `selo:{safra:<name>}:lease`  | the transition lease: the owner token, TTL = the lease TTL |
/// | `selo:{safra:<name>}:fence`  | the fencing counter (`INCR`ed by every lease grant), no TTL |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafraKeys {
    name: String,
    record: String,
    lease: String,
    fence: String,
}

impl SafraKeys {
    /// The keys of fleet `name`: 1 to 200 bytes of ASCII graphic characters
    /// other than `{` and `}`; anything else is `safra.shared.name`.
    pub fn new(name: &str) -> Result<SafraKeys, Error> {
        check_name("fleet name", name)?;
        let tag = format!("{KEY_PREFIX}:{{safra:{name}}}");
        Ok(SafraKeys {
            name: name.to_string(),
            record: format!("{tag}:record"),
            lease: format!("{tag}:lease"),
            fence: format!("{tag}:fence"),
        })
    }

    /// The fleet name (also bound into every sealed record's AAD).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hash tag every key of the fleet carries: `safra:<name>` (the text
    /// between the braces, which Redis Cluster hashes).
    pub fn hash_tag(&self) -> String {
        format!("safra:{}", self.name)
    }

    /// `selo:{safra:<name>}:record`: the sealed credentials record.
    pub fn record(&self) -> &str {
        &self.record
    }

    /// `selo:{safra:<name>}:lease`: the transition lease (owner token).
    pub fn lease(&self) -> &str {
        &self.lease
    }

    /// `selo:{safra:<name>}:fence`: the fencing counter.
    pub fn fence(&self) -> &str {
        &self.fence
    }
}

/// The OFB replay-store key of a verified request with the default prefix
/// (`selo:ofb:jti:<length of client id>:<client id>:<jti>`): exactly
/// [`ReplayKey::store_key`] with [`REPLAY_KEY_PREFIX`]. Store it with
/// `SET <key> 1 NX EX <replay.ttl_seconds(now)>` (`OK` fresh, nil replayed,
/// anything else or an error: fail closed). One key per call, so its
/// hash tag (if the client id happens to hold braces) does not matter.
pub fn jti_key(replay: &ReplayKey) -> String {
    replay.store_key(REPLAY_KEY_PREFIX)
}

/// The prefix of BMP pending-transaction keys.
pub const BMP_PENDING_PREFIX: &str = "selo:bmp:pending";

/// How long a pending BMP transaction is kept (7 days): longer than any
/// retry or confirmation callback the partner waits for. Stored with
/// `SET <key> <body> NX EX 604800`.
pub const BMP_PENDING_TTL_SECONDS: u64 = 7 * 86_400;

/// The key of a pending BMP transaction:
/// `selo:bmp:pending:{<length in bytes>:<idempotency key>}`. The length
/// prefix keeps every idempotency key apart from every other (and from any
/// key a later protocol version adds under the prefix); the braces make the
/// transaction its own hash tag, so companion keys of one transaction (if a
/// later version adds them) share its slot. The value is the exact body
/// bytes the partner signed and sent.
pub fn bmp_pending_key(idempotency_key: &str) -> String {
    format!(
        "{BMP_PENDING_PREFIX}:{{{}:{}}}",
        idempotency_key.len(),
        idempotency_key
    )
}

/// The hash tag Redis Cluster hashes for `key`: the text between the first
/// `{` and the first `}` after it, when that text is not empty; otherwise
/// the whole key.
pub fn cluster_hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{') {
        let rest = key.get(open.saturating_add(1)..).unwrap_or("");
        if let Some(close) = rest.find('}')
            && close > 0
        {
            return rest.get(..close).unwrap_or(key);
        }
    }
    key
}

/// The Redis Cluster slot of `key` (CRC16/XMODEM of its hash tag, mod 16384).
pub fn cluster_slot(key: &str) -> u16 {
    let mut crc: u16 = 0;
    for &b in cluster_hash_tag(key).as_bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc & 0x3fff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_keys_share_one_hash_tag_and_slot() {
        let k = SafraKeys::new("acme-prod").unwrap();
        assert_eq!(k.record(), "selo:{safra:acme-prod}:record");
        assert_eq!(k.lease(), "selo:{safra:acme-prod}:lease");
        assert_eq!(k.fence(), "selo:{safra:acme-prod}:fence");
        assert_eq!(k.name(), "acme-prod");
        for key in [k.record(), k.lease(), k.fence()] {
            assert_eq!(cluster_hash_tag(key), k.hash_tag());
            assert_eq!(cluster_slot(key), cluster_slot(k.record()));
        }
        // Names with ':' and other punctuation keep the tag whole.
        let k = SafraKeys::new("a:b|c~!\"#$%&'()*+,-./;<=>?@[\\]^_`").unwrap();
        for key in [k.record(), k.lease(), k.fence()] {
            assert_eq!(cluster_hash_tag(key), k.hash_tag());
        }
    }

    #[test]
    fn cluster_slot_matches_redis_reference_values() {
        // Redis Cluster specification: CRC16("123456789") = 0x31C3.
        assert_eq!(cluster_slot("123456789"), 0x31c3 & 0x3fff);
        assert_eq!(cluster_slot("foo"), 12182);
        assert_eq!(
            cluster_slot("{user1000}.following"),
            cluster_slot("user1000")
        );
        assert_eq!(cluster_slot("foo{}{bar}"), cluster_slot("foo{}{bar}"));
        assert_eq!(cluster_hash_tag("foo{}{bar}"), "foo{}{bar}");
        assert_eq!(cluster_hash_tag("foo{{bar}}zap"), "{bar");
        assert_eq!(cluster_hash_tag("foo{bar}{zap}"), "bar");
        assert_eq!(cluster_hash_tag("no tag"), "no tag");
        assert_eq!(cluster_hash_tag("open{only"), "open{only");
    }

    #[test]
    fn fleet_names_are_validated() {
        assert!(SafraKeys::new("a").is_ok());
        assert!(SafraKeys::new(&"x".repeat(MAX_NAME_LEN)).is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_NAME_LEN + 1),
            "has space".into(),
            "br{ace".into(),
            "br}ace".into(),
            "tab\t".into(),
            "nul\0".into(),
            "ação".into(),
            "new\nline".into(),
        ] {
            let e = SafraKeys::new(&bad).unwrap_err();
            assert_eq!(e.code(), "safra.shared.name", "{bad:?}");
            assert!(e.message().starts_with("fleet name: "), "{}", e.message());
        }
        let e = SafraKeys::new("ab}").unwrap_err();
        assert!(e.message().contains("at byte 2"), "{}", e.message());
    }

    #[test]
    fn jti_key_is_the_replay_key_with_the_default_prefix() {
        let r = ReplayKey {
            client_id: "cli:ent".into(),
            jti: "0b8f2b5e-1c1a-4c1e-9a53-3b1e6b0d7f10".into(),
            forget_after: 1_000,
        };
        assert_eq!(
            jti_key(&r),
            "selo:ofb:jti:7:cli:ent:0b8f2b5e-1c1a-4c1e-9a53-3b1e6b0d7f10"
        );
        assert_eq!(jti_key(&r), r.store_key(REPLAY_KEY_PREFIX));
    }

    #[test]
    fn bmp_pending_keys_are_length_prefixed() {
        assert_eq!(
            bmp_pending_key("3f2c1a9e-7b7d-4c2e-8f1a-2d6b9c0e4a11"),
            "selo:bmp:pending:{36:3f2c1a9e-7b7d-4c2e-8f1a-2d6b9c0e4a11}"
        );
        assert_eq!(bmp_pending_key(""), "selo:bmp:pending:{0:}");
        // Multi-byte characters count in bytes.
        assert_eq!(bmp_pending_key("é"), "selo:bmp:pending:{2:é}");
        assert_ne!(bmp_pending_key("1:a"), bmp_pending_key("1"));
        assert_eq!(BMP_PENDING_TTL_SECONDS, 604_800);
    }
}
