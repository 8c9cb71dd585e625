package dev.selo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The OFB resource-server helper with a replay store of your own (Redis, a
 * database) and a fixed or remote JWK Set. Stages 1–6 are the core's; then
 * the store is asked once, and must answer exactly {@code "fresh"} or
 * {@code "replayed"}. Anything else — null, another string, an exception —
 * refuses the request with 503 {@code ofb.replay.store_failed} (fail closed);
 * the store's error text never reaches the response ({@code onStoreError}
 * sees it). Redis with Jedis, for example:
 *
 * <pre>{@code
 * (clientId, jti, now) -> {
 *   String r = jedis.set("jti:" + clientId + ":" + jti, "1", SetParams.setParams().nx().ex(86400));
 *   return "OK".equals(r) ? "fresh" : r == null ? "replayed" : null;  // SET NX: nil = the key existed = replay
 * }
 * }</pre>
 *
 * Bodies are limited to {@code maxBodyBytes} (default 1 MiB): 413.
 */
public final class OfbRequestVerifier {
  /** A replay store: records (clientId, jti) atomically; answers "fresh" or "replayed". */
  @FunctionalInterface
  public interface ReplayStore {
    String checkAndInsert(String clientId, String jti, long now) throws Exception;
  }

  /** The code of a store failure. */
  public static final String STORE_FAILED = "ofb.replay.store_failed";

  private final Ofb.Jwks jwks;
  private final OfbRemoteJwks remote;
  private final ReplayStore store;
  private final String profileJson;
  private long maxBodyBytes = BodyLimit.DEFAULT_MAX_BYTES;
  private Consumer<Exception> onStoreError;

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
    this.jwks = jwks;
    this.remote = remote;
    this.store = store;
    this.profileJson = profileJson == null ? "" : profileJson;
  }

  /** The body limit of {@link #verify(String, String, InputStream, long, String, String, String, long)}. */
  public OfbRequestVerifier maxBodyBytes(long n) {
    this.maxBodyBytes = n;
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
    byte[] bytes;
    try {
      bytes = BodyLimit.read(body, declaredLength, maxBodyBytes);
    } catch (BodyLimit.TooLargeException e) {
      return new Ofb.ServerDecision(null, BodyLimit.tooLargeResponse(maxBodyBytes), e.getCode());
    }
    List<HttpMessage.Header> hs = new ArrayList<>();
    if (contentType != null) {
      hs.add(new HttpMessage.Header("content-type", contentType));
    }
    return verify(new HttpMessage.Request(method, aud, hs, bytes), aud, iss, clientId, now);
  }

  /** The decision for a received request. */
  public Ofb.ServerDecision verify(HttpMessage.Request request, String aud, String iss, String clientId, long now) {
    byte[] body = request.body();
    if (body.length > maxBodyBytes) {
      return new Ofb.ServerDecision(null, BodyLimit.tooLargeResponse(maxBodyBytes), "http.body_too_large");
    }
    Ofb.Jwks set = remote != null ? remote.forToken(new String(body, StandardCharsets.UTF_8)) : jwks;
    try (Ofb.JtiCache scratch = Ofb.JtiCache.create(1, false)) {
      // Stages 1–6 (an empty cache always answers fresh)…
      Ofb.ServerDecision first = Ofb.serverVerify(request, set, aud, iss, clientId, profileJson, scratch, now);
      if (!first.accepted()) {
        return first;
      }
      String jti = jtiOf(first.verifiedJson());
      String answer;
      try {
        answer = store.checkAndInsert(clientId, jti, now);
      } catch (Exception e) {
        if (onStoreError != null) {
          onStoreError.accept(e);
        }
        return storeFailed("the replay store failed");
      }
      if ("fresh".equals(answer)) {
        return first;
      }
      if ("replayed".equals(answer)) {
        // …and the core's own replay refusal: the scratch cache now holds this jti.
        return Ofb.serverVerify(request, set, aud, iss, clientId, profileJson, scratch, now);
      }
      if (onStoreError != null) {
        onStoreError.accept(new IllegalStateException("replay store answered " + describe(answer)));
      }
      return storeFailed("the replay store answered " + describe(answer) + ", not \"fresh\" or \"replayed\"");
    }
  }

  private static String describe(String answer) {
    return answer == null ? "null" : "another string"; // never the text itself: it may carry host:port
  }

  private static String jtiOf(String verifiedJson) {
    if (MiniJson.parse(verifiedJson) instanceof Map<?, ?> v && v.get("claims") instanceof Map<?, ?> c
        && c.get("jti") instanceof String jti) {
      return jti;
    }
    throw new IllegalStateException("verified token without claims.jti");
  }

  /** The 503 decision for a store failure (our detail, never the store's text). */
  static Ofb.ServerDecision storeFailed(String message) {
    String detail = STORE_FAILED + ": " + message + "; replay cannot be ruled out";
    String body = "{\"errors\":[{\"code\":\"REPLAY_STORE_UNAVAILABLE\",\"title\":\"Replay protection unavailable\","
        + "\"detail\":" + Json.quote(detail) + "}]}";
    return new Ofb.ServerDecision(null, new HttpMessage.Response(503,
        List.of(new HttpMessage.Header("content-type", "application/json")), body.getBytes(StandardCharsets.UTF_8)),
        STORE_FAILED);
  }
}
