package dev.selo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A remote JWK Set over {@code java.net.http}, obeying the core's policy
 * ({@link JwksCache}, SPEC §3.3a): the core decides when to fetch, when a
 * request may use the set it has, when it waits, when it is refused
 * ({@code ofb.jwks.unavailable}, 503); this class only performs the GETs
 * it is told to:
 * <ul>
 *   <li>redirects are never followed ({@code Redirect.NEVER}; a 3xx is handed
 *       to the core, which refuses it);</li>
 *   <li>the body is read incrementally and reading stops past the policy's
 *       {@code max_bytes} (default 512 KiB): failure {@code TOO_LARGE};</li>
 *   <li>ONE deadline for the whole fetch, connect to last byte
 *       ({@code timeout_ms}, default 5 s): past it the request is cancelled,
 *       failure {@code TIMEOUT};</li>
 *   <li>one fetch in flight, shared: requests that must wait for it wait on
 *       the same future, at most until the core's {@code until_ms}; a request
 *       whose {@code kid} is in the set never waits (an old set is refreshed
 *       in the background);</li>
 *   <li>no lock is held during an HTTP exchange.</li>
 * </ul>
 * The clock (Unix ms) is injectable. {@link #close()} may come at any time:
 * calls in flight finish safely, later ones throw {@code ffi.closed}.
 */
public final class OfbRemoteJwks implements AutoCloseable {
  /**
   * A policy (members you set; every other one takes the core's default).
   * {@code OfbRemoteJwks.policy().maxAge(Duration.ofMinutes(5)).toJson()}.
   */
  public static final class Policy {
    private final Map<String, String> members = new LinkedHashMap<>();

    private Policy set(String name, long ms) {
      if (ms < 0) {
        throw new IllegalArgumentException(name + ": negative");
      }
      members.put(name, Long.toString(ms));
      return this;
    }

    public Policy maxAge(Duration d) {
      return set("max_age_ms", d.toMillis());
    }

    /**
     * An unknown {@code kid} fetches only when no fetch started within this
     * period, the first fetch included (default 30 s).
     */
    public Policy cooldown(Duration d) {
      return set("cooldown_ms", d.toMillis());
    }

    /** The one deadline of a whole fetch. */
    public Policy timeout(Duration d) {
      return set("timeout_ms", d.toMillis());
    }

    public Policy backoffInitial(Duration d) {
      return set("backoff_initial_ms", d.toMillis());
    }

    public Policy backoffMax(Duration d) {
      return set("backoff_max_ms", d.toMillis());
    }

    public Policy staleGrace(Duration d) {
      return set("stale_grace_ms", d.toMillis());
    }

    public Policy maxBytes(long n) {
      return set("max_bytes", n);
    }

    /** Accept an {@code http} URL to a host that is not loopback (never in production). */
    public Policy allowHttp(boolean allow) {
      members.put("allow_http", Boolean.toString(allow));
      return this;
    }

    /** The JwksPolicy JSON the core reads. */
    public String toJson() {
      StringBuilder b = new StringBuilder("{");
      members.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
      return b.append('}').toString();
    }
  }

  /** A policy builder. */
  public static Policy policy() {
    return new Policy();
  }

  /**
   * A fetch that did not produce a set: {@code failure} says how it ended
   * without a complete response (null when a response arrived and the core
   * refused it: a status, a redirect, not a JWK Set); {@code error} is the
   * core's {@code ofb.jwks.fetch} error, its cause the Java exception, if any.
   */
  public record FetchError(JwksCache.Failure failure, SeloException error) {}

  /** The body went past the byte limit: reading stopped. */
  static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    TooLargeException(long limit) {
      super("the body went past " + limit + " bytes");
    }
  }

  private final JwksCache cache;
  private final URI uri;
  private final HttpClient http;
  private final LongSupplier clock;
  private final long timeoutMs;
  private final long maxBytes;
  /** Guards {@link #flight} and orders decisions with the flights they start. */
  private final Object lock = new Object();
  private CompletableFuture<Void> flight = CompletableFuture.completedFuture(null);
  private volatile CompletableFuture<?> exchange;
  private volatile Consumer<FetchError> onFetchError;
  private volatile FetchError lastFetchError;

  /** The default policy, a new HTTP client, the system clock. */
  public OfbRemoteJwks(String url) {
    this(url, "", null, null);
  }

  /** {@code policyJson}: a JwksPolicy JSON ({@link #policy()}), "" = the defaults. */
  public OfbRemoteJwks(String url, String policyJson) {
    this(url, policyJson, null, null);
  }

  /**
   * {@code http} null: a new client that never follows redirects (a client
   * of your own must not follow them either: {@code Redirect.NEVER});
   * {@code clockMillis} null: the system clock. A refused URL or policy
   * throws {@code ofb.jwks.url}.
   */
  public OfbRemoteJwks(String url, String policyJson, HttpClient http, LongSupplier clockMillis) {
    if (http != null && http.followRedirects() != HttpClient.Redirect.NEVER) {
      throw new IllegalArgumentException("http: a JWKS client must not follow redirects (Redirect.NEVER)");
    }
    this.cache = JwksCache.create(url, policyJson);
    try {
      this.uri = URI.create(cache.url());
    } catch (IllegalArgumentException e) {
      cache.close();
      throw new SeloException("ofb.jwks.url", "JWKS URL is not a URI Java can request", 13);
    }
    this.http = http != null ? http : HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    this.clock = clockMillis != null ? clockMillis : System::currentTimeMillis;
    // u64/size_t from the core: past Long.MAX_VALUE reads negative here.
    long t = cache.timeoutMs();
    this.timeoutMs = t < 0 ? Long.MAX_VALUE / 4 : Math.min(t, Long.MAX_VALUE / 4);
    long b = cache.maxBytes();
    this.maxBytes = b < 0 ? Long.MAX_VALUE : b;
  }

  /** Sees every failed fetch (logging, metrics); never sent to a client. */
  public OfbRemoteJwks onFetchError(Consumer<FetchError> f) {
    this.onFetchError = f;
    return this;
  }

  /**
   * The set to verify compact JWS {@code token} with (a new handle sharing the
   * cache's keys: close it when done; the Cleaner is the fallback). Fetches
   * when the core says so, waits for the fetch in flight when it says so;
   * throws {@code ofb.jwks.unavailable} when there is no usable set.
   */
  public Ofb.Jwks forToken(String token) {
    while (true) {
      long now = clock.getAsLong();
      JwksCache.Decision d;
      CompletableFuture<Void> current;
      synchronized (lock) {
        d = cache.decide(now, token);
        if (d.kind() == JwksCache.Kind.FETCH || d.refresh()) {
          flight = new CompletableFuture<>();
        }
        current = flight;
      }
      // The lock is released: the exchange runs without it.
      switch (d.kind()) {
        case USE -> {
          if (d.refresh()) {
            launch(d.ticket(), current); // in the background: this request does not wait
          }
          return cache.jwks();
        }
        case FETCH -> {
          launch(d.ticket(), current);
          await(current, timeoutMs + 1_000);
        }
        default -> await(current, Math.max(d.untilMs() - now, 5));
      }
    }
  }

  private void await(CompletableFuture<Void> f, long ms) {
    try {
      f.get(ms, TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException | CancellationException e) {
      // decide again
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SeloException("ofb.jwks.unavailable", "interrupted while waiting for the JWK Set fetch", 13);
    }
  }

  /** Performs fetch {@code ticket} off this thread; {@code done} completes once the core has its result. */
  private void launch(long ticket, CompletableFuture<Void> done) {
    CompletableFuture<HttpResponse<byte[]>> send;
    try {
      HttpRequest req = HttpRequest.newBuilder(uri).header("accept", "application/json").GET().build();
      send = http.sendAsync(req, info -> new CappedBody(maxBytes,
          info.headers().firstValueAsLong("content-length").orElse(-1)));
    } catch (RuntimeException e) {
      report(ticket, null, e, done);
      return;
    }
    exchange = send;
    // One deadline for the whole exchange (connect, headers, body); past it
    // the exchange is cancelled, which aborts the connection.
    send.copy().orTimeout(timeoutMs, TimeUnit.MILLISECONDS).whenComplete((resp, err) -> {
      if (err != null) {
        send.cancel(true);
      }
      report(ticket, resp, err, done);
    });
  }

  private void report(long ticket, HttpResponse<byte[]> resp, Throwable err, CompletableFuture<Void> done) {
    try {
      long now = clock.getAsLong();
      if (resp != null) {
        try {
          cache.fetched(ticket, now, resp.statusCode(), resp.body());
        } catch (SeloException e) {
          if ("ffi.closed".equals(e.getCode())) {
            throw e;
          }
          fetchError(null, e);
        }
      } else {
        JwksCache.Failure kind = failureOf(err);
        SeloException e = cache.failed(ticket, now, kind, describe(err));
        e.initCause(unwrap(err));
        fetchError(kind, e);
      }
    } catch (SeloException | IllegalStateException e) {
      // closed meanwhile: nobody is left to tell
    } finally {
      done.complete(null);
    }
  }

  private void fetchError(JwksCache.Failure kind, SeloException e) {
    FetchError fe = new FetchError(kind, e);
    lastFetchError = fe;
    Consumer<FetchError> f = onFetchError;
    if (f != null) {
      try {
        f.accept(fe);
      } catch (RuntimeException ignored) {
        // a listener's failure is not the fetch's
      }
    }
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof java.util.concurrent.CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** How a fetch without a complete response failed. */
  static JwksCache.Failure failureOf(Throwable err) {
    for (Throwable c = err; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof TooLargeException) {
        return JwksCache.Failure.TOO_LARGE;
      }
    }
    for (Throwable c = err; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof TimeoutException || c instanceof java.net.http.HttpTimeoutException) {
        return JwksCache.Failure.TIMEOUT;
      }
      if (c instanceof javax.net.ssl.SSLException || c instanceof IllegalArgumentException
          || c instanceof SecurityException) {
        return JwksCache.Failure.REFUSED;
      }
    }
    return JwksCache.Failure.NETWORK;
  }

  /** The host's words for the log: the exception types only (their text may carry addresses). */
  private static String describe(Throwable err) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = unwrap(err); c != null && b.length() < 200; c = c.getCause() == c ? null : c.getCause()) {
      b.append(b.length() > 0 ? " < " : "").append(c.getClass().getSimpleName());
    }
    return b.toString();
  }

  /** The last failed fetch since this object was made (null when none failed). */
  public FetchError lastFetchError() {
    return lastFetchError;
  }

  /** The core's counters (fetches started, failures, refused decisions, skipped keys). */
  public JwksCache.Stats stats() {
    return cache.stats();
  }

  /** Fetches started so far. */
  public long fetches() {
    return cache.stats().fetches();
  }

  /** Keys of the current set that did not parse, as the core describes them. */
  public List<String> skipped() {
    return cache.skipped();
  }

  /** The JWK Set URL. */
  public String url() {
    return uri.toString();
  }

  /** Test hook: waits (at most {@code ms}) for the fetch in flight, if any, to be reported. */
  boolean awaitIdle(long ms) throws InterruptedException {
    CompletableFuture<Void> f;
    synchronized (lock) {
      f = flight;
    }
    try {
      f.get(ms, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException | CancellationException e) {
      return true;
    }
  }

  /** Cancels the exchange in flight, if any, and frees the cache (after the calls in flight). */
  @Override
  public void close() {
    CompletableFuture<?> x = exchange;
    if (x != null) {
      x.cancel(true);
    }
    cache.close();
  }

  /** Reads a body incrementally, stopping past {@code max} bytes (declared or received). */
  static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    private final long max;
    private final long declared;
    private Flow.Subscription subscription;
    private long total;

    CappedBody(long max, long declared) {
      this.max = max;
      this.declared = declared;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (declared > max) {
        s.cancel();
        result.completeExceptionally(new TooLargeException(max));
      } else {
        s.request(1);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer b : items) {
        int n = b.remaining();
        total += n;
        if (total > max) {
          subscription.cancel();
          result.completeExceptionally(new TooLargeException(max));
          return;
        }
        byte[] chunk = new byte[n];
        b.get(chunk);
        buf.write(chunk, 0, n);
      }
      subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(buf.toByteArray());
    }
  }
}
