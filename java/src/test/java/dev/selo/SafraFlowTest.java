package dev.selo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole psd flow through SafraClient against the core's bank role, both
 * in-process and over real HTTP (java.net.http to a loopback server whose
 * handler is the bank role).
 */
class SafraFlowTest extends SafraBankFixture {
  static List<String> services(List<SafraClient.Exchange> ex) {
    List<String> out = new ArrayList<>();
    for (SafraClient.Exchange e : ex) {
      out.add(e.url().substring(e.url().lastIndexOf('/') + 1) + ":" + e.status());
    }
    return out;
  }

  void fullFlow(SafraClient c) throws Exception {
    SafraReply auth = c.authenticate();
    assertEquals(SafraReply.Kind.AUTHENTICATED, auth.kind());
    assertEquals(T0 + 600 - 60, auth.renewAt().orElseThrow());
    assertEquals(List.of("psd001:200", "psd001:200", "psd005:200"), services(c.exchanges()));

    SafraReply reg = c.registerBoleto(Vectors.text("safra/boleto-sample.json"));
    assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind());
    assertEquals(44, reg.codigoBarras().orElseThrow().length());
    String nosso = reg.nossoNumero().orElseThrow();

    // Renewal: the token is due, psd007 goes first.
    clock.set(T0 + 545);
    SafraReply q = c.queryBoleto(nosso, "0000004021");
    assertEquals(SafraReply.Kind.BOLETO_QUERIED, q.kind());
    List<String> s = services(c.exchanges());
    assertEquals(List.of("psd007:200", "psd052:200"), s.subList(s.size() - 2, s.size()));

    // Key expiry: 500 + amc-criptografia: erro -> new handshake, psd005, retry.
    bank.inject(SafraBank.Fault.EXPIRE_KEY);
    String before = c.session().sessionId();
    clock.set(T0 + 560);
    assertEquals(SafraReply.Kind.BOLETO_QUERIED, c.queryBoleto(nosso, "0000004021").kind());
    s = services(c.exchanges());
    assertEquals(List.of("psd052:500", "psd001:200", "psd001:200", "psd005:200", "psd052:200"),
        s.subList(s.size() - 5, s.size()));
    assertTrue(c.exchanges().get(c.exchanges().size() - 5).step() == SafraSession.Step.REHANDSHAKE);
    assertTrue(!before.equals(c.session().sessionId()), "a new session GUID after re-handshake");

    // 480: re-initialisation (profile default on_480 = reinit).
    bank.inject(SafraBank.Fault.ANSWER_480);
    assertEquals(SafraReply.Kind.BOLETO_QUERIED, c.queryBoleto(nosso, "0000004021").kind());
    s = services(c.exchanges());
    assertEquals(List.of("psd052:480", "psd001:200", "psd001:200", "psd005:200", "psd052:200"),
        s.subList(s.size() - 5, s.size()));

    // 550 is a reply, not an exception.
    bank.inject(SafraBank.Fault.ANSWER_550);
    SafraReply biz = c.queryBoleto(nosso, "0000004021");
    assertEquals(SafraReply.Kind.BUSINESS_ERROR, biz.kind());
    assertTrue(biz.field("codigo").isPresent());

    // Validation errors carry their code and never reach the wire.
    int n = c.exchanges().size();
    SeloException e = assertThrows(SeloException.class, () -> c.registerBoleto("{\"agencia\":1}"));
    assertEquals("safra.boleto.missing_field", e.getCode());
    assertEquals(n, c.exchanges().size());

    // Export / import: another process continues without a handshake.
    byte[] blob = c.session().export();
    try (SafraSession other = SafraSession.importSession(blob)) {
      assertEquals(SafraSession.State.AUTHENTICATED, other.state());
      SafraClient c2 = new SafraClient(other, bank, clock::get);
      assertEquals(SafraReply.Kind.BOLETO_QUERIED, c2.queryBoleto(nosso, "0000004021").kind());
      assertEquals(1, c2.exchanges().size());
    }
  }

  @Test
  void wholeFlowInProcess() throws Exception {
    try (SafraClient c = client(bank, "http://bank.invalid/psd")) {
      fullFlow(c);
    }
  }

  @Test
  void wholeFlowOverJavaNetHttp() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/psd/", ex -> {
      List<HttpMessage.Header> headers = new ArrayList<>();
      ex.getRequestHeaders().forEach((k, vs) -> vs.forEach(v -> headers.add(new HttpMessage.Header(k, v))));
      byte[] body = ex.getRequestBody().readAllBytes();
      String url = "http://127.0.0.1" + ex.getRequestURI();
      HttpMessage.Response r = bank.handle(new HttpMessage.Request(ex.getRequestMethod(), url, headers, body),
          clock.get());
      r.headers().forEach(h -> ex.getResponseHeaders().add(h.name(), h.value()));
      byte[] out = r.body();
      ex.sendResponseHeaders(r.status(), out.length == 0 ? -1 : out.length);
      if (out.length > 0) {
        ex.getResponseBody().write(out);
      }
      ex.close();
    });
    server.start();
    try (SafraClient c = client(new SafraClient.HttpClientTransport(),
        "http://127.0.0.1:" + server.getAddress().getPort() + "/psd")) {
      fullFlow(c);
    } finally {
      server.stop(0);
    }
  }

  @Test
  void tooManyRecoveriesIsAnError() throws Exception {
    try (SafraClient c = client(bank, "http://bank.invalid/psd")) {
      c.authenticate();
      for (int i = 0; i < 10; i++) {
        bank.inject(SafraBank.Fault.EXPIRE_KEY);
      }
      // Each expiry costs a re-handshake; the bank expires every non-handshake call.
      SeloException e = assertThrows(SeloException.class, () -> c.queryBoleto("1", "2"));
      assertEquals("safra.session.too_many_recoveries", e.getCode());
      assertEquals(12, e.getStatus());
    }
  }

  @Test
  void sessionIdIsAGuidAndExportRoundTrips() {
    try (SafraSession s = SafraSession.create("", "homologation", "C")) {
      assertEquals("", s.sessionId()); // no id before the first handshake request
      byte[] blob = s.export();
      try (SafraSession t = SafraSession.importSession(blob)) {
        assertArrayEquals(blob, t.export());
      }
      // The first handshake request gives the session its id: a version-4
      // GUID, sent as amc-session-id.
      s.setClientKey(clientKey);
      SafraSession.Prepared p = s.prepareNext(SafraSession.Op.HANDSHAKE, "", T0);
      String sid = s.sessionId();
      assertTrue(sid.matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), sid);
      assertEquals(sid, p.request().header("amc-session-id").orElseThrow());
      SeloException e = assertThrows(SeloException.class, () -> SafraSession.importSession(new byte[] {'{'}));
      assertEquals("safra.session.bad_snapshot", e.getCode());
    }
  }
}
