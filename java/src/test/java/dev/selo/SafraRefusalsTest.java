package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Safra bank role's access refusals, each provoked by changing exactly one
 * thing in a request the bank otherwise accepts, asserting the stable code in
 * the error body and the HTTP status: safra.handshake.session_mismatch (400),
 * safra.handshake.bad_signature (400), safra.handshake.unknown_session (400),
 * safra.bank.unauthorized (401).
 */
class SafraRefusalsTest {
  static final long NOW = 1_800_000_000L;
  static final Pattern CODIGO = Pattern.compile("\"codigo\"\\s*:\\s*\"([a-z0-9_.]+)\"");
  PrivateKey bankKey;
  PrivateKey clientKey;
  final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void setUp() {
    bankKey = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-bank.pem"));
    clientKey = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    bankKey.close();
    clientKey.close();
  }

  SafraBank bank() {
    SafraBank b = SafraBank.create("", bankKey, 600, () -> NOW);
    open.add(b);
    return b;
  }

  SafraSession session() {
    SafraSession s = SafraSession.create("", "https://bank.test/psd", "CLIENTE01");
    s.setClientKey(clientKey);
    open.add(s);
    return s;
  }

  static HttpMessage.Request withHeader(HttpMessage.Request r, String name, String value) {
    List<HttpMessage.Header> hs = new ArrayList<>();
    boolean changed = false;
    for (HttpMessage.Header h : r.headers()) {
      if (h.name().equalsIgnoreCase(name)) {
        hs.add(new HttpMessage.Header(h.name(), value));
        changed = true;
      } else {
        hs.add(h);
      }
    }
    assertTrue(changed, "no " + name + " header to change");
    return new HttpMessage.Request(r.method(), r.url(), hs, r.body());
  }

  static void refused(HttpMessage.Response r, String code, int status) {
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertEquals(status, r.status(), body);
    Matcher m = CODIGO.matcher(body);
    assertTrue(m.find(), body);
    assertEquals(code, m.group(1), body);
  }

  /** Stage 1 done with {@code bank}; returns the stage-2 request. */
  static SafraSession.Prepared stage1(SafraSession s, SafraBank bank) {
    SafraSession.Prepared p1 = s.prepareNext(SafraSession.Op.HANDSHAKE, "", NOW);
    HttpMessage.Response r1 = bank.handle(p1.request(), NOW);
    assertEquals(200, r1.status(), new String(r1.body(), StandardCharsets.UTF_8));
    assertFalse(s.handleResponse(p1.id(), r1, NOW).done());
    SafraSession.Prepared p2 = s.prepareNext(SafraSession.Op.HANDSHAKE, "", NOW);
    assertTrue(new String(p2.request().body(), StandardCharsets.UTF_8).contains("\"parametros\""));
    return p2;
  }

  static void authenticate(SafraSession s, SafraBank bank) {
    for (int i = 0; i < 10; i++) {
      SafraSession.Prepared p = s.prepareNext(SafraSession.Op.AUTHENTICATE, "", NOW);
      if (s.handleResponse(p.id(), bank.handle(p.request(), NOW), NOW).done()) {
        return;
      }
    }
    throw new AssertionError("authentication did not finish");
  }

  static HttpMessage.Request query(SafraSession s) {
    return s.prepareNext(SafraSession.Op.QUERY_BOLETO,
        "{\"documento\":{\"nossoNumero\":\"000000123456789\",\"seuNumero\":\"0000004021\"}}", NOW).request();
  }

  static final Pattern PARAMETROS = Pattern.compile("\"parametros\"\\s*:\\s*\"([^\".]+)\\.([^\"]+)\"");

  /** The encrypted session id (first part of {@code parametros}). */
  static String encryptedSessionId(HttpMessage.Request r) {
    Matcher m = PARAMETROS.matcher(new String(r.body(), StandardCharsets.UTF_8));
    assertTrue(m.find(), "no parametros in the stage-2 body");
    return m.group(1);
  }

  /** {@code r} with the encrypted session id of its parametros replaced (signature kept). */
  static HttpMessage.Request withEncryptedSessionId(HttpMessage.Request r, String enc) {
    String body = new String(r.body(), StandardCharsets.UTF_8);
    String old = encryptedSessionId(r);
    assertNotEquals(old, enc);
    return new HttpMessage.Request(r.method(), r.url(), r.headers(),
        body.replace(old + ".", enc + ".").getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void stage2OfAnotherSessionIsSessionMismatch() {
    // B's stage 2 carrying A's encrypted session id: B's header and B's
    // signature over its GUID verify, the decrypted GUID is A's.
    SafraBank bank = bank();
    SafraSession a = session();
    SafraSession b = session();
    SafraSession.Prepared p2a = stage1(a, bank);
    SafraSession.Prepared p2b = stage1(b, bank);
    assertNotEquals(a.sessionId(), b.sessionId());
    refused(bank.handle(withEncryptedSessionId(p2b.request(), encryptedSessionId(p2a.request())), NOW),
        "safra.handshake.session_mismatch", 400);
    assertEquals(200, bank.handle(p2b.request(), NOW).status());
  }

  @Test
  void stage2UnderAnotherSessionsHeaderIsBadSignature() {
    // The bank checks the client's signature over the header's GUID before
    // any RSA decryption: B's request under A's amc-session-id fails there.
    SafraBank bank = bank();
    SafraSession a = session();
    SafraSession b = session();
    stage1(a, bank);
    SafraSession.Prepared p2b = stage1(b, bank);
    refused(bank.handle(withHeader(p2b.request(), "amc-session-id", a.sessionId()), NOW),
        "safra.handshake.bad_signature", 400);
    assertEquals(200, bank.handle(p2b.request(), NOW).status());
  }

  @Test
  void stage2WithoutStage1IsUnknownSession() {
    SafraSession.Prepared p2 = stage1(session(), bank());
    refused(bank().handle(p2.request(), NOW), "safra.handshake.unknown_session", 400);
  }

  /**
   * An authenticated session's query with the last character of its
   * {@code header} changed (to {@code a}, or to {@code b} where it is
   * {@code a}) is refused; unchanged, it reaches the business layer (the
   * boleto is unknown: 550). Returns the header as the session sent it.
   */
  String oneCharacterChangedIsUnauthorized(String header, String a, String b) {
    SafraBank bank = bank();
    SafraSession s = session();
    authenticate(s, bank);
    HttpMessage.Request q = query(s);
    String value = q.header(header).orElseThrow();
    String broken = value.substring(0, value.length() - 1) + (value.endsWith(a) ? b : a);
    refused(bank.handle(withHeader(q, header, broken), NOW), "safra.bank.unauthorized", 401);
    assertEquals(550, bank.handle(q, NOW).status());
    return value;
  }

  @Test
  void bearerTokenOneCharacterChangedIsUnauthorized() {
    String auth = oneCharacterChangedIsUnauthorized("authorization", "A", "B");
    assertTrue(auth.startsWith("Bearer "), auth);
  }

  @Test
  void workIdOneCharacterChangedIsUnauthorized() {
    oneCharacterChangedIsUnauthorized("amc-work-id", "0", "1");
  }
}
