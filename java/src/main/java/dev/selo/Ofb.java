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

    /** Owns a native set selo handed out (a cache's shared set). */
    static Jwks wrap(Pointer p) {
      return new Jwks(p);
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

  /**
   * A request that passed every check but replay (phase one of
   * {@link #checkRequest}): ask your replay store to record
   * {@link #storeKey(String)} for {@link #ttlSeconds(long)} seconds
   * atomically (Redis: {@code SET key 1 NX EX ttl}), then hand its answer to
   * {@link #finish(String)}. Close it when done (the Cleaner is the fallback).
   */
  public static final class Pending extends Handle {
    private Pending(Pointer p) {
      super(p, Ffi.N::selo_ofb_pending_free);
    }

    /** The replay scope (the caller's client id). */
    public synchronized String clientId() {
      return use(p -> Ffi.N.selo_ofb_pending_client_id(p));
    }

    /** The token's {@code jti}, lower-case when it is a UUID. */
    public synchronized String jti() {
      return use(p -> Ffi.N.selo_ofb_pending_jti(p));
    }

    /**
     * The key your store records: {@code <prefix>:<length of client id>:<client id>:<jti>};
     * {@code prefix} null or empty = {@code selo:ofb:jti}.
     */
    public synchronized String storeKey(String prefix) {
      PointerByReference out = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_ofb_pending_store_key(p, prefix, out)));
      return Ffi.takeString(out);
    }

    /** How long the store keeps the key at {@code now} (Unix s): the token's remaining acceptance window, 1..86400. */
    public synchronized long ttlSeconds(long now) {
      return use(p -> Ffi.N.selo_ofb_pending_ttl_seconds(p, now));
    }

    /**
     * Phase two: the store's answer, exactly {@code "fresh"} or
     * {@code "replayed"}; anything else (null included) is a store failure:
     * 503 {@code ofb.replay.store_failed}, whose body never holds the
     * answer's text. Spends this request.
     */
    public synchronized ServerDecision finish(String answer) {
      PointerByReference v = new PointerByReference();
      PointerByReference rej = new PointerByReference();
      PointerByReference code = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_ofb_request_finish(p, answer, v, rej, code)));
      return decision(v, rej, code);
    }
  }

  /** Phase one's outcome: a {@link Pending} request, or the refusal to send. */
  public record Check(Pending pending, ServerDecision refused) {
    public boolean passed() {
      return pending != null;
    }
  }

  /**
   * Phase one of the resource-server check with a replay store of your own:
   * method, content type, size and stages 1–6, one verification. Replay is
   * left to {@link Pending#finish(String)}.
   */
  public static Check checkRequest(HttpMessage.Request request, Jwks jwks, String aud, String iss, String clientId,
      String profileJson, long now) {
    Pointer r = Ffi.nativeRequest(request);
    try {
      PointerByReference pending = new PointerByReference();
      PointerByReference rej = new PointerByReference();
      PointerByReference code = new PointerByReference();
      jwks.run(j -> Ffi.check(Ffi.N.selo_ofb_request_check(r, j, aud, iss, clientId,
          profileJson == null ? "" : profileJson, now, pending, rej, code)));
      if (pending.getValue() != null) {
        return new Check(new Pending(pending.getValue()), null);
      }
      return new Check(null, decision(new PointerByReference(), rej, code));
    } finally {
      Ffi.N.selo_request_free(r);
    }
  }

  private static ServerDecision decision(PointerByReference verified, PointerByReference rej,
      PointerByReference code) {
    String v = Ffi.takeString(verified);
    HttpMessage.Response rejection = rej.getValue() == null ? null : Ffi.takeResponse(rej.getValue());
    return new ServerDecision(v, rejection, Ffi.takeString(code));
  }

  /**
   * The OFB error response for an {@code ofb.*} code and message, as the
   * server helpers send it (status, JSON {@code errors} body): built by the
   * core, never by the host.
   */
  public static HttpMessage.Response errorResponse(String code, String message) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_ofb_error_response(code, message, out));
    return Ffi.takeResponse(out.getValue());
  }
}
