package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/** The partner side of BMP: signs bodies with the shared key, verifies MACs. */
public final class BmpSigner extends Handle {
  private BmpSigner(Pointer p) {
    super(p, Ffi.N::selo_bmp_signer_free);
  }

  /** A signer for the shared key (128 alphanumerics) and a BmpProfile JSON ("" = defaults). */
  public static BmpSigner create(String key, String profileJson) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_signer_new(key, profileJson, out));
    return new BmpSigner(out.getValue());
  }

  /** A new random 128-character shared key. */
  public static String generateKey() {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_generate_key(out));
    return Ffi.takeString(out);
  }

  public synchronized void setSeed(byte[] seed) {
    run(p -> Ffi.check(Ffi.N.selo_bmp_signer_set_seed(p, seed, Ffi.len(seed))));
  }

  /**
   * Canonicalises JSON text and signs it: the POST to send (Content-Type,
   * IdempotencyKey, hmac; exact body). Keep it: every retry sends it unchanged.
   */
  public synchronized HttpMessage.Request signJson(String url, byte[] json) {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_bmp_signer_sign_json(p, url, json, Ffi.len(json), out)));
    return Ffi.takeRequest(out.getValue());
  }

  /** Signs exact (already canonical) body bytes with a given idempotency key. */
  public synchronized HttpMessage.Request signBytes(String url, byte[] body, String idempotencyKey) {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_bmp_signer_sign_bytes(p, url, body, Ffi.len(body), idempotencyKey, out)));
    return Ffi.takeRequest(out.getValue());
  }

  /** The hmac header value for exact body bytes. */
  public synchronized String hmac(byte[] body) {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_bmp_signer_hmac(p, body, Ffi.len(body), out)));
    return Ffi.takeString(out);
  }

  /** Throws {@code bmp.mac.mismatch} / {@code bmp.mac.encoding} unless the hmac matches. */
  public synchronized void verify(byte[] body, String hmac) {
    run(p -> Ffi.check(Ffi.N.selo_bmp_signer_verify(p, body, Ffi.len(body), hmac)));
  }

  /** The canonical body bytes of a JSON text. */
  public static byte[] canonical(byte[] json, String profileJson) {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    Ffi.check(Ffi.N.selo_bmp_canonical(json, Ffi.len(json), profileJson, out));
    return Ffi.takeBuffer(out);
  }
}
