package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;

/**
 * The core's remote JWK Set policy (SPEC §3.3a), sans I/O: before verifying
 * a token, ask {@link #decide}; it says whether to verify now with
 * {@link #jwks()} ({@code USE}, maybe with a background refresh to start),
 * to perform a fetch and hand its result back ({@code FETCH}: the single
 * flight), or to wait for the fetch in flight ({@code WAIT}); with no usable
 * set and no fetch allowed it throws {@code ofb.jwks.unavailable} (HTTP 503).
 * Every rule (max age, cooldown for unknown {@code kid}s, backoff,
 * stale-if-error, the redirect and size limits) is the core's; this class
 * only converts types. {@link OfbRemoteJwks} performs the fetches over
 * {@code java.net.http}; use this class directly with another HTTP stack.
 *
 * <p>Calls are serialised per cache (they are short); never call it while
 * holding a lock your fetch needs.
 */
public final class JwksCache extends Handle {
  /** What {@link #decide} says, numbered as {@code SeloJwksDecisionKind}. */
  public enum Kind { USE, FETCH, WAIT }

  /** How a fetch failed before a complete response, numbered as {@code SeloFetchFailure}. */
  public enum Failure { TIMEOUT, NETWORK, TOO_LARGE, REFUSED }

  /**
   * A decision. {@code ticket} names the fetch to perform ({@code FETCH}) or
   * to start in the background ({@code USE} with a refresh; 0 = none);
   * {@code untilMs} is how long a {@code WAIT} may last (Unix ms).
   */
  public record Decision(Kind kind, long ticket, long untilMs) {
    /** A {@code USE} that also asks for a background refresh. */
    public boolean refresh() {
      return kind == Kind.USE && ticket != 0;
    }
  }

  /** The counters: fetches started, failed fetches, refused decisions, keys skipped in the current set. */
  public record Stats(long fetches, long failures, long refused, long skipped) {}

  private JwksCache(Pointer p) {
    super(p, Ffi.N::selo_jwks_cache_free);
  }

  /**
   * A cache for the JWK Set at {@code url} ({@code https}, or {@code http} to
   * a loopback host unless the policy allows it); {@code policyJson} is a
   * JwksPolicy JSON (snake_case, ms; absent members take the core's
   * defaults; null or "" = all defaults). A refused URL or policy throws
   * {@code ofb.jwks.url}.
   */
  public static JwksCache create(String url, String policyJson) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_jwks_cache_new(url, policyJson == null ? "" : policyJson, out));
    return new JwksCache(out.getValue());
  }

  /** The decision for compact JWS {@code token} (null: no {@code kid}) at {@code nowMs} (Unix ms). */
  public synchronized Decision decide(long nowMs, String token) {
    SeloNative.SeloJwksDecision d = new SeloNative.SeloJwksDecision();
    run(p -> Ffi.check(Ffi.N.selo_jwks_cache_decide(p, nowMs, token, d)));
    d.read();
    if (d.kind < 0 || d.kind >= Kind.values().length) {
      throw new SeloException("ffi.invalid_argument", "unknown JWKS decision kind " + d.kind, 3);
    }
    return new Decision(Kind.values()[d.kind], d.ticket, d.until_ms);
  }

  /**
   * Fetch {@code ticket} answered {@code status} with {@code body} (at most
   * {@link #maxBytes()} bytes) at {@code nowMs}. Throws {@code ofb.jwks.fetch}
   * saying why when it is not a 200 with a JWK Set (the core records it and
   * backs off); keys that do not parse are skipped ({@link #skipped()}).
   */
  public synchronized void fetched(long ticket, long nowMs, int status, byte[] body) {
    run(p -> Ffi.check(Ffi.N.selo_jwks_cache_fetched(p, ticket, nowMs, (short) status, body, Ffi.len(body))));
  }

  /**
   * Fetch {@code ticket} ended without a complete response; {@code detail}
   * is your own words for the log (null allowed). Returns the error the core
   * recorded ({@code ofb.jwks.fetch}).
   */
  public synchronized SeloException failed(long ticket, long nowMs, Failure failure, String detail) {
    return use(p -> {
      try {
        Ffi.check(Ffi.N.selo_jwks_cache_failed(p, ticket, nowMs, failure.ordinal(), detail));
      } catch (SeloException e) {
        return e; // always: the error the core recorded
      }
      throw new IllegalStateException("selo_jwks_cache_failed returned SELO_OK");
    });
  }

  /**
   * The set to verify with after a {@code USE} decision: a new handle sharing
   * the cache's keys (close it when done; the Cleaner is the fallback).
   * {@code ofb.jwks.unavailable} when no set was fetched yet.
   */
  public synchronized Ofb.Jwks jwks() {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_jwks_cache_jwks(p, out)));
    return Ofb.Jwks.wrap(out.getValue());
  }

  /** The URL every fetch GETs. */
  public synchronized String url() {
    return use(p -> Ffi.N.selo_jwks_cache_url(p));
  }

  /** The deadline of a whole fetch, connect to last byte (ms). */
  public synchronized long timeoutMs() {
    return use(p -> Ffi.N.selo_jwks_cache_timeout_ms(p));
  }

  /** The most body bytes a fetch reads. */
  public synchronized long maxBytes() {
    return use(p -> Ffi.N.selo_jwks_cache_max_bytes(p));
  }

  public synchronized Stats stats() {
    LongByReference fetches = new LongByReference();
    LongByReference failures = new LongByReference();
    LongByReference refused = new LongByReference();
    LongByReference skipped = new LongByReference();
    run(p -> Ffi.check(Ffi.N.selo_jwks_cache_stats(p, fetches, failures, refused, skipped)));
    return new Stats(fetches.getValue(), failures.getValue(), refused.getValue(), skipped.getValue());
  }

  /** Why each skipped key of the current set was skipped (index, kid, code and message, as the core words it). */
  public synchronized List<String> skipped() {
    return use(p -> {
      LongByReference n = new LongByReference();
      Ffi.check(Ffi.N.selo_jwks_cache_stats(p, null, null, null, n));
      List<String> out = new ArrayList<>();
      for (long i = 0; i < n.getValue(); i++) {
        PointerByReference s = new PointerByReference();
        Ffi.check(Ffi.N.selo_jwks_cache_skipped_at(p, i, s));
        out.add(Ffi.takeString(s));
      }
      return List.copyOf(out);
    });
  }
}
