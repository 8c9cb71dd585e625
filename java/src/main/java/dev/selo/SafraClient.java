package dev.selo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Runs whole Safra PSD operations over HTTP: the handshake, authentication,
 * renewal when the token is due, re-handshake on key expiry (500 +
 * {@code amc-criptografia: erro}), re-initialisation on 480, reconciliation
 * of an ambiguous psd050 — all decided by the session; this class only moves
 * bytes. When no response arrives it tells the session how sending failed
 * ({@link SafraSession#handleTransportError}) and does what the session says:
 * it keeps no list of services that may be resent. Thread-safe: operations
 * run at once from many threads (SPEC §5), the native session locked only
 * around each call into it.
 */
public final class SafraClient implements AutoCloseable {
  /**
   * Moves one request and returns the response (HTTP, or in-process). A
   * failure without a response is thrown: a {@link TransportException} says
   * exactly how it failed; any other exception is classified by
   * {@link #failureOf}.
   */
  public interface Transport {
    HttpMessage.Response send(HttpMessage.Request request) throws IOException, InterruptedException;
  }

  /** A transport failure whose kind the transport knows. */
  public static class TransportException extends IOException {
    private static final long serialVersionUID = 1L;
    private final SafraSession.TransportFailure failure;

    public TransportException(SafraSession.TransportFailure failure, String message, Throwable cause) {
      super(message, cause);
      this.failure = failure;
    }

    public SafraSession.TransportFailure failure() {
      return failure;
    }
  }

  /**
   * How {@code e}, thrown while sending, failed: no connection (refused,
   * unresolved, connect timeout, TLS handshake) is CONNECT — the request was
   * never written; a request timeout is TIMEOUT; any other I/O error (reset,
   * closed without a reply) is RESET; anything else is OTHER.
   */
  public static SafraSession.TransportFailure failureOf(Throwable e) {
    if (e instanceof TransportException t) {
      return t.failure();
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof java.net.http.HttpConnectTimeoutException || c instanceof java.net.ConnectException
          || c instanceof java.net.UnknownHostException || c instanceof java.net.NoRouteToHostException
          || c instanceof java.nio.channels.UnresolvedAddressException
          || c instanceof javax.net.ssl.SSLHandshakeException) {
        return SafraSession.TransportFailure.CONNECT;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    if (e instanceof java.net.http.HttpTimeoutException) {
      return SafraSession.TransportFailure.TIMEOUT;
    }
    if (e instanceof IOException) {
      return SafraSession.TransportFailure.RESET;
    }
    return SafraSession.TransportFailure.OTHER;
  }

  /**
   * A transport over {@link java.net.http.HttpClient}; {@code timeout} bounds
   * each request (no reply by then: a TIMEOUT the session decides about).
   */
  public static final class HttpClientTransport implements Transport {
    private static final java.util.Set<String> RESTRICTED = java.util.Set.of("host", "content-length",
        "connection", "expect", "upgrade");
    private final HttpClient http;
    private final Duration timeout;

    public HttpClientTransport(HttpClient http, Duration timeout) {
      this.http = http;
      this.timeout = timeout;
    }

    public HttpClientTransport() {
      this(Duration.ofSeconds(30));
    }

    /** A transport with its own HttpClient and this per-request timeout. */
    public HttpClientTransport(Duration timeout) {
      this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), timeout);
    }

    @Override
    public HttpMessage.Response send(HttpMessage.Request r) throws IOException, InterruptedException {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(r.url())).timeout(timeout)
          .method(r.method(), HttpRequest.BodyPublishers.ofByteArray(r.body()));
      for (HttpMessage.Header h : r.headers()) {
        if (!RESTRICTED.contains(h.name().toLowerCase(java.util.Locale.ROOT))) {
          b.header(h.name(), h.value());
        }
      }
      HttpResponse<byte[]> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      List<HttpMessage.Header> headers = new ArrayList<>();
      for (Map.Entry<String, List<String>> e : resp.headers().map().entrySet()) {
        for (String v : e.getValue()) {
          headers.add(new HttpMessage.Header(e.getKey(), v));
        }
      }
      return new HttpMessage.Response(resp.statusCode(), headers, resp.body());
    }
  }

  /**
   * One exchange as it happened (for logs and tests); {@code status} is 0 and
   * {@code failure} set when no response arrived.
   */
  public record Exchange(String url, int status, SafraSession.Step step, SafraSession.TransportFailure failure) {
    public Exchange(String url, int status, SafraSession.Step step) {
      this(url, status, step, null);
    }
  }

  private final SafraSession session;
  private final Transport transport;
  private final LongSupplier clock;
  private final List<Exchange> log = java.util.Collections.synchronizedList(new ArrayList<>());
  /** Guards {@link #version}, {@link #leaseTaker} and {@link #recordRead}; waiters await {@link #changed}. */
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Counts what waiters wait for: a response handled, an operation ended, the lease taken or given up. */
  private long version;
  private boolean leaseTaker;
  private boolean recordRead;
  private volatile Duration waitTimeout = Duration.ofSeconds(30);
  private volatile SafraShare share;

  /** A client driving {@code session} over {@code transport}; {@code clock} gives Unix seconds. */
  public SafraClient(SafraSession session, Transport transport, LongSupplier clock) {
    this.session = session;
    this.transport = transport;
    this.clock = clock;
  }

  /** A client over java.net.http with the system clock (30 s per request). */
  public static SafraClient overHttp(SafraSession session) {
    return overHttp(session, Duration.ofSeconds(30));
  }

  /** A client over java.net.http with the system clock and this per-request timeout. */
  public static SafraClient overHttp(SafraSession session, Duration requestTimeout) {
    return new SafraClient(session, new HttpClientTransport(requestTimeout), () -> System.currentTimeMillis() / 1000);
  }

  /**
   * How long an operation waits for another operation's handshake, psd005 or
   * psd007 (each wait; default 30 s): then {@code safra.session.not_ready}
   * and the operation is cancelled.
   */
  public SafraClient waitTimeout(Duration timeout) {
    this.waitTimeout = timeout;
    return this;
  }

  /** How many operations may run at once (default 256; past it {@code safra.session.busy}). */
  public SafraClient maxInFlight(long max) {
    session.setMaxInFlight(max);
    return this;
  }

  /**
   * Shares this client's session with other instances through {@code share}
   * (SPEC §5; e.g. {@code dev.selo.redis.RedisSafraShare}): business calls
   * use the credentials of the fleet's sealed record; a handshake or renewal
   * runs once fleet-wide, under the fleet's lease, and is published for the
   * others. Set it before the first operation.
   */
  public SafraClient shared(SafraShare share) {
    session.setShared(share != null);
    this.share = share;
    return this;
  }

  /** The share set by {@link #shared}, or null. */
  public SafraShare share() {
    return share;
  }

  /** Wakes every waiter. */
  private void signal() {
    lock.lock();
    try {
      version++;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private long version() {
    lock.lock();
    try {
      return version;
    } finally {
      lock.unlock();
    }
  }

  /** Waits until something changed since {@code seen}, bounded by the wait timeout. */
  private void awaitChange(long seen, long deadline) throws InterruptedException {
    lock.lock();
    try {
      while (version == seen) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new SeloException("safra.session.not_ready", "waited " + waitTimeout.toMillis()
              + " ms (waitTimeout) for another call's handshake, psd005 or psd007 to finish: this call was cancelled",
              0);
        }
        changed.awaitNanos(left);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Reads the fleet's record once (the first operation of a shared client). */
  private void readRecordOnce(SafraShare sh, long deadline) throws InterruptedException {
    while (true) {
      long seen;
      lock.lock();
      try {
        if (recordRead) {
          return;
        }
        if (!leaseTaker) {
          leaseTaker = true;
          break;
        }
        seen = version;
      } finally {
        lock.unlock();
      }
      awaitChange(seen, deadline);
    }
    boolean ok = false;
    try {
      sh.readRecord(session);
      ok = true;
    } finally {
      lock.lock();
      try {
        leaseTaker = false;
        recordRead |= ok;
        version++;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Takes the fleet's lease when the session wants it and no other thread of
   * this process is taking it (single-flight); returns whether this thread did.
   */
  private boolean takeLeaseIfWanted(SafraShare sh) throws InterruptedException {
    if (!session.wantsLease() || sh.holdsLease()) {
      return false;
    }
    lock.lock();
    try {
      if (leaseTaker) {
        return false;
      }
      leaseTaker = true;
    } finally {
      lock.unlock();
    }
    try {
      if (session.wantsLease() && !sh.holdsLease()) {
        sh.takeLease(session);
      }
      return true;
    } finally {
      lock.lock();
      try {
        leaseTaker = false;
        version++;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private boolean leaseTakerBusy() {
    lock.lock();
    try {
      return leaseTaker;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs {@code op} to its reply. Operations run at once from many threads:
   * each begins its own operation on the session (SPEC §5) — business calls
   * share the credentials; a handshake, psd005 or psd007 runs once and the
   * operations that need it wait for it (each wait bounded by
   * {@link #waitTimeout}, then {@code safra.session.not_ready}). A thread
   * interrupted or failing with a request in flight cancels its operation
   * (a psd050 in flight stays an unresolved registration). Recovery limits,
   * HTTP 4xx and an unknown psd050 outcome ({@code safra.boleto.outcome_unknown})
   * throw {@link SeloException}, with the transport failure (if any)
   * suppressed in it.
   */
  public SafraReply run(SafraSession.Op op, String payloadJson) throws InterruptedException {
    SafraShare sh = share;
    long timeoutNanos = waitTimeout.toNanos();
    if (sh != null) {
      readRecordOnce(sh, System.nanoTime() + timeoutNanos);
    }
    long opId = session.begin(op, payloadJson);
    boolean ok = false;
    try {
      SafraReply r = loop(opId, sh, timeoutNanos);
      ok = true;
      return r;
    } finally {
      // Ended with a reply or a core error: already gone. Ended any other
      // way (interrupted, a waiter's timeout, a store failure): the session
      // forgets it and keeps the reconcile promise of a psd050 in flight.
      try {
        session.cancel(opId);
      } finally {
        if (!ok && sh != null && sh.holdsLease() && !session.transitionInFlight()) {
          sh.releaseQuietly(session, null);
        }
        if (sh != null && sh.holdsLease() && session.inFlight() == 0) {
          // Nobody left to run the transition the lease was taken for.
          sh.releaseQuietly(session, null);
        }
        signal();
      }
    }
  }

  private SafraReply loop(long opId, SafraShare sh, long timeoutNanos) throws InterruptedException {
    while (true) {
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted: the operation was cancelled");
      }
      if (sh != null) {
        takeLeaseIfWanted(sh);
      }
      long seen = version();
      SafraSession.Next next = session.next(opId, clock.getAsLong());
      if (next instanceof SafraSession.Wait) {
        if (sh != null && session.wantsLease() && !sh.holdsLease() && !leaseTakerBusy()) {
          continue; // take it at the loop head
        }
        awaitChange(seen, System.nanoTime() + timeoutNanos);
        continue;
      }
      SafraSession.Send p = (SafraSession.Send) next;
      boolean transition = sh != null && session.isTransition(p.id());
      HttpMessage.Response resp;
      try {
        resp = transport.send(p.request());
      } catch (InterruptedException e) {
        throw e; // run cancels the operation: a psd050 in flight stays unresolved
      } catch (SeloException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        SafraSession.TransportFailure f = failureOf(e);
        SafraSession.Outcome o;
        try {
          o = session.handleTransportError(p.id(), f, clock.getAsLong());
        } catch (SeloException s) {
          log.add(new Exchange(p.request().url(), 0, null, f));
          s.addSuppressed(e);
          throw s;
        } finally {
          signal();
        }
        log.add(new Exchange(p.request().url(), 0, o.step(), f));
        if (o.done()) {
          return o.reply();
        }
        continue;
      }
      SafraSession.Outcome o;
      try {
        o = session.handleResponse(p.id(), resp, clock.getAsLong());
      } catch (SeloException s) {
        log.add(new Exchange(p.request().url(), resp.status(), null));
        throw s;
      } finally {
        if (transition) {
          sh.publishIfReady(session);
        }
        signal();
      }
      log.add(new Exchange(p.request().url(), resp.status(), o.step()));
      if (o.done()) {
        return o.reply();
      }
    }
  }

  /** {@link #run} on {@code executor}. */
  public java.util.concurrent.CompletableFuture<SafraReply> runAsync(SafraSession.Op op, String payloadJson,
      java.util.concurrent.Executor executor) {
    return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return run(op, payloadJson);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.util.concurrent.CompletionException(e);
      }
    }, executor);
  }

  /** {@link #registerBoleto} on {@code executor}. */
  public java.util.concurrent.CompletableFuture<SafraReply> registerBoletoAsync(String boletoJson,
      java.util.concurrent.Executor executor) {
    return runAsync(SafraSession.Op.REGISTER_BOLETO, boletoJson, executor);
  }

  public SafraReply handshake() throws InterruptedException {
    return run(SafraSession.Op.HANDSHAKE, "");
  }

  public SafraReply authenticate() throws InterruptedException {
    return run(SafraSession.Op.AUTHENTICATE, "");
  }

  public SafraReply renew() throws InterruptedException {
    return run(SafraSession.Op.RENEW, "");
  }

  /** psd050 with the boleto JSON (SPEC §2.7 member names). */
  public SafraReply registerBoleto(String boletoJson) throws InterruptedException {
    return run(SafraSession.Op.REGISTER_BOLETO, boletoJson);
  }

  /** psd052. */
  public SafraReply queryBoleto(String nossoNumero, String seuNumero) throws InterruptedException {
    String q = "{\"documento\":{\"nossoNumero\":" + Json.quote(nossoNumero) + ",\"seuNumero\":"
        + Json.quote(seuNumero) + "}}";
    return run(SafraSession.Op.QUERY_BOLETO, q);
  }

  /** The session's unresolved registrations ({@link SafraSession#unresolvedRegistrations()}). */
  public List<SafraSession.Unresolved> unresolvedRegistrations() {
    return session.unresolvedRegistrations();
  }

  /** {@link SafraSession#resolveRegistration(long)}. */
  public boolean resolveRegistration(long nossoNumero) {
    return session.resolveRegistration(nossoNumero);
  }

  /** Every exchange so far. */
  public List<Exchange> exchanges() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  public SafraSession session() {
    return session;
  }

  @Override
  public void close() {
    session.close();
  }
}
