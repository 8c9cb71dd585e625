package dev.selo;

import com.sun.jna.ptr.PointerByReference;

/** An RSA public key. */
public final class PublicKey extends Handle {
  PublicKey(com.sun.jna.Pointer p) {
    super(p, Ffi.N::selo_public_key_free);
  }

  /** Imports PEM or DER (SPKI, PKCS#1, X.509 certificate). */
  public static PublicKey importKey(byte[] data) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_public_key_import(data, Ffi.len(data), out));
    return new PublicKey(out.getValue());
  }

  public int bits() {
    return use(p -> (int) Ffi.N.selo_public_key_bits(p));
  }

  /** Encodes as "der-spki", "pem-spki" or "der-pkcs1". */
  public byte[] encode(String format) {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    run(p -> Ffi.check(Ffi.N.selo_public_key_encode(p, format, out)));
    return Ffi.takeBuffer(out);
  }

  /** The public JWK (alg PS256, use sig); an empty kid means the RFC 7638 thumbprint. */
  public String toJwk(String kid) {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_public_key_to_jwk(p, kid, out)));
    return Ffi.takeString(out);
  }

  public boolean sameKey(PublicKey other) {
    return use(p -> other.use(q -> Ffi.N.selo_public_key_equals(p, q) != 0));
  }
}
