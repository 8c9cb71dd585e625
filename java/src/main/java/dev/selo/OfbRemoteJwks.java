package dev.selo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A remote JWK Set, fetched and cached the way jose's
 * {@code createRemoteJWKSet} does, over {@code java.net.http.HttpClient}:
 * each fetch times out ({@code timeout}, default 5 s:
 * {@link FetchException} with kind {@code "timeout"}); the set is reused for
 * {@code maxAge} (default 10 min); a token whose {@code kid} is not in the
 * set triggers a refetch at most once per {@code cooldown} (default 30 s);
 * threads that miss together share one fetch; a key of the set that does not
 * parse is skipped and reported ({@link #skipped()}, {@code onSkippedKey}),
 * the other keys stay usable. The clock (milliseconds) is injectable.
 */
public final class OfbRemoteJwks implements AutoCloseable {
  /** A key of the fetched set that did not parse. */
  public record SkippedKey(int index, String kid, String error) {}

  /** The set could not be fetched: code {@code ofb.jwks.fetch} (driver-level); {@code kind()} says why. */
  public static final class FetchException extends SeloException {
    private static final long serialVersionUID = 1L;
    private final String kind;

    public FetchException(String kind, String message, Throwable cause) {
      super("ofb.jwks.fetch", message, 0);
      this.kind = kind;
      if (cause != null) {
        initCause(cause);
      }
    }

    /** "timeout", "network", "status" or "malformed". */
    public String kind() {
      return kind;
    }
  }

  private final URI uri;
  private final HttpClient http;
  private final Duration timeout;
  private final long maxAgeMs;
  private final long cooldownMs;
  private final LongSupplier clock;
  private final Consumer<SkippedKey> onSkipped;
  private final Object fetchLock = new Object();
  private volatile Ofb.Jwks set;
  private volatile Set<String> kids = Set.of();
  private volatile List<SkippedKey> skipped = List.of();
  private volatile long fetchedAt = Long.MIN_VALUE;
  private volatile long attemptAt = Long.MIN_VALUE;
  private volatile int fetches;

  /** Defaults: 5 s timeout, 10 min max age, 30 s cooldown, the system clock. */
  public OfbRemoteJwks(String url) {
    this(url, null, Duration.ofSeconds(5), Duration.ofMinutes(10), Duration.ofSeconds(30), null, null);
  }

  /** {@code http} null: a new client; {@code clockMillis} null: the system clock. */
  public OfbRemoteJwks(String url, HttpClient http, Duration timeout, Duration maxAge, Duration cooldown,
      LongSupplier clockMillis, Consumer<SkippedKey> onSkippedKey) {
    this.uri = URI.create(url);
    this.timeout = timeout;
    this.http = http != null ? http : HttpClient.newBuilder().connectTimeout(timeout).build();
    this.maxAgeMs = maxAge.toMillis();
    this.cooldownMs = cooldown.toMillis();
    this.clock = clockMillis != null ? clockMillis : System::currentTimeMillis;
    this.onSkipped = onSkippedKey;
  }

  private boolean need(String kid) {
    long now = clock.getAsLong();
    if (set == null || now - fetchedAt >= maxAgeMs) {
      return true;
    }
    return kid != null && !kids.contains(kid) && now - attemptAt >= cooldownMs;
  }

  /**
   * The set, fetched when there is none or it is older than the max age, or
   * when {@code kid} is unknown and the cooldown has passed.
   */
  public Ofb.Jwks get(String kid) {
    if (need(kid)) {
      synchronized (fetchLock) {
        if (need(kid)) { // another thread may have just fetched
          fetch();
        }
      }
    }
    return set;
  }

  /** The set for a compact JWS (by its header's {@code kid}). */
  public Ofb.Jwks forToken(String token) {
    return get(kidOf(token));
  }

  /** Fetches now. */
  public void refresh() {
    synchronized (fetchLock) {
      fetch();
    }
  }

  private void fetch() {
    attemptAt = clock.getAsLong();
    fetches++;
    HttpResponse<byte[]> r;
    try {
      HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).header("accept", "application/json").GET()
          .build();
      r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      throw new FetchException("timeout", "JWKS " + uri + ": no answer within " + timeout.toMillis() + " ms", e);
    } catch (IOException e) {
      throw new FetchException("network", "JWKS " + uri + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FetchException("network", "JWKS " + uri + ": interrupted", e);
    }
    if (r.statusCode() != 200) {
      throw new FetchException("status", "JWKS " + uri + " answered HTTP " + r.statusCode(), null);
    }
    String text = new String(r.body(), StandardCharsets.UTF_8);
    List<String> keys;
    try {
      keys = MiniJson.rawArrayMember(text, "keys");
    } catch (IllegalArgumentException e) {
      throw new FetchException("malformed", "JWKS " + uri + ": not JSON (" + e.getMessage() + ")", e);
    }
    if (keys == null) {
      throw new FetchException("malformed", "JWKS " + uri + ": no \"keys\" array", null);
    }
    List<String> good = new ArrayList<>();
    Set<String> goodKids = new HashSet<>();
    List<SkippedKey> bad = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      String raw = keys.get(i);
      String kid = null;
      try {
        if (MiniJson.parse(raw) instanceof Map<?, ?> m && m.get("kid") instanceof String k) {
          kid = k;
        }
      } catch (IllegalArgumentException e) {
        // reported below by the core's parse
      }
      try (Ofb.Jwks one = Ofb.Jwks.parse("{\"keys\":[" + raw + "]}")) {
        good.add(raw);
        if (kid != null) {
          goodKids.add(kid);
        }
      } catch (SeloException e) {
        bad.add(new SkippedKey(i, kid, e.getMessage()));
      }
    }
    Ofb.Jwks next = Ofb.Jwks.parse("{\"keys\":[" + String.join(",", good) + "]}");
    set = next; // the previous set is freed by its cleaner when unreachable
    kids = Set.copyOf(goodKids);
    skipped = List.copyOf(bad);
    fetchedAt = clock.getAsLong();
    if (onSkipped != null) {
      bad.forEach(onSkipped);
    }
  }

  /** Keys of the last fetched set that did not parse. */
  public List<SkippedKey> skipped() {
    return skipped;
  }

  /** Fetches started so far. */
  public int fetches() {
    return fetches;
  }

  /** The {@code kid} of a compact JWS header (null when unreadable); nothing is verified. */
  public static String kidOf(String token) {
    try {
      String head = token.strip().split("\\.", 2)[0];
      String json = new String(java.util.Base64.getUrlDecoder().decode(head), StandardCharsets.UTF_8);
      return MiniJson.parse(json) instanceof Map<?, ?> m && m.get("kid") instanceof String k ? k : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Override
  public void close() {
    // HttpClient has no close before Java 21; the sets are freed by their cleaners.
  }
}
