package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Servers that hold (issues 12 and 20): replay stores fail closed and get
 * the core's key and TTL, one verification per request, body limits with the
 * core's 413. The remote JWK Set has its own tests ({@link OfbRemoteJwksTest}).
 */
class OfbHoldTest {
  static final String AUD = "https://rs.example/payments";
  static final String SECRET = "redis://user:hunter2@10.1.2.3:6379";
  static PrivateKey key;
  static String goodJwk;
  static Ofb.Signer signer;

  @BeforeAll
  static void setUp() {
    key = PrivateKey.fromPem(Vectors.text("external/keys/rsa2048-ofb.pem"));
    try (PublicKey pub = key.publicKey()) {
      goodJwk = pub.toJwk("cli");
    }
    signer = Ofb.Signer.create(key, "cli", "org-a", "");
  }

  @AfterAll
  static void tearDown() {
    signer.close();
    key.close();
  }

  static long now() {
    return System.currentTimeMillis() / 1000;
  }

  static HttpMessage.Request request(String token) {
    return new HttpMessage.Request("POST", AUD, List.of(new HttpMessage.Header("Content-Type", "application/jwt")),
        token.getBytes(StandardCharsets.UTF_8));
  }

  static HttpMessage.Request fresh() {
    return request(signer.sign("{\"data\":{}}", AUD, 0, now()));
  }

  static Ofb.Jwks jwks() {
    return Ofb.Jwks.parse("{\"keys\":[" + goodJwk + "]}");
  }

  static void assertStoreFailed(Ofb.ServerDecision d) {
    assertFalse(d.accepted());
    assertEquals("ofb.replay.store_failed", d.errorCode());
    assertEquals(503, d.rejection().status());
    String body = new String(d.rejection().body(), StandardCharsets.UTF_8);
    assertTrue(body.contains("ofb.replay.store_failed"), body);
    assertFalse(body.contains("10.1.2.3") || body.contains("hunter2"), body);
  }

  // ---- replay stores fail closed ----

  @Test
  void storeAnsweringNullOrGarbageIs503() {
    for (String answer : new String[] {null, "OK", "FRESH", "", "ERR " + SECRET, "true", "fresh\u0000" + SECRET,
        "fresh ", "replayed\n"}) {
      List<Exception> seen = new ArrayList<>();
      assertStoreFailed(new OfbRequestVerifier(jwks(), (k, ttl) -> answer, "").onStoreError(seen::add)
          .verify(fresh(), AUD, "org-a", "c", now()));
      assertEquals(answer == null ? 0 : 1, seen.size(), String.valueOf(answer));
    }
  }

  @Test
  void storeThrowingIs503WithoutItsText() {
    List<Exception> seen = new ArrayList<>();
    var v = new OfbRequestVerifier(jwks(), (k, ttl) -> {
      throw new java.io.IOException("connect to " + SECRET + " refused");
    }, "").onStoreError(seen::add);
    assertStoreFailed(v.verify(fresh(), AUD, "org-a", "c", now()));
    assertEquals(1, seen.size());
    assertStoreFailed(new OfbRequestVerifier(jwks(), (k, ttl) -> {
      throw new IllegalStateException(SECRET);
    }, "").verify(fresh(), AUD, "org-a", "c", now()));
  }

  @Test
  void realReplayIs403AndFreshPasses() {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    // SET NX as Redis answers it: "OK" when set, null when the key existed.
    OfbRequestVerifier.ReplayStore store = (k, ttl) -> {
      String r = seen.add(k) ? "OK" : null;
      return "OK".equals(r) ? "fresh" : r == null ? "replayed" : null;
    };
    var v = new OfbRequestVerifier(jwks(), store, "");
    HttpMessage.Request req = fresh();
    assertTrue(v.verify(req, AUD, "org-a", "c", now()).accepted());
    Ofb.ServerDecision again = v.verify(req, AUD, "org-a", "c", now());
    assertEquals("ofb.replay.jti", again.errorCode());
    assertEquals(403, again.rejection().status());
    assertTrue(v.verify(req, AUD, "org-a", "other-client", now()).accepted());
  }

  // ---- the replay-store contract: key and TTL from the core ----

