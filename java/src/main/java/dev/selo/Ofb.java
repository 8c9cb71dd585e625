package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/** Open Finance Brasil JWS (PS256). */
public final class Ofb {
  private Ofb() {}

  /** A JWK Set. */
  public static final class Jwks extends Handle {
    private Jwks(Pointer p) {
      super(p, Ffi.N::selo_jwks_free);
    }

    public static Jwks parse(String json) {
      PointerByReference out = new PointerByReference();
      Ffi.check(Ffi.N.selo_jwks_parse(json, out));
      return new Jwks(out.getValue());
    }

    /** The set without private members (what you publish). */
    public String toPublicJson() {
      PointerByReference out = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_jwks_to_public_json(p, out)));
      return Ffi.takeString(out);
    }
  }

  /** A PS256 signer: key (≥ 2048 bits), kid, our organisationId (iss), profile. */
  public static final class Signer extends Handle {
    private Signer(Pointer p) {
      super(p, Ffi.N::selo_ofb_signer_free);
    }

    public static Signer create(PrivateKey key, String kid, String iss, String profileJson) {
      PointerByReference out = new PointerByReference();
      key.run(k -> Ffi.check(Ffi.N.selo_ofb_signer_new(k, kid, iss, profileJson, out)));
      return new Signer(out.getValue());
    }

    public synchronized void setSeed(byte[] seed) {
      run(p -> Ffi.check(Ffi.N.selo_ofb_signer_set_seed(p, seed, Ffi.len(seed))));
    }

    /** The compact JWS of {@code payloadJson} for {@code aud}; {@code exp} 0 = none. */
    public synchronized String sign(String payloadJson, String aud, long exp, long now) {
      PointerByReference out = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_ofb_signer_sign(p, payloadJson, aud, exp, now, out)));
      return Ffi.takeString(out);
    }
  }

  /** A jti replay cache with a hard bound. */
  public static final class JtiCache extends Handle {
    private JtiCache(Pointer p) {
      super(p, Ffi.N::selo_jti_cache_free);
    }

    public static JtiCache create(long capacity, boolean evictOldest) {
      PointerByReference out = new PointerByReference();
      Ffi.check(Ffi.N.selo_jti_cache_new(capacity, (byte) (evictOldest ? 1 : 0), out));
      return new JtiCache(out.getValue());
    }

    /** Records the pair; throws {@code ofb.replay.jti} on a replay. */
    public synchronized void check(String clientId, String jti, long now) {
      run(p -> Ffi.check(Ffi.N.selo_jti_cache_check(p, clientId, jti, now)));
    }

    public synchronized long size() {
      return use(p -> Ffi.N.selo_jti_cache_len(p));
    }
  }

  /** Verifies a token (SPEC §3.2 stages 1–6); returns {"header","payload","claims","kid"} JSON. */
  public static String verify(String token, Jwks jwks, String aud, String iss, String profileJson, long now) {
    PointerByReference out = new PointerByReference();
    jwks.run(j -> Ffi.check(Ffi.N.selo_ofb_verify(token, j, aud, iss, profileJson, now, out)));
    return Ffi.takeString(out);
  }

  /** The resource-server decision: verified JSON, or the error response and code. */
  public record ServerDecision(String verifiedJson, HttpMessage.Response rejection, String errorCode) {
    public boolean accepted() {
      return verifiedJson != null;
    }
  }

  /** Checks a received request (method, content type, stages 1–6, replay). */
  public static ServerDecision serverVerify(HttpMessage.Request request, Jwks jwks, String aud, String iss,
      String clientId, String profileJson, JtiCache cache, long now) {
    Pointer r = Ffi.nativeRequest(request);
    try {
      PointerByReference v = new PointerByReference();
      PointerByReference rej = new PointerByReference();
      PointerByReference code = new PointerByReference();
      synchronized (cache) {
        jwks.run(j -> cache.run(c -> Ffi.check(Ffi.N.selo_ofb_server_verify(r, j, aud, iss, clientId, profileJson,
            c, now, v, rej, code))));
      }
      String verified = Ffi.takeString(v);
      HttpMessage.Response rejection = rej.getValue() == null ? null : Ffi.takeResponse(rej.getValue());
      return new ServerDecision(verified, rejection, Ffi.takeString(code));
    } finally {
      Ffi.N.selo_request_free(r);
    }
  }
}
