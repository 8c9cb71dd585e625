package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Servers that hold (issue 12): replay stores fail closed, the remote JWK Set
 * against a local HTTP server (port 0) counting fetches, body limits. Clocks
 * are injected: no sleeps.
 */
class OfbHoldTest {
  static final String AUD = "https://rs.example/payments";
  static final String SECRET = "redis://user:hunter2@10.1.2.3:6379";
  static final long SEED = System.getenv("SELO_JWKS_SEED") != null ? Long.parseLong(System.getenv("SELO_JWKS_SEED"))
      : new Random().nextInt(Integer.MAX_VALUE);
  static PrivateKey key;
  static String goodJwk;
  static Ofb.Signer signer;

  @BeforeAll
  static void setUp() {
    System.out.println("OfbHoldTest: random seed " + SEED + " (SELO_JWKS_SEED=" + SEED + " replays it)");
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

  static String b64u(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static HttpMessage.Request withKid(String kid) {
    return request(b64u("{\"alg\":\"PS256\",\"kid\":" + Json.quote(kid) + ",\"typ\":\"JWT\"}") + "." + b64u("{}")
        + ".AAAA");
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
    for (String answer : new String[] {null, "OK", "FRESH", "", "ERR " + SECRET, "true"}) {
      assertStoreFailed(new OfbRequestVerifier(jwks(), (c, j, n) -> answer, "").verify(fresh(), AUD, "org-a", "c",
          now()));
    }
  }

  @Test
  void storeThrowingIs503WithoutItsText() {
    List<Exception> seen = new ArrayList<>();
    var v = new OfbRequestVerifier(jwks(), (c, j, n) -> {
      throw new java.io.IOException("connect to " + SECRET + " refused");
    }, "").onStoreError(seen::add);
    assertStoreFailed(v.verify(fresh(), AUD, "org-a", "c", now()));
    assertEquals(1, seen.size());
    assertStoreFailed(new OfbRequestVerifier(jwks(), (c, j, n) -> {
      throw new IllegalStateException(SECRET);
    }, "").verify(fresh(), AUD, "org-a", "c", now()));
  }

  @Test
  void realReplayIs403AndFreshPasses() {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    // SET NX as Redis answers it: "OK" when set, null when the key existed.
    OfbRequestVerifier.ReplayStore store = (c, j, n) -> {
      String r = seen.add(c + ":" + j) ? "OK" : null;
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

  // ---- remote JWKS ----

  static final class JwksServer implements AutoCloseable {
    final HttpServer server;
    final AtomicInteger fetches = new AtomicInteger();
    final AtomicReference<String> doc = new AtomicReference<>();
    final CountDownLatch gate;
    final String url;

    JwksServer(String body, CountDownLatch gate) throws Exception {
      doc.set(body);
      this.gate = gate;
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/jwks", ex -> {
        fetches.incrementAndGet();
        try {
          if (gate != null && !gate.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the test never opened the gate");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        byte[] b = doc.get().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("content-type", "application/json");
        ex.sendResponseHeaders(200, b.length);
        ex.getResponseBody().write(b);
        ex.close();
      });
      server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
      server.start();
      int port = server.getAddress().getPort();
      assertTrue(port > 0);
      url = "http://127.0.0.1:" + port + "/jwks";
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  static OfbRemoteJwks remote(String url, AtomicLong clock, Duration timeout) {
    return new OfbRemoteJwks(url, null, timeout, Duration.ofHours(1), Duration.ofSeconds(30), clock::get, null);
  }

  @Test
  void thousandRandomUnknownKidsCauseAtMostOneFetchPerCooldown() throws Exception {
    try (JwksServer s = new JwksServer("{\"keys\":[" + goodJwk + "]}", null)) {
      AtomicLong clock = new AtomicLong(1_000_000);
      Random rng = new Random(SEED);
      var v = new OfbRequestVerifier(remote(s.url, clock, Duration.ofSeconds(5)), (c, j, n) -> "fresh", "");
      for (int i = 0; i < 1000; i++) {
        Ofb.ServerDecision d = v.verify(withKid("k" + rng.nextLong()), AUD, "org-a", "c", now());
        assertEquals("ofb.verify.kid_not_found", d.errorCode());
      }
      assertEquals(1, s.fetches.get(), "1,000 unknown kids at one instant: the first load only");
      long start = clock.get();
      for (int i = 0; i < 1000; i++) {
        clock.addAndGet(rng.nextInt(200));
        v.verify(withKid("r" + rng.nextLong()), AUD, "org-a", "c", now());
      }
      long windows = (clock.get() - start) / 30_000 + 1;
      assertTrue(s.fetches.get() - 1 <= windows, s.fetches.get() + " fetches over " + (clock.get() - start) + " ms");
      assertTrue(s.fetches.get() >= 2, "unknown kids refetch once the cooldown has passed");
      assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
    }
  }

  @Test
  void cooldownThenNewKidAndMaxAgeRefetch() throws Exception {
    try (JwksServer s = new JwksServer("{\"keys\":[" + goodJwk + "]}", null)) {
      AtomicLong clock = new AtomicLong(0);
      var r = new OfbRemoteJwks(s.url, null, Duration.ofSeconds(5), Duration.ofMinutes(10), Duration.ofSeconds(30),
          clock::get, null);
      r.get("cli");
      assertEquals(1, s.fetches.get());
      String rotated = goodJwk.replace("\"kid\":\"cli\"", "\"kid\":\"rotated\"");
      assertNotEquals(goodJwk, rotated);
      s.doc.set("{\"keys\":[" + goodJwk + "," + rotated + "]}");
      clock.set(29_999);
      r.get("rotated");
      assertEquals(1, s.fetches.get(), "within the cooldown: no refetch");
      clock.set(30_000);
      r.get("rotated");
      assertEquals(2, s.fetches.get());
      r.get("rotated");
      assertEquals(2, s.fetches.get(), "now known: cached");
      clock.set(30_000 + 600_000);
      r.get("cli");
      assertEquals(3, s.fetches.get(), "max age passed: refetched");
    }
  }

  @Test
  void concurrentMissesShareOneFetch() throws Exception {
    int n = 16;
    CountDownLatch gate = new CountDownLatch(1);
    try (JwksServer s = new JwksServer("{\"keys\":[" + goodJwk + "]}", gate)) {
      Set<Long> entered = ConcurrentHashMap.newKeySet();
      // The clock is read first thing in get(): once every thread has read it,
      // all are inside get() and the held fetch may answer.
      var r = new OfbRemoteJwks(s.url, null, Duration.ofSeconds(20), Duration.ofHours(1), Duration.ofSeconds(30),
          () -> {
            entered.add(Thread.currentThread().getId());
            if (entered.size() >= n) {
              gate.countDown();
            }
            return 0L;
          }, null);
      List<Thread> ts = new ArrayList<>();
      List<Ofb.Jwks> out = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int i = 0; i < n; i++) {
        int k = i;
        Thread t = new Thread(() -> out.add(r.get("unknown-" + k)));
        ts.add(t);
        t.start();
      }
      for (Thread t : ts) {
        t.join(30_000);
      }
      assertEquals(n, out.size());
      assertEquals(1, s.fetches.get());
      for (Ofb.Jwks j : out) {
        assertSame(out.get(0), j);
      }
    } finally {
      gate.countDown();
    }
  }

  @Test
  void serverThatNeverAnswersTimesOutTyped() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress())) {
      var r = remote("http://127.0.0.1:" + silent.getLocalPort() + "/jwks", new AtomicLong(), Duration.ofMillis(300));
      OfbRemoteJwks.FetchException e = assertThrows(OfbRemoteJwks.FetchException.class, () -> r.get("x"));
      assertEquals("timeout", e.kind());
      assertEquals("ofb.jwks.fetch", e.getCode());
    }
  }

  @Test
  void malformedKeyIsSkippedAndReported() throws Exception {
    String bad = "{\"kty\":\"RSA\",\"kid\":\"broken\",\"n\":\"!!!\",\"e\":\"AQAB\"}";
    try (JwksServer s = new JwksServer("{\"keys\":[" + bad + "," + goodJwk + ",{\"kid\":\"no-kty\"}]}", null)) {
      assertThrows(SeloException.class, () -> Ofb.Jwks.parse("{\"keys\":[" + bad + "," + goodJwk + "]}"));
      List<OfbRemoteJwks.SkippedKey> seen = new ArrayList<>();
      var r = new OfbRemoteJwks(s.url, null, Duration.ofSeconds(5), Duration.ofHours(1), Duration.ofSeconds(30), null,
          seen::add);
      assertTrue(new OfbRequestVerifier(r, (c, j, n) -> "fresh", "").verify(fresh(), AUD, "org-a", "c", now())
          .accepted());
      assertEquals(List.of(0, 2), r.skipped().stream().map(OfbRemoteJwks.SkippedKey::index).toList());
      assertEquals("broken", r.skipped().get(0).kid());
      assertEquals(2, seen.size());
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
    var v = new OfbRequestVerifier(jwks(), (c, j, n) -> "fresh", "").maxBodyBytes(1000);
    CountingStream declared = new CountingStream(10_000_000);
    Ofb.ServerDecision d = v.verify("POST", "application/jwt", declared, 10_000_000, AUD, "org-a", "c", now());
    assertEquals(413, d.rejection().status());
    assertEquals(0, declared.read, "a declared length over the limit: nothing read");
    CountingStream streamed = new CountingStream(10_000_000);
    assertEquals(413, v.verify("POST", "application/jwt", streamed, -1, AUD, "org-a", "c", now()).rejection()
        .status());
    assertTrue(streamed.read <= 1001 + 8192, "stopped reading near the limit: " + streamed.read);
    byte[] ok = signer.sign("{\"data\":{}}", AUD, 0, now()).getBytes(StandardCharsets.UTF_8);
    assertTrue(new OfbRequestVerifier(jwks(), (c, j, n) -> "fresh", "").verify("POST", "application/jwt",
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
