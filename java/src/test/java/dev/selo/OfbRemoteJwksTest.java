package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 20: {@link OfbRemoteJwks} (the core's {@link JwksCache} policy,
 * java.net.http doing the I/O) against real local HTTP servers
 * (com.sun.net.httpserver on 127.0.0.1): a 64 MiB set (refused, memory
 * bounded), a trickling one (cut at the one deadline), a redirect (not
 * followed), one that goes down after max_age (the stale set verifies until
 * the grace ends, attempts follow the backoff), 100 concurrent new kids on a
 * cold cache (one fetch: every fetch starts the unknown-kid cooldown, the first
 * one included), a known kid never waiting for a refresh, close() during a fetch.
 * Clocks are injected where the policy has time in it; real-time bounds are
 * generous.
 */
class OfbRemoteJwksTest {
  static final String AUD = "https://rs.example/payments";
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

  static String set() {
    return "{\"keys\":[" + goodJwk + "]}";
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

  /** A token whose header names {@code kid} (not validly signed: it must be refused). */
  static HttpMessage.Request withKid(String kid) {
    return request(b64u("{\"alg\":\"PS256\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}") + "." + b64u("{}") + ".AAAA");
  }

  static OfbRequestVerifier verifier(OfbRemoteJwks remote) {
    return new OfbRequestVerifier(remote, (k, ttl) -> "fresh", "");
  }

  static void assertUnavailable(Ofb.ServerDecision d) {
    assertEquals("ofb.jwks.unavailable", d.errorCode());
    assertEquals(503, d.rejection().status());
    String body = new String(d.rejection().body(), StandardCharsets.UTF_8);
    assertTrue(body.contains("ofb.jwks.unavailable"), body);
  }

  // ---- size: a 64 MiB set ----

  static final long SIXTY_FOUR_MIB = 64L << 20;

  static long heapUsed(MemoryMXBean mem) {
    return mem.getHeapMemoryUsage().getUsed();
  }

  static long settledHeap(MemoryMXBean mem) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return heapUsed(mem);
  }

