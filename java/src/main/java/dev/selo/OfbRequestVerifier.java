package dev.selo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The OFB resource-server helper with a replay store of your own (Redis, a
 * database) and a fixed or remote JWK Set. One verification per request,
 * all of it the core's: {@link Ofb#checkRequest} (method, content type,
 * size, stages 1–6) → your store records the key the core names for the TTL
 * the core names → {@link Ofb.Pending#finish} decides. The store must answer
 * exactly {@code "fresh"} (recorded now) or {@code "replayed"} (the key
 * existed); anything else — null, another string, an exception — refuses
 * the request with 503 {@code ofb.replay.store_failed} (fail closed), whose
 * body (the core's) never holds the store's text ({@code onStoreError} sees
 * it). Redis with Jedis, for example:
 *
 * <pre>{@code
 * OfbRequestVerifier.ReplayStore store = (key, ttlSeconds) -> {
 *   // key = "selo:ofb:jti:<length of client id>:<client id>:<jti>", ttl = the token's remaining window
 *   String r = jedis.set(key, "1", SetParams.setParams().nx().ex(ttlSeconds));
 *   return "OK".equals(r) ? "fresh" : r == null ? "replayed" : null;  // SET NX: nil = the key existed = replay
 * };
 * }</pre>
 *
 * Bodies are limited to {@code maxBodyBytes} (default 1 MiB): 413, the
 * core's response. With a remote JWK Set that has no usable set, the answer
 * is the core's 503 {@code ofb.jwks.unavailable}.
 */
public final class OfbRequestVerifier {
  /**
   * A replay store: records {@code key} for {@code ttlSeconds} atomically
   * (both from the core: {@link Ofb.Pending#storeKey}, {@link Ofb.Pending#ttlSeconds})
   * and answers {@code "fresh"} (it was not there) or {@code "replayed"}
   * (it was).
   */
  @FunctionalInterface
  public interface ReplayStore {
    String checkAndInsert(String key, long ttlSeconds) throws Exception;
  }

  /** The code of a store failure. */
  public static final String STORE_FAILED = "ofb.replay.store_failed";

  private final Ofb.Jwks jwks;
  private final OfbRemoteJwks remote;
  private final ReplayStore store;
  private final String profileJson;
  private volatile long maxBodyBytes = BodyLimit.DEFAULT_MAX_BYTES;
  private volatile String keyPrefix;
  private volatile Consumer<Exception> onStoreError;

  public OfbRequestVerifier(Ofb.Jwks jwks, ReplayStore store, String profileJson) {
    this(jwks, null, store, profileJson);
  }

  public OfbRequestVerifier(OfbRemoteJwks remote, ReplayStore store, String profileJson) {
    this(null, remote, store, profileJson);
  }

  private OfbRequestVerifier(Ofb.Jwks jwks, OfbRemoteJwks remote, ReplayStore store, String profileJson) {
    if (store == null) {
      throw new IllegalArgumentException("store: required (Ofb.serverVerify takes the in-memory JtiCache)");
    }
    if (jwks == null && remote == null) {
      throw new IllegalArgumentException("jwks: required");
    }
    this.jwks = jwks;
    this.remote = remote;
    this.store = store;
    this.profileJson = profileJson == null ? "" : profileJson;
  }

  /** The body limit (default 1 MiB). */
  public OfbRequestVerifier maxBodyBytes(long n) {
    this.maxBodyBytes = n;
    return this;
  }

  /** The store keys' prefix (default {@code selo:ofb:jti}). */
  public OfbRequestVerifier keyPrefix(String prefix) {
    this.keyPrefix = prefix;
    return this;
  }

  /** Sees the store's own failure (logging); never sent to the client. */
  public OfbRequestVerifier onStoreError(Consumer<Exception> f) {
    this.onStoreError = f;
    return this;
  }

  /** Reads the body (at most {@code maxBodyBytes}; 413 beyond, unread) and verifies it. */
  public Ofb.ServerDecision verify(String method, String contentType, InputStream body, long declaredLength,
      String aud, String iss, String clientId, long now) throws IOException {
    long limit = maxBodyBytes;
    byte[] bytes;
    try {
      bytes = BodyLimit.read(body, declaredLength, limit);
    } catch (BodyLimit.TooLargeException e) {
      return new Ofb.ServerDecision(null, BodyLimit.tooLargeResponse(limit), e.getCode());
    }
    List<HttpMessage.Header> hs = new ArrayList<>();
    if (contentType != null) {
      hs.add(new HttpMessage.Header("content-type", contentType));
    }
    return verify(new HttpMessage.Request(method, aud, hs, bytes), aud, iss, clientId, now);
  }

  /** The decision for a received request. */
  public Ofb.ServerDecision verify(HttpMessage.Request request, String aud, String iss, String clientId, long now) {
    long limit = maxBodyBytes;
    byte[] body = request.body();
    if (body.length > limit) {
      return new Ofb.ServerDecision(null, BodyLimit.tooLargeResponse(limit), "http.body_too_large");
    }
    Ofb.Jwks set;
    if (remote != null) {
      try {
        // The core reads the token's kid (bounded); nothing here parses it.
        set = remote.forToken(new String(body, StandardCharsets.UTF_8));
      } catch (SeloException e) {
        if (!e.getCode().startsWith("ofb.")) {
          throw e;
        }
        return new Ofb.ServerDecision(null, Ofb.errorResponse(e.getCode(), messageOf(e)), e.getCode());
      }
    } else {
      set = jwks;
    }
    try {
      Ofb.Check check = Ofb.checkRequest(request, set, aud, iss, clientId, profileJson, now);
      if (!check.passed()) {
        return check.refused();
      }
      try (Ofb.Pending pending = check.pending()) {
        String answer;
        try {
          answer = store.checkAndInsert(pending.storeKey(keyPrefix), pending.ttlSeconds(now));
        } catch (Exception e) {
          Consumer<Exception> f = onStoreError;
          if (f != null) {
            f.accept(e);
          }
          answer = null; // the core answers 503 ofb.replay.store_failed
        }
        if (answer != null && !"fresh".equals(answer) && !"replayed".equals(answer)) {
          Consumer<Exception> f = onStoreError;
          if (f != null) {
            f.accept(new IllegalStateException("the replay store answered neither \"fresh\" nor \"replayed\""));
          }
          // A C string ends at a NUL: "fresh\0…" must not reach the core as "fresh".
          answer = answer.indexOf('\0') >= 0 ? null : answer;
        }
        return pending.finish(answer);
      }
    } finally {
      if (remote != null) {
        set.close();
      }
    }
  }

  /** The core's message without its code prefix (the response builder adds the code). */
  private static String messageOf(SeloException e) {
    String m = e.getMessage();
    String prefix = e.getCode() + ": ";
    return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
  }
}
