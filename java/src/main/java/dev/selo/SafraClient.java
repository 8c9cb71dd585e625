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
import java.util.function.LongSupplier;

/**
 * Runs whole Safra PSD operations over HTTP: the handshake, authentication,
 * renewal when the token is due, re-handshake on key expiry (500 +
 * {@code amc-criptografia: erro}), re-initialisation on 480, reconciliation
 * of an ambiguous psd050 — all decided by the session; this class only moves
 * bytes. When no response arrives it tells the session how sending failed
 * ({@link SafraSession#handleTransportError}) and does what the session says:
 * it keeps no list of services that may be resent. Thread-safe (one
 * operation at a time per client).
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
  private final List<Exchange> log = new ArrayList<>();

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
   * Runs {@code op} to its reply. Recovery limits, HTTP 4xx and an unknown
   * psd050 outcome ({@code safra.boleto.outcome_unknown}) throw
   * {@link SeloException}, with the transport failure (if any) suppressed in it.
   */
  public synchronized SafraReply run(SafraSession.Op op, String payloadJson) throws InterruptedException {
    while (true) {
      SafraSession.Prepared p = session.prepareNext(op, payloadJson, clock.getAsLong());
      HttpMessage.Response resp;
      try {
        resp = transport.send(p.request());
      } catch (InterruptedException e) {
        // The request may have left: tell the session before giving up.
        try {
          session.handleTransportError(p.id(), SafraSession.TransportFailure.OTHER, clock.getAsLong());
        } catch (SeloException s) {
          e.addSuppressed(s);
        }
        throw e;
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
      }
      log.add(new Exchange(p.request().url(), resp.status(), o.step()));
      if (o.done()) {
        return o.reply();
      }
    }
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
  public synchronized List<Exchange> exchanges() {
    return List.copyOf(log);
  }

  public SafraSession session() {
    return session;
  }

  @Override
  public void close() {
    session.close();
  }
}