  static String jtiOf(String token) {
    String payload = new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8);
    return com.google.gson.JsonParser.parseString(payload).getAsJsonObject().get("jti").getAsString();
  }

  @Test
  void storeGetsTheCoresKeyAndTtl() {
    long now = now();
    String token = signer.sign("{\"data\":{}}", AUD, 0, now - 10);
    String jti = jtiOf(token);
    List<String> keys = new ArrayList<>();
    List<Long> ttls = new ArrayList<>();
    OfbRequestVerifier.ReplayStore store = (k, ttl) -> {
      keys.add(k);
      ttls.add(ttl);
      return "fresh";
    };
    // A client id holding the separator: the length prefix keeps keys apart.
    assertTrue(new OfbRequestVerifier(jwks(), store, "").verify(request(token), AUD, "org-a", "cli:ent", now)
        .accepted());
    assertEquals("selo:ofb:jti:7:cli:ent:" + jti, keys.get(0));
    // The token's remaining acceptance window: it is accepted up to and including
    // iat + max_age 60 s + future skew 60 s (SPEC §3.2 defaults), so the key lives one second past that.
    assertEquals(now - 10 + 120 + 1 - now, ttls.get(0));
    assertTrue(new OfbRequestVerifier(jwks(), store, "").keyPrefix("app:replay")
        .verify(request(token), AUD, "org-a", "c", now + 40).accepted());
    assertEquals("app:replay:1:c:" + jti, keys.get(1));
    assertEquals(71, ttls.get(1));
    // Each request asks the store once: one verification, no second pass.
    assertEquals(2, keys.size());
  }

  @Test
  void pendingRequestExposesTheReplayScope() {
    String token = signer.sign("{\"data\":{}}", AUD, 0, now());
    try (Ofb.Jwks set = jwks()) {
      Ofb.Check check = Ofb.checkRequest(request(token), set, AUD, "org-a", "client-9", "", now());
      assertTrue(check.passed());
      try (Ofb.Pending p = check.pending()) {
        assertEquals("client-9", p.clientId());
        assertEquals(jtiOf(token), p.jti());
        assertEquals("selo:ofb:jti:8:client-9:" + jtiOf(token), p.storeKey(null));
        Ofb.ServerDecision d = p.finish("replayed");
        assertEquals("ofb.replay.jti", d.errorCode());
        assertEquals(403, d.rejection().status());
        // Spent: a second answer is refused, typed.
        assertEquals("ffi.invalid_argument", assertThrows(SeloException.class, () -> p.finish("fresh")).getCode());
      }
      int at = token.lastIndexOf('.') + 10;
      String tampered = token.substring(0, at) + (token.charAt(at) == 'A' ? 'B' : 'A') + token.substring(at + 1);
      Ofb.Check bad = Ofb.checkRequest(request(tampered), set, AUD, "org-a", "c", "", now());
      assertFalse(bad.passed());
      assertEquals(400, bad.refused().rejection().status());
      assertEquals("ofb.verify.bad_signature", bad.refused().errorCode());
    }
  }

  // ---- body limits ----

  static final class CountingStream extends InputStream {
    long left;
    long read;

    CountingStream(long n) {
      left = n;
    }

    @Override
    public int read() {
      if (left == 0) {
        return -1;
      }
      left--;
      read++;
      return 'a';
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left == 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      java.util.Arrays.fill(b, off, off + n, (byte) 'a');
      left -= n;
      read += n;
      return n;
    }
  }

  @Test
  void ofbVerifierBodyLimit() throws Exception {
    var v = new OfbRequestVerifier(jwks(), (k, ttl) -> "fresh", "").maxBodyBytes(1000);
    CountingStream declared = new CountingStream(10_000_000);
    Ofb.ServerDecision d = v.verify("POST", "application/jwt", declared, 10_000_000, AUD, "org-a", "c", now());
    assertEquals(413, d.rejection().status());
    assertEquals("http.body_too_large", d.errorCode());
    String body = new String(d.rejection().body(), StandardCharsets.UTF_8);
    assertTrue(body.contains("http.body_too_large") && body.contains("1000"), body);
    // The core's bytes, the same in every language.
    assertEquals(body, new String(BodyLimit.tooLargeResponse(1000).body(), StandardCharsets.UTF_8));
    assertEquals("application/json", d.rejection().header("content-type").orElseThrow());
    assertEquals(0, declared.read, "a declared length over the limit: nothing read");
    CountingStream streamed = new CountingStream(10_000_000);
    assertEquals(413, v.verify("POST", "application/jwt", streamed, -1, AUD, "org-a", "c", now()).rejection()
        .status());
    assertTrue(streamed.read <= 1001 + 8192, "stopped reading near the limit: " + streamed.read);
    byte[] ok = signer.sign("{\"data\":{}}", AUD, 0, now()).getBytes(StandardCharsets.UTF_8);
    assertTrue(new OfbRequestVerifier(jwks(), (k, ttl) -> "fresh", "").verify("POST", "application/jwt",
        new ByteArrayInputStream(ok), ok.length, AUD, "org-a", "c", now()).accepted(), "default 1 MiB limit");
  }

  @Test
  void bmpConfirmationBodyLimit() throws Exception {
    try (BmpSigner s = BmpSigner.create(BmpSigner.generateKey(), "")) {
      var h = new BmpConfirmationHandler(s, k -> null).maxBodyBytes(100);
      CountingStream declared = new CountingStream(5000);
      assertEquals(413, h.handle(List.of(), declared, 5000).response().status());
      assertEquals(0, declared.read);
      CountingStream streamed = new CountingStream(5000);
      assertEquals(413, h.handle(List.of(), streamed, -1).response().status());
      assertTrue(streamed.read <= 101);
      assertNotEquals(413, h.handle(List.of(), new ByteArrayInputStream(new byte[50]), 50).response().status());
      assertNull(h.handle(List.of(), new byte[101]).difference());
      assertEquals(413, h.handle(List.of(), new byte[101]).response().status());
    }
  }
}
