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
 * {@code amc-criptografia: erro}), re-initialisation on 480 — all decided by
 * the session; this class only moves bytes. Thread-safe (one operation at a
 * time per client).
 */
public final class SafraClient implements AutoCloseable {
  /** Moves one request and returns the response (HTTP, or in-process). */
  public interface Transport {
    HttpMessage.Response send(HttpMessage.Request request) throws IOException, InterruptedException;
  }

  /** A transport over {@link java.net.http.HttpClient}. */
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
      this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), Duration.ofSeconds(30));
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

  /** One exchange as it happened (for logs and tests). */
  public record Exchange(String url, int status, SafraSession.Step step) {}

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

  /** A client over java.net.http with the system clock. */
  public static SafraClient overHttp(SafraSession session) {
    return new SafraClient(session, new HttpClientTransport(), () -> System.currentTimeMillis() / 1000);
  }

  /** Runs {@code op} to its reply. Recovery limits and HTTP 4xx throw {@link SeloException}. */
  public synchronized SafraReply run(SafraSession.Op op, String payloadJson)
      throws IOException, InterruptedException {
    while (true) {
      SafraSession.Prepared p = session.prepareNext(op, payloadJson, clock.getAsLong());
      HttpMessage.Response resp = transport.send(p.request());
      SafraSession.Outcome o = session.handleResponse(p.id(), resp, clock.getAsLong());
      log.add(new Exchange(p.request().url(), resp.status(), o.step()));
      if (o.done()) {
        return o.reply();
      }
    }
  }

  public SafraReply handshake() throws IOException, InterruptedException {
    return run(SafraSession.Op.HANDSHAKE, "");
  }

  public SafraReply authenticate() throws IOException, InterruptedException {
    return run(SafraSession.Op.AUTHENTICATE, "");
  }

  public SafraReply renew() throws IOException, InterruptedException {
    return run(SafraSession.Op.RENEW, "");
  }

  /** psd050 with the boleto JSON (SPEC §2.7 member names). */
  public SafraReply registerBoleto(String boletoJson) throws IOException, InterruptedException {
    return run(SafraSession.Op.REGISTER_BOLETO, boletoJson);
  }

  /** psd052. */
  public SafraReply queryBoleto(String nossoNumero, String seuNumero) throws IOException, InterruptedException {
    String q = "{\"documento\":{\"nossoNumero\":" + Json.quote(nossoNumero) + ",\"seuNumero\":"
        + Json.quote(seuNumero) + "}}";
    return run(SafraSession.Op.QUERY_BOLETO, q);
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