  @Test
  void sixtyFourMebibyteSetIsRefusedWithBoundedMemory() throws Exception {
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    AtomicLong written = new AtomicLong();
    AtomicBoolean declare = new AtomicBoolean();
    byte[] chunk = new byte[64 * 1024];
    java.util.Arrays.fill(chunk, (byte) ' ');
    chunk[0] = '{';
    try (JwksTestServer s = new JwksTestServer(ex -> {
      ex.getResponseHeaders().add("content-type", "application/json");
      // Chunked (length unknown) or a declared 64 MiB.
      ex.sendResponseHeaders(200, declare.get() ? SIXTY_FOUR_MIB : 0);
      OutputStream out = ex.getResponseBody();
      for (long sent = 0; sent < SIXTY_FOUR_MIB; sent += chunk.length) {
        out.write(chunk);
        written.addAndGet(chunk.length);
      }
    })) {
      for (boolean declared : new boolean[] {false, true}) {
        declare.set(declared);
        written.set(0);
        long baseline = settledHeap(mem);
        AtomicLong peak = new AtomicLong(baseline);
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
          while (sampling.get()) {
            peak.accumulateAndGet(heapUsed(mem), Math::max);
            try {
              Thread.sleep(1);
            } catch (InterruptedException e) {
              return;
            }
          }
        });
        sampler.start();
        try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), "")) {
          assertUnavailable(verifier(remote).verify(fresh(), AUD, "org-a", "c", now()));
          OfbRemoteJwks.FetchError e = remote.lastFetchError();
          assertEquals(JwksCache.Failure.TOO_LARGE, e.failure(), String.valueOf(e));
          assertEquals("ofb.jwks.fetch", e.error().getCode());
          assertEquals(1, remote.stats().failures());
        } finally {
          sampling.set(false);
          sampler.join();
        }
        long retained = settledHeap(mem) - baseline;
        long peakGrowth = peak.get() - baseline;
        System.out.printf("64 MiB JWKS (%s): server wrote %d bytes, heap peak +%d KiB, retained +%d KiB%n",
            declared ? "declared" : "chunked", written.get(), peakGrowth >> 10, retained >> 10);
        // Reading stopped at 512 KiB: holding the set would need 64 MiB at once.
        assertTrue(peakGrowth < (40L << 20), "heap grew by " + (peakGrowth >> 20) + " MiB during the fetch");
        assertTrue(retained < (8L << 20), "heap kept " + (retained >> 20) + " MiB after the fetch");
        // The connection was dropped: the server could not push the 64 MiB.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        long last = -1;
        while (System.nanoTime() < deadline && written.get() != last) {
          last = written.get();
          Thread.sleep(200);
        }
        assertTrue(written.get() < SIXTY_FOUR_MIB / 2, "the server wrote " + written.get() + " bytes");
      }
    }
  }

  // ---- time: one deadline for the whole fetch ----

  @Test
  void tricklingSetIsCutAtTheOneDeadline() throws Exception {
    AtomicBoolean aborted = new AtomicBoolean();
    CountDownLatch ended = new CountDownLatch(1);
    try (JwksTestServer s = new JwksTestServer(ex -> {
      try {
        byte[] doc = set().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("content-type", "application/json");
        ex.sendResponseHeaders(200, doc.length);
        OutputStream out = ex.getResponseBody();
        // A byte every 200 ms: headers at once, the body never in time.
        for (byte b : doc) {
          out.write(b);
          out.flush();
          Thread.sleep(200);
        }
      } catch (java.io.IOException e) {
        aborted.set(true);
        throw e;
      } finally {
        ended.countDown();
      }
    })) {
      String policy = OfbRemoteJwks.policy().timeout(Duration.ofMillis(1_000)).toJson();
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), policy)) {
        long t0 = System.nanoTime();
        assertUnavailable(verifier(remote).verify(fresh(), AUD, "org-a", "c", now()));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(JwksCache.Failure.TIMEOUT, remote.lastFetchError().failure());
        assertTrue(ms >= 900, "it waited for the deadline: " + ms + " ms");
        assertTrue(ms < 1_000 + 5_000, "refused within the deadline (plus slack): " + ms + " ms");
      }
      // The request was cancelled: the server's next writes fail long before the set is sent.
      assertTrue(ended.await(30, TimeUnit.SECONDS), "the trickle never ended");
      assertTrue(aborted.get(), "the connection was not aborted");
    }
  }

  @Test
  void silentServerTimesOutTyped() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress())) {
      String policy = OfbRemoteJwks.policy().timeout(Duration.ofMillis(300)).toJson();
      try (OfbRemoteJwks remote = new OfbRemoteJwks("http://127.0.0.1:" + silent.getLocalPort() + "/jwks",
          policy)) {
        SeloException e = assertThrows(SeloException.class, () -> remote.forToken("x"));
        assertEquals("ofb.jwks.unavailable", e.getCode());
        assertEquals(JwksCache.Failure.TIMEOUT, remote.lastFetchError().failure());
        assertEquals(new JwksCache.Stats(1, 1, 1, 0), remote.stats());
      }
    }
  }

  // ---- redirects ----

  @Test
  void redirectToAnotherPortIsNotFollowed() throws Exception {
    try (JwksTestServer target = new JwksTestServer(JwksTestServer.json(set()));
        JwksTestServer redirector = new JwksTestServer(ex -> {
          ex.getResponseHeaders().add("location", target.url("/jwks"));
          ex.sendResponseHeaders(302, -1);
        })) {
      List<OfbRemoteJwks.FetchError> seen = new ArrayList<>();
      try (OfbRemoteJwks remote = new OfbRemoteJwks(redirector.url("/jwks"), "").onFetchError(seen::add)) {
        assertUnavailable(verifier(remote).verify(fresh(), AUD, "org-a", "c", now()));
        assertEquals(1, redirector.hits.get());
        assertEquals(0, target.hits.get(), "the redirect was followed");
        assertEquals(1, seen.size());
        assertNull(seen.get(0).failure(), "a complete response, refused by the core");
        assertTrue(seen.get(0).error().getMessage().contains("redirects are not followed"),
            seen.get(0).error().getMessage());
      }
      // A client of one's own that follows redirects is refused outright.
      HttpClient following = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
      assertThrows(IllegalArgumentException.class,
          () -> new OfbRemoteJwks(redirector.url("/jwks"), "", following, null));
      assertEquals(0, target.hits.get());
    }
  }

  // ---- stale-if-error and backoff ----

  @Test
  void downAfterMaxAgeServesTheStaleSetUntilTheGraceEndsAndBacksOff() throws Exception {
    AtomicLong clock = new AtomicLong(0);
    AtomicBoolean down = new AtomicBoolean();
    ConcurrentLinkedQueue<Long> downHits = new ConcurrentLinkedQueue<>();
    try (JwksTestServer s = new JwksTestServer(ex -> {
      if (down.get()) {
        downHits.add(clock.get());
        JwksTestServer.send(ex, 503, "");
      } else {
        JwksTestServer.send(ex, 200, set());
      }
    })) {
      String policy = OfbRemoteJwks.policy().maxAge(Duration.ofSeconds(1)).staleGrace(Duration.ofSeconds(5))
          .backoffInitial(Duration.ofMillis(200)).backoffMax(Duration.ofMillis(800)).toJson();
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), policy, null, clock::get)) {
        OfbRequestVerifier v = verifier(remote);
        assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
        assertEquals(1, s.hits.get());
        down.set(true);
        for (long t = 100; t < 6_000; t += 100) {
          clock.set(t);
          Ofb.ServerDecision d = v.verify(fresh(), AUD, "org-a", "c", now());
          assertTrue(d.accepted(), "t=" + t + " ms: the stale set verifies until the grace ends: " + d.errorCode());
          assertTrue(remote.awaitIdle(20_000), "t=" + t + ": the background refresh never ended");
        }
        // Stale from 1 000 ms; after each failure the next attempt waits
        // 200, 400, 800, 800, ... ms (doubling, capped at 800).
        List<Long> expected = List.of(1_000L, 1_200L, 1_600L, 2_400L, 3_200L, 4_000L, 4_800L, 5_600L);
        assertEquals(expected, new ArrayList<>(downHits), "fetch attempts (at the test clock)");
        assertEquals(expected.size() + 1, remote.stats().fetches());
        assertEquals(expected.size(), remote.stats().failures());
        // The grace ends at 1 000 + 5 000 ms: refused, and no attempt before the backoff allows one.
        clock.set(6_000);
        assertUnavailable(v.verify(fresh(), AUD, "org-a", "c", now()));
        assertEquals(expected.size(), downHits.size());
        clock.set(6_400);
        assertUnavailable(v.verify(fresh(), AUD, "org-a", "c", now()));
        assertEquals(expected.size() + 1, downHits.size(), "6 400: the backoff allowed one attempt");
        // Back up: the next allowed attempt restores service.
        down.set(false);
        clock.set(7_200);
        assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
        assertEquals(expected.size() + 3, s.hits.get());
      }
    }
  }

  // ---- concurrency ----

  @Test
  void hundredConcurrentNewKidsCauseOneFetch() throws Exception {
    // Every fetch starts the unknown-kid cooldown, the cold one included: 100 concurrent requests with 100 new
    // kids on a cold cache make exactly one fetch; the waiters verify against that set (their kid in it:
    // accepted; not in it: ofb.verify.kid_not_found) and never fetch again for their kids.
    List<String> kids = new ArrayList<>();
    List<String> published = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      String kid = "k" + i + "-" + System.nanoTime();
      kids.add(kid);
      if (i % 2 == 0) {
        published.add(kid); // the set has half of the new kids
      }
    }
    java.util.concurrent.atomic.AtomicReference<String> doc = new java.util.concurrent.atomic.AtomicReference<>(
        setOf(published));
    CountDownLatch release = new CountDownLatch(1);
    AtomicLong clock = new AtomicLong(1_000_000); // the policy's clock, frozen while the requests run
    try (JwksTestServer s = new JwksTestServer(ex -> {
      release.await(30, TimeUnit.SECONDS); // the one fetch answers once the requests have decided
      JwksTestServer.send(ex, 200, doc.get());
    })) {
      // A deadline far past the hold: a loaded machine cannot time the fetch out.
      String policy = OfbRemoteJwks.policy().maxAge(Duration.ofHours(1)).cooldown(Duration.ofSeconds(30))
          .timeout(Duration.ofSeconds(30)).toJson();
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), policy, null, clock::get)) {
        OfbRequestVerifier v = verifier(remote);
        ExecutorService pool = Executors.newFixedThreadPool(100);
        try {
          CountDownLatch go = new CountDownLatch(1);
          List<Future<Ofb.ServerDecision>> burst = new ArrayList<>();
          for (String kid : kids) {
            HttpMessage.Request r = signedWithKid(kid);
            burst.add(pool.submit(() -> {
              go.await();
              return v.verify(r, AUD, "org-a", "c", now());
            }));
          }
          go.countDown();
          long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          while (s.hits.get() < 1) {
            assertTrue(System.nanoTime() < end, "the one fetch never reached the server");
            Thread.sleep(5);
          }
          Thread.sleep(300); // the others meet the flight (after it they would not fetch either)
          release.countDown();
          for (int i = 0; i < kids.size(); i++) {
            Ofb.ServerDecision d = burst.get(i).get(60, TimeUnit.SECONDS);
            if (published.contains(kids.get(i))) {
              assertTrue(d.accepted(), kids.get(i) + ": " + d.errorCode());
            } else {
              assertEquals("ofb.verify.kid_not_found", d.errorCode(), kids.get(i));
              assertEquals(400, d.rejection().status());
            }
          }
          assertEquals(1, s.hits.get(), "100 new kids on a cold cache: one fetch");
          assertEquals(1, remote.fetches());
          assertEquals(0, remote.stats().failures());
          // The issuer publishes one more kid; new kids within the cooldown fetch nothing.
          List<String> more = new ArrayList<>(published);
          more.add("late");
          doc.set(setOf(more));
          clock.addAndGet(29_999);
          CountDownLatch go2 = new CountDownLatch(1);
          List<Future<Ofb.ServerDecision>> within = new ArrayList<>();
          for (int i = 0; i < 100; i++) {
            HttpMessage.Request r = i == 0 ? signedWithKid("late") : withKid("new-" + i + "-" + System.nanoTime());
            within.add(pool.submit(() -> {
              go2.await();
              return v.verify(r, AUD, "org-a", "c", now());
            }));
          }
          go2.countDown();
          for (Future<Ofb.ServerDecision> f : within) {
            Ofb.ServerDecision d = f.get(60, TimeUnit.SECONDS);
            assertEquals("ofb.verify.kid_not_found", d.errorCode());
            assertEquals(400, d.rejection().status());
          }
          assertEquals(1, s.hits.get(), "new kids within the cooldown: no fetch");
          clock.addAndGet(1);
          Ofb.ServerDecision late = v.verify(signedWithKid("late"), AUD, "org-a", "c", now());
          assertTrue(late.accepted(), late.errorCode());
          assertEquals(2, s.hits.get(), "the first new kid after the cooldown: exactly one fetch");
          assertEquals(2, remote.fetches());
          assertEquals("ofb.verify.kid_not_found",
              v.verify(withKid("after-" + System.nanoTime()), AUD, "org-a", "c", now()).errorCode());
          assertEquals(2, s.hits.get(), "that fetch started a new cooldown");
          assertTrue(v.verify(signedWithKid(published.get(0)), AUD, "org-a", "c", now()).accepted());
          assertEquals(2, s.hits.get());
        } finally {
          pool.shutdownNow();
        }
      }
    }
  }

  /** A set with the test key under each of {@code kids}. */
  static String setOf(List<String> kids) {
    List<String> keys = new ArrayList<>();
    try (PublicKey pub = key.publicKey()) {
      for (String kid : kids) {
        keys.add(pub.toJwk(kid));
      }
    }
    return "{\"keys\":[" + String.join(",", keys) + "]}";
  }

  /** A valid request signed with the test key under {@code kid}. */
  static HttpMessage.Request signedWithKid(String kid) {
    try (Ofb.Signer sg = Ofb.Signer.create(key, kid, "org-a", "")) {
      return request(sg.sign("{\"data\":{}}", AUD, 0, now()));
    }
  }

  static final long SEED = System.getenv("SELO_JWKS_SEED") != null ? Long.parseLong(System.getenv("SELO_JWKS_SEED"))
      : new java.util.Random().nextInt(Integer.MAX_VALUE);

  @Test
  void randomUnknownKidsCauseAtMostOneFetchPerCooldown() throws Exception {
    System.out.println("OfbRemoteJwksTest: random seed " + SEED + " (SELO_JWKS_SEED=" + SEED + " replays it)");
    java.util.Random rng = new java.util.Random(SEED);
    AtomicLong clock = new AtomicLong(1_000_000);
    ConcurrentLinkedQueue<Long> hitsAt = new ConcurrentLinkedQueue<>();
    try (JwksTestServer s = new JwksTestServer(ex -> {
      hitsAt.add(clock.get());
      JwksTestServer.send(ex, 200, set());
    })) {
      String policy = OfbRemoteJwks.policy().maxAge(Duration.ofHours(1)).toJson(); // cooldown: the default 30 s
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), policy, null, clock::get)) {
        OfbRequestVerifier v = verifier(remote);
        for (int i = 0; i < 300; i++) {
          assertEquals("ofb.verify.kid_not_found", v.verify(withKid("k" + rng.nextLong()), AUD, "org-a", "c", now())
              .errorCode());
        }
        assertEquals(1, s.hits.get(), "300 unknown kids at one instant: the first load only (it starts the cooldown)");
        // Every request below has an unknown kid: it fetches exactly when no fetch started within the cooldown.
        List<Long> expected = new ArrayList<>(List.of(clock.get()));
        for (int i = 0; i < 1_000; i++) {
          long t = clock.addAndGet(rng.nextInt(200));
          if (t >= expected.get(expected.size() - 1) + 30_000) {
            expected.add(t);
          }
          assertEquals("ofb.verify.kid_not_found", v.verify(withKid("r" + rng.nextLong()), AUD, "org-a", "c", now())
              .errorCode());
        }
        assertEquals(expected, new ArrayList<>(hitsAt), "fetch times (ms of the injected clock)");
        assertTrue(expected.size() >= 3, "unknown kids refetch once the cooldown has passed: " + expected);
        assertEquals(expected.size(), remote.fetches());
        assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
      }
    }
  }

  @Test
  void knownKidNeverWaitsForTheBackgroundRefresh() throws Exception {
    AtomicLong clock = new AtomicLong(0);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch refreshing = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
    AtomicBoolean refreshAnswered = new AtomicBoolean();
    try (JwksTestServer s = new JwksTestServer(ex -> {
      if (served.getAndIncrement() == 0) {
        JwksTestServer.send(ex, 200, set());
        return;
      }
      refreshing.countDown();
      release.await(30, TimeUnit.SECONDS);
      JwksTestServer.send(ex, 200, set());
      refreshAnswered.set(true);
    })) {
      String policy = OfbRemoteJwks.policy().maxAge(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(30)).toJson();
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), policy, null, clock::get)) {
        OfbRequestVerifier v = verifier(remote);
        assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
        clock.set(1_500); // past max age: the next use starts a refresh the server holds
        assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
        assertTrue(refreshing.await(30, TimeUnit.SECONDS), "no refresh started");
        // The refresh is held by the server; requests with the known kid go on.
        for (int i = 0; i < 5; i++) {
          assertTrue(v.verify(fresh(), AUD, "org-a", "c", now()).accepted());
        }
        // Had any of them waited for the refresh, it would have returned only after the server answered it.
        assertFalse(refreshAnswered.get(), "a request waited for the background refresh");
        assertEquals(2, remote.fetches());
        release.countDown();
        assertTrue(remote.awaitIdle(30_000));
        assertEquals(0, remote.stats().failures());
      }
    }
  }

  @Test
  void closeDuringAFetchIsSafe() throws Exception {
    CountDownLatch fetching = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (JwksTestServer s = new JwksTestServer(ex -> {
      fetching.countDown();
      release.await(30, TimeUnit.SECONDS);
      JwksTestServer.send(ex, 200, set());
    })) {
      OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"), OfbRemoteJwks.policy()
          .timeout(Duration.ofSeconds(30)).toJson());
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<Ofb.ServerDecision> inFlight = pool.submit(() -> verifier(remote).verify(fresh(), AUD, "org-a", "c",
            now()));
        assertTrue(fetching.await(30, TimeUnit.SECONDS));
        remote.close();
        release.countDown();
        // The waiting request ends typed (its fetch was cancelled, the cache closed), never a crash.
        try {
          Ofb.ServerDecision d = inFlight.get(60, TimeUnit.SECONDS);
          assertEquals("ofb.jwks.unavailable", d.errorCode());
        } catch (java.util.concurrent.ExecutionException e) {
          assertTrue(e.getCause() instanceof SeloException, String.valueOf(e.getCause()));
          assertEquals("ffi.closed", ((SeloException) e.getCause()).getCode());
        }
        assertEquals("ffi.closed", assertThrows(SeloException.class, () -> remote.forToken("x")).getCode());
        remote.close(); // idempotent
      } finally {
        release.countDown();
        pool.shutdownNow();
      }
    }
  }

  // ---- keys that do not parse ----

  @Test
  void malformedKeyIsSkippedAndReported() throws Exception {
    String bad = "{\"kty\":\"RSA\",\"kid\":\"broken\",\"n\":\"!!!\",\"e\":\"AQAB\"}";
    try (JwksTestServer s = new JwksTestServer(
        JwksTestServer.json("{\"keys\":[" + bad + "," + goodJwk + ",{\"kid\":\"no-kty\"}]}"))) {
      assertThrows(SeloException.class, () -> Ofb.Jwks.parse("{\"keys\":[" + bad + "," + goodJwk + "]}"));
      try (OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"))) {
        assertTrue(verifier(remote).verify(fresh(), AUD, "org-a", "c", now()).accepted());
        List<String> skipped = remote.skipped();
        assertEquals(2, skipped.size(), skipped.toString());
        assertTrue(skipped.get(0).startsWith("key #0") && skipped.get(0).contains("broken"), skipped.get(0));
        assertTrue(skipped.get(1).startsWith("key #2"), skipped.get(1));
        assertEquals(2, remote.stats().skipped());
      }
    }
  }
}
