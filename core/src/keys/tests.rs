use super::*;

#[test]
fn imports_every_private_form_to_the_same_key() {
    let pkcs8 = RsaPrivateKey::import(fixture!("external/keys/rsa1024-client.pem")).unwrap();
    let pkcs1 = RsaPrivateKey::import(fixture!("keys/rsa1024-client-pkcs1.pem")).unwrap();
    let der8 = RsaPrivateKey::import(&pkcs8.to_pkcs8_der().unwrap()).unwrap();
    let der1 = RsaPrivateKey::import(&pkcs8.to_pkcs1_der().unwrap()).unwrap();
    assert_eq!(pkcs8.bits(), 1024);
    for k in [&pkcs1, &der8, &der1] {
        assert_eq!(k.public_key(), pkcs8.public_key());
    }
    let pem = pkcs8.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(
        RsaPrivateKey::import(pem.as_bytes()).unwrap().public_key(),
        pkcs8.public_key()
    );
}

#[test]
fn imports_every_public_form_to_the_same_key() {
    let expected = RsaPrivateKey::import(fixture!("external/keys/rsa1024-client.pem"))
        .unwrap()
        .public_key();
    for (f, bytes) in [
        (
            "keys/rsa1024-client-pub.pem",
            fixture!("keys/rsa1024-client-pub.pem"),
        ),
        (
            "keys/rsa1024-client-pub-pkcs1.pem",
            fixture!("keys/rsa1024-client-pub-pkcs1.pem"),
        ),
        (
            "external/keys/rsa1024-client.pem",
            fixture!("external/keys/rsa1024-client.pem"),
        ),
    ] {
        assert_eq!(RsaPublicKey::import(bytes).unwrap(), expected, "{f}");
    }
    for fmt in KeyFormat::ALL {
        let bytes = expected.encode(fmt).unwrap();
        assert_eq!(RsaPublicKey::import(&bytes).unwrap(), expected, "{fmt:?}");
    }
    let rebuilt = RsaPublicKey::from_components(&expected.modulus(), &expected.exponent()).unwrap();
    assert_eq!(rebuilt, expected);
    assert_eq!(expected.exponent(), vec![1, 0, 1]);
}

#[test]
fn takes_the_public_key_of_a_certificate() {
    let expected = RsaPrivateKey::import(fixture!("external/keys/rsa2048-ofb.pem"))
        .unwrap()
        .public_key();
    assert_eq!(
        RsaPublicKey::import(fixture!("keys/rsa2048-ofb-cert.pem")).unwrap(),
        expected
    );
    assert_eq!(
        RsaPublicKey::import(fixture!("keys/rsa2048-ofb-cert.der")).unwrap(),
        expected
    );
}

#[test]
fn errors_name_the_format_and_reason() {
    let e = RsaPrivateKey::import(fixture!("keys/rsa1024-client-encrypted.pem")).unwrap_err();
    assert_eq!(e.code(), "key.import.encrypted");
    let e = RsaPrivateKey::import(fixture!("keys/ec-p256.pem")).unwrap_err();
    assert_eq!(e.code(), "key.import.not_rsa", "{e}");
    let e = RsaPublicKey::import(fixture!("keys/ec-p256-pub.pem")).unwrap_err();
    assert_eq!(e.code(), "key.import.not_rsa", "{e}");
    assert!(e.message().contains("1.2.840.10045.2.1"), "{e}");
    let e = RsaPublicKey::import(
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    )
    .unwrap_err();
    assert_eq!(e.code(), "key.import.unsupported_pem_label");
    let e = RsaPublicKey::import(b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")
        .unwrap_err();
    assert_eq!(e.code(), "key.import.bad_pem");
    let e = RsaPublicKey::import(&[0x30, 0x03, 0x02, 0x01, 0x01]).unwrap_err();
    assert_eq!(e.code(), "key.import.bad_der");
    let e = RsaPrivateKey::import(b"garbage").unwrap_err();
    assert_eq!(e.code(), "key.import.bad_der");
    let e = RsaPrivateKey::generate(512, &mut crate::rng::seeded([1; 32])).unwrap_err();
    assert_eq!(e.code(), "key.size");
}

#[test]
fn debug_never_prints_key_material() {
    let k = RsaPrivateKey::import(fixture!("external/keys/rsa1024-client.pem")).unwrap();
    let dbg = format!("{k:?}");
    assert_eq!(dbg, "RsaPrivateKey { bits: 1024, .. }");
}

#[test]
fn generates_1024_with_e_65537() {
    let k = RsaPrivateKey::generate(1024, &mut crate::rng::seeded([2; 32])).unwrap();
    assert_eq!(k.bits(), 1024);
    assert_eq!(k.public_key().exponent(), vec![1, 0, 1]);
}

proptest::proptest! {
    #[test]
    fn import_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = RsaPublicKey::import(&data);
        let _ = RsaPrivateKey::import(&data);
    }

    #[test]
    fn pem_import_never_panics(body in "[A-Za-z0-9+/=\n]{0,200}", label in "(PUBLIC KEY|PRIVATE KEY|CERTIFICATE|RSA PUBLIC KEY)") {
        let pem = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let _ = RsaPublicKey::import(pem.as_bytes());
        let _ = RsaPrivateKey::import(pem.as_bytes());
    }
}
