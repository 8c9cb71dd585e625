package dev.selo;

import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;

/** An RSA private key held by selo (zeroized when closed). */
public final class PrivateKey extends Handle {
  PrivateKey(com.sun.jna.Pointer p) {
    super(p, Ffi.N::selo_private_key_free);
  }

  /** Imports PEM or DER (PKCS#8, PKCS#1). */
  public static PrivateKey importKey(byte[] data) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_private_key_import(data, Ffi.len(data), out));
    return new PrivateKey(out.getValue());
  }

  /** Imports PEM text. */
  public static PrivateKey fromPem(String pem) {
    return importKey(pem.getBytes(StandardCharsets.UTF_8));
  }

  /** Generates a key (1024, 2048, 3072 or 4096 bits). */
  public static PrivateKey generate(int bits) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_private_key_generate(bits, out));
    return new PrivateKey(out.getValue());
  }

  public int bits() {
    return use(p -> (int) Ffi.N.selo_private_key_bits(p));
  }

  public PublicKey publicKey() {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_private_key_public(p, out)));
    return new PublicKey(out.getValue());
  }

  /** PKCS#8 PEM (a secret). */
  public String toPkcs8Pem() {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_private_key_to_pkcs8_pem(p, out)));
    return Ffi.takeString(out);
  }
}
