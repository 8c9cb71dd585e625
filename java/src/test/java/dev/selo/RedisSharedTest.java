package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selo.redis.RedisBmpPending;
import dev.selo.redis.RedisJtiStore;
import dev.selo.redis.RedisSafraShare;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * dev.selo.redis against real redis-server processes started here (the test
 * fails when redis-server is missing): a fleet of worker JVMs sharing one
 * Safra session ({@code dev.selo.redis.FleetWorker}, the cross-language
 * contract), on one server and on a 3-node Redis Cluster; what stays in
 * Redis; Redis down; OFB replay and BMP pending across instances.
 */
class RedisSharedTest {
  static final String SEAL_HEX = "07".repeat(32);

  static UnifiedJedis jedis(int port) {
    return RedisClient.builder().hostAndPort(new HostAndPort("127.0.0.1", port))
        .clientConfig(DefaultJedisClientConfig.builder().connectionTimeoutMillis(1000).socketTimeoutMillis(2000).build())
        .build();
  }

  /** Starts {@code workers} FleetWorker JVMs and returns their parsed JSON lines (each checked). */
  static List<JsonObject> fleet(SimProcess sim, String redisOpt, String redisVal, String name, int workers, int each,
      int inFlight) throws Exception {
    return fleet(sim, redisOpt, redisVal, name, workers, each, inFlight, 10_000_000L, "");
  }

  static List<JsonObject> fleet(SimProcess sim, String redisOpt, String redisVal, String name, int workers, int each,
      int inFlight, long first, String profile) throws Exception {
    String javaBin = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    List<Process> ps = new ArrayList<>();
    List<File> outs = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int w = 0; w < workers; w++) {
      File out = File.createTempFile("selo-fleet-java", ".out");
      out.deleteOnExit();
      outs.add(out);
      ps.add(new ProcessBuilder(javaBin, "-XX:TieredStopAtLevel=1", "-Xshare:auto",
          "-Djna.library.path=" + System.getProperty("jna.library.path"),
          "-Dselo.vectors=" + Vectors.root(), "-cp", System.getProperty("java.class.path"),
          "dev.selo.redis.FleetWorker", "--base-url", sim.base, redisOpt, redisVal, "--name", name, "--seal-key",
          SEAL_HEX, "--first", Long.toString(first + (long) w * each), "--count", Integer.toString(each),
          "--in-flight", Integer.toString(inFlight), "--lease-ttl-ms", "10000", "--timeout-ms", "20000",
          "--profile", profile)
          .redirectOutput(out).redirectError(ProcessBuilder.Redirect.INHERIT).start());
    }
    List<JsonObject> lines = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      Process p = ps.get(w);
      if (!p.waitFor(90, TimeUnit.SECONDS)) {
        ps.forEach(Process::destroyForcibly);
        throw new AssertionError("worker " + w + " did not finish");
      }
      String text = java.nio.file.Files.readString(outs.get(w).toPath()).trim();
      assertEquals(0, p.exitValue(), "worker " + w + ": " + text);
      String[] all = text.split("\n");
      assertEquals(1, all.length, text);
      lines.add(JsonParser.parseString(all[0]).getAsJsonObject());
    }
    System.out.printf("java fleet: %d workers x %d boletos, %d in flight each: %d ms%n", workers, each, inFlight,
        (System.nanoTime() - t0) / 1_000_000);
    for (JsonObject l : lines) {
      assertEquals("java", l.get("lang").getAsString());
      assertEquals(each, l.get("registered").getAsInt(), l.toString());
      assertEquals(0, l.getAsJsonArray("errors").size(), l.toString());
    }
    return lines;
  }

  static long sum(List<JsonObject> lines, String stat) {
    return lines.stream().mapToLong(l -> l.getAsJsonObject("stats").get(stat).getAsLong()).sum();
  }

  /** The sim counted one handshake, one psd005, every boleto once. */
  static void assertOneSession(SimProcess sim, int boletos, List<JsonObject> lines) throws Exception {
    JsonObject st = sim.state();
    assertEquals(2, SimProcess.count(st, "psd001 200"), "one handshake (two stages): " + st.get("counts"));
    assertEquals(1, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
    assertEquals(boletos, SimProcess.count(st, "psd050 200"), st.get("counts").toString());
    assertEquals(0, SimProcess.count(st, "psd050 480") + SimProcess.count(st, "psd052 480"));
    assertEquals(0, SimProcess.duplicates(st));
    assertEquals(1, sum(lines, "handshakes"), lines.toString());
    assertEquals(lines.size() - 1, sum(lines, "adopted"), lines.toString());
    assertEquals(0, sum(lines, "store_errors"), lines.toString());
  }

  /** No value in Redis holds a session key or token the sim issued, in any encoding. */
  static void assertNothingAtRest(SimProcess sim, List<UnifiedJedis> nodes) throws Exception {
    JsonObject issued = sim.state().getAsJsonObject("protocol").getAsJsonObject("issued");
    List<String> secrets = new ArrayList<>();
    for (JsonElement k : issued.getAsJsonArray("session_keys")) {
      String b64 = k.getAsString();
      byte[] raw = Base64.getDecoder().decode(b64);
      secrets.add(b64);
      secrets.add(Base64.getUrlEncoder().withoutPadding().encodeToString(raw));
      secrets.add(HexFormat.of().formatHex(raw));
      secrets.add(HexFormat.of().withUpperCase().formatHex(raw));
      secrets.add(new String(raw, StandardCharsets.ISO_8859_1));
    }
    for (JsonElement t : issued.getAsJsonArray("tokens")) {
      secrets.add(t.getAsString());
      secrets.add(Base64.getEncoder().encodeToString(t.getAsString().getBytes(StandardCharsets.UTF_8)));
    }
    assertFalse(secrets.isEmpty(), "the sim reported what it issued");
    int values = 0;
    for (UnifiedJedis j : nodes) {
      String cursor = ScanParams.SCAN_POINTER_START;
      do {
        ScanResult<String> r = j.scan(cursor, new ScanParams().count(1000));
        for (String key : r.getResult()) {
          if (!"string".equals(j.type(key))) {
            continue;
          }
          byte[] v = j.get(key.getBytes(StandardCharsets.UTF_8));
          String text = new String(v, StandardCharsets.ISO_8859_1);
          values++;
          for (String s : secrets) {
            assertFalse(text.contains(s) || key.contains(s), "a secret the bank issued is stored in " + key);
          }
        }
        cursor = r.getCursor();
      } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }
    assertTrue(values >= 2, "the record and the fence are there: " + values);
  }

  @Test
  void eightWorkersShareOneSessionThroughRedis() throws Exception {
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra();
        UnifiedJedis j = jedis(redis.port())) {
      sim.fault("{\"fault\":\"latency\",\"ms\":20}");
      List<JsonObject> lines = fleet(sim, "--redis", redis.url(), "java-fleet", 8, 50, 4);
      assertOneSession(sim, 400, lines);
      assertNothingAtRest(sim, List.of(j));
      assertNotNull(j.get("selo:{safra:java-fleet}:record"));
      assertTrue(j.get("selo:{safra:java-fleet}:record").startsWith("selo1."));
    }
  }

  @Test
  void aFleetOnAThreeNodeCluster() throws Exception {
    try (RedisServers redis = RedisServers.cluster(); SimProcess sim = SimProcess.safra()) {
      sim.fault("{\"fault\":\"latency\",\"ms\":20}");
      List<JsonObject> lines = fleet(sim, "--cluster", redis.clusterNodes(), "java-cluster", 4, 25, 4);
      assertOneSession(sim, 100, lines);
      List<UnifiedJedis> nodes = new ArrayList<>();
      try {
        for (int p : redis.ports) {
          nodes.add(jedis(p));
        }
        // SCAN per node (a node answers only its own slots' keys).
        assertNothingAtRestOnNodes(sim, nodes);
      } finally {
        nodes.forEach(UnifiedJedis::close);
      }
    }
  }

  /** Like {@link #assertNothingAtRest} over every node, reading keys with plain connections. */
  static void assertNothingAtRestOnNodes(SimProcess sim, List<UnifiedJedis> nodes) throws Exception {
    int found = 0;
    JsonObject issued = sim.state().getAsJsonObject("protocol").getAsJsonObject("issued");
    for (UnifiedJedis j : nodes) {
      String cursor = ScanParams.SCAN_POINTER_START;
      do {
        ScanResult<String> r = j.scan(cursor, new ScanParams().count(1000));
        for (String key : r.getResult()) {
          String v = j.get(key);
          found++;
          for (JsonElement k : issued.getAsJsonArray("session_keys")) {
            assertFalse(v.contains(k.getAsString()));
            assertFalse(v.contains(HexFormat.of().formatHex(Base64.getDecoder().decode(k.getAsString()))));
          }
          for (JsonElement t : issued.getAsJsonArray("tokens")) {
            assertFalse(v.contains(t.getAsString()));
          }
        }
        cursor = r.getCursor();
      } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }
    assertTrue(found >= 2, "record and fence on the cluster: " + found);
  }

  @Test
  void redisDownIsStoreUnavailableWithinTheTimeout() throws Exception {
    int port = RedisServers.freePort(); // nothing listens there
    try (SimProcess sim = SimProcess.safra(); UnifiedJedis j = jedis(port);
        RedisSafraShare share = new RedisSafraShare(j, "java-down", SafraShare.sealKeyFromHex(SEAL_HEX));
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"))) {
      SafraSession s = SafraSession.create("", sim.base, "CLIENTE01");
      s.setClientKey(key);
      try (SafraClient c = SafraClient.overHttp(s, Duration.ofSeconds(5)).waitTimeout(Duration.ofSeconds(5))
          .shared(share)) {
        long t0 = System.nanoTime();
        for (int i = 0; i < 3; i++) {
          SeloException e = assertThrows(SeloException.class,
              () -> c.registerBoleto(SafraSoakTest.boleto(Vectors.text("safra/boleto-sample.json"), 8_000_000, "S1")));
          assertEquals("shared.store_unavailable", e.getCode());
          assertFalse(e.getMessage().contains("selo:{safra") || e.getMessage().contains(Integer.toString(port)),
              e.getMessage());
        }
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 5_000, "failed fast");
        assertTrue(share.stats().storeErrors() >= 3, share.stats().toString());
        assertEquals(0, s.inFlight());
      }
      JsonObject st = sim.state();
      assertEquals(0, SimProcess.count(st, "psd001 200") + SimProcess.count(st, "psd050 200"),
          "no bank call without the store: " + st.get("counts"));
    }
  }

  @Test
  void twoClientsInOneProcessShareThroughRedisAndAStaleRecordIsAdopted() throws Exception {
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra();
        UnifiedJedis j = jedis(redis.port());
        RedisSafraShare a = new RedisSafraShare(j, "java-two", SafraShare.sealKeyFromHex(SEAL_HEX));
        RedisSafraShare b = new RedisSafraShare(j, "java-two", SafraShare.sealKeyFromHex(SEAL_HEX));
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"))) {
      SafraSession sa = SafraSession.create("", sim.base, "CLIENTE01");
      SafraSession sb = SafraSession.create("", sim.base, "CLIENTE01");
      sa.setClientKey(key);
      sb.setClientKey(key);
      String t = Vectors.text("safra/boleto-sample.json");
      try (SafraClient ca = SafraClient.overHttp(sa).shared(a); SafraClient cb = SafraClient.overHttp(sb).shared(b)) {
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, ca.registerBoleto(SafraSoakTest.boleto(t, 8_100_001, "S1")).kind());
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, cb.registerBoleto(SafraSoakTest.boleto(t, 8_100_002, "S2")).kind());
        assertEquals(1, a.stats().handshakes());
        assertEquals(0, b.stats().handshakes());
        assertEquals(1, b.stats().adopted());
        assertEquals(sa.sessionId(), sb.sessionId());
        // The bank forgets the key: one of them re-handshakes, the other adopts.
        sim.fault("{\"fault\":\"expire-key\"}");
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, cb.registerBoleto(SafraSoakTest.boleto(t, 8_100_003, "S3")).kind());
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, ca.registerBoleto(SafraSoakTest.boleto(t, 8_100_004, "S4")).kind());
        assertEquals(1, b.stats().handshakes(), b.stats().toString());
        assertEquals(sa.sessionId(), sb.sessionId());
        JsonObject st = sim.state();
        assertEquals(4, SimProcess.count(st, "psd001 200"), st.get("counts").toString());
        assertEquals(2, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
        assertEquals(0, SimProcess.duplicates(st));
        assertFalse(a.holdsLease() || b.holdsLease());
        assertEquals(null, j.get("selo:{safra:java-two}:lease"), "released");
      }
    }
  }

  static final String AUD = "https://rs.example/payments";

  @Test
  void anOfbTokenReplayedToAnotherInstanceIs403AndRedisDownIs503() throws Exception {
    try (RedisServers redis = RedisServers.single(); UnifiedJedis ja = jedis(redis.port());
        UnifiedJedis jb = jedis(redis.port());
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa2048-ofb.pem"));
        PublicKey pub = key.publicKey();
        Ofb.Jwks jwks = Ofb.Jwks.parse("{\"keys\":[" + pub.toJwk("k1") + "]}");
        Ofb.Signer signer = Ofb.Signer.create(key, "k1", "org-a", "")) {
      long now = System.currentTimeMillis() / 1000;
      String token = signer.sign("{\"data\":{\"amount\":\"1.00\"}}", AUD, 0, now);
      HttpMessage.Request req = new HttpMessage.Request("POST", AUD,
          List.of(new HttpMessage.Header("Content-Type", "application/jwt")), Vectors.utf8(token));
      var a = new OfbRequestVerifier(jwks, new RedisJtiStore(ja), "");
      var b = new OfbRequestVerifier(jwks, new RedisJtiStore(jb), "");
      assertTrue(a.verify(req, AUD, "org-a", "client-1", now).accepted());
      Ofb.ServerDecision replay = b.verify(req, AUD, "org-a", "client-1", now);
      assertEquals(403, replay.rejection().status());
      assertEquals("ofb.replay.jti", replay.errorCode());
      // The key and TTL are the core's.
      List<String> keys = new ArrayList<>(ja.keys("selo:ofb:jti:*"));
      assertEquals(1, keys.size());
      assertTrue(keys.get(0).startsWith("selo:ofb:jti:8:client-1:"), keys.get(0));
      long ttl = ja.ttl(keys.get(0));
      assertTrue(ttl > 0 && ttl <= 121, "TTL " + ttl);
      // Redis down: 503, nothing of the store's text.
      String token2 = signer.sign("{\"data\":{\"amount\":\"2.00\"}}", AUD, 0, now);
      HttpMessage.Request req2 = new HttpMessage.Request("POST", AUD,
          List.of(new HttpMessage.Header("Content-Type", "application/jwt")), Vectors.utf8(token2));
      List<Exception> seen = new ArrayList<>();
      try (UnifiedJedis down = jedis(RedisServers.freePort())) {
        Ofb.ServerDecision d = new OfbRequestVerifier(jwks, new RedisJtiStore(down), "").onStoreError(seen::add)
            .verify(req2, AUD, "org-a", "client-1", now);
        assertEquals(503, d.rejection().status());
        assertEquals(OfbRequestVerifier.STORE_FAILED, d.errorCode());
      }
      assertEquals(1, seen.size());
      assertEquals("shared.store_unavailable", ((SeloException) seen.get(0)).getCode());
    }
  }

  @Test
  void aBmpConfirmationReachingAnotherInstanceFindsThePendingTransfer() throws Exception {
    JsonObject v = Vectors.json("bmp/confirm.json");
    String ikey = v.get("idempotency_key").getAsString();
    byte[] original = Vectors.utf8(v.get("original").getAsString());
    try (RedisServers redis = RedisServers.single(); UnifiedJedis ja = jedis(redis.port());
        UnifiedJedis jb = jedis(redis.port());
        BmpSigner signer = BmpSigner.create(v.get("key").getAsString(), "")) {
      RedisBmpPending a = new RedisBmpPending(ja);
      RedisBmpPending b = new RedisBmpPending(jb);
      List<HttpMessage.Header> headers = BmpTest.headers(ikey);
      // Before it was recorded: unknown to instance B.
      assertFalse(new BmpConfirmationHandler(signer, b).handle(headers, original).confirmed());
      assertTrue(a.record(ikey, original));
      assertTrue(a.record(ikey, original), "the same bytes again: a retry");
      assertFalse(b.record(ikey, Vectors.utf8("{\"other\":1}")), "another body under the key: refused");
      assertTrue(new BmpConfirmationHandler(signer, b).handle(headers, original).confirmed());
      String k = BmpPending.storeKey(ikey);
      assertTrue(k.startsWith("selo:bmp:pending:{"), k);
      long ttl = ja.ttl(k);
      assertTrue(ttl > BmpPending.TTL_SECONDS - 10 && ttl <= BmpPending.TTL_SECONDS, "TTL " + ttl);
      b.settle(ikey);
      assertEquals(null, a.lookup(ikey));
      try (UnifiedJedis down = jedis(RedisServers.freePort())) {
        RedisBmpPending d = new RedisBmpPending(down);
        assertEquals("shared.store_unavailable",
            assertThrows(SeloException.class, () -> d.record(ikey, original)).getCode());
        assertEquals(500, new BmpConfirmationHandler(signer, d).handle(headers, original).response().status());
      }
    }
  }

  /** java/README.md's "Many calls, many instances" example, compiled and run verbatim. */
  @Test
  void theReadmeExampleRunsVerbatim() throws Exception {
    String readme = java.nio.file.Files.readString(Vectors.root().resolve("../../java/README.md").normalize());
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("<!-- java-example: ManyInstances.java -->\\s*```java\\n(.*?)\\n```", java.util.regex.Pattern.DOTALL)
        .matcher(readme);
    assertTrue(m.find(), "java/README.md has the ManyInstances.java block");
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("selo-readme-example");
    java.nio.file.Path src = dir.resolve("ManyInstances.java");
    java.nio.file.Files.writeString(src, m.group(1) + "\n");
    javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "a JDK (javac) runs the tests");
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int rc = javac.run(null, null, err, "-d", dir.toString(), "-cp", System.getProperty("java.class.path"),
        src.toString());
    assertEquals(0, rc, err.toString());
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra()) {
      String javaBin = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
      ProcessBuilder pb = new ProcessBuilder(javaBin, "-Djna.library.path=" + System.getProperty("jna.library.path"),
          "-cp", dir + File.pathSeparator + System.getProperty("java.class.path"), "ManyInstances")
          .redirectErrorStream(true);
      pb.environment().put("SELO_SAFRA_URL", sim.base);
      pb.environment().put("REDIS_URL", redis.url());
      pb.environment().put("SELO_SEAL_KEY", SEAL_HEX);
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("32 registered, handshakes: 1, adopted: 1"), out);
      JsonObject st = sim.state();
      assertEquals(1, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
      assertEquals(32, SimProcess.count(st, "psd050 200"), st.get("counts").toString());
    }
  }

  static SafraClient sharedClient(SimProcess sim, PrivateKey key, RedisSafraShare share) {
    SafraSession s = SafraSession.create("", sim.base, "CLIENTE01");
    s.setClientKey(key);
    return SafraClient.overHttp(s, Duration.ofSeconds(5)).waitTimeout(Duration.ofSeconds(10)).shared(share);
  }

  /** A lease left by a dead holder: waited for (polling), taken once it expired; or shared.lease_timeout. */
  @Test
  void aDeadHoldersLeaseIsWaitedOutThenTaken() throws Exception {
    String t = Vectors.text("safra/boleto-sample.json");
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra();
        UnifiedJedis j = jedis(redis.port());
        RedisSafraShare share = new RedisSafraShare(j, "java-stale", SafraShare.sealKeyFromHex(SEAL_HEX));
        RedisSafraShare other = new RedisSafraShare(j, "java-late", SafraShare.sealKeyFromHex(SEAL_HEX));
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"))) {
      // kill -9 of the holder: its lease stays until its TTL.
      j.psetex("selo:{safra:java-stale}:lease", 1_500, "dead-holder");
      try (SafraClient c = sharedClient(sim, key, share)) {
        long t0 = System.nanoTime();
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, c.registerBoleto(SafraSoakTest.boleto(t, 8_200_001, "S1")).kind());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 1_000 && ms < 8_000, "waited for the dead holder's lease: " + ms + " ms");
        assertTrue(share.stats().leaseWaits() >= 1, share.stats().toString());
        assertEquals(1, share.stats().handshakes());
      }
      // A lease that outlives twice the TTL this instance allows: shared.lease_timeout, nothing sent.
      other.leaseTtlMs(400);
      j.psetex("selo:{safra:java-late}:lease", 60_000, "dead-holder");
      int before = SimProcess.count(sim.state(), "psd001 200");
      try (SafraClient c = sharedClient(sim, key, other)) {
        SeloException e = assertThrows(SeloException.class,
            () -> c.registerBoleto(SafraSoakTest.boleto(t, 8_200_002, "S2")));
        assertEquals("shared.lease_timeout", e.getCode());
      }
      assertEquals(before, SimProcess.count(sim.state(), "psd001 200"));
    }
  }

  /** Redis stopped: typed failures, no bank call; Redis back: the same client recovers. */
  @Test
  void theClientRecoversWhenRedisReturns() throws Exception {
    String t = Vectors.text("safra/boleto-sample.json");
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra();
        UnifiedJedis j = jedis(redis.port());
        RedisSafraShare share = new RedisSafraShare(j, "java-back", SafraShare.sealKeyFromHex(SEAL_HEX));
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = sharedClient(sim, key, share)) {
      redis.stop();
      for (int i = 0; i < 2; i++) {
        long nosso = 8_300_000 + i;
        assertEquals("shared.store_unavailable", assertThrows(SeloException.class,
            () -> c.registerBoleto(SafraSoakTest.boleto(t, nosso, "S" + nosso))).getCode());
      }
      assertEquals(0, SimProcess.count(sim.state(), "psd001 200"));
      redis.restart();
      long until = System.nanoTime() + 10_000_000_000L;
      SafraReply r = null;
      while (r == null) {
        try {
          r = c.registerBoleto(SafraSoakTest.boleto(t, 8_300_010, "S8300010"));
        } catch (SeloException e) {
          assertEquals("shared.store_unavailable", e.getCode());
          assertTrue(System.nanoTime() < until, "recovered within 10 s");
          Thread.sleep(100);
        }
      }
      assertEquals(SafraReply.Kind.BOLETO_REGISTERED, r.kind());
      assertEquals(1, share.stats().handshakes());
      assertTrue(share.stats().storeErrors() >= 2);
      assertNotNull(j.get("selo:{safra:java-back}:record"));
    }
  }

  /**
   * Tokens of 67 s renewed 61 s before their end: the renewal falls due 5 to 6 s after the token, and the
   * fleet runs it once (exactly one psd007), the others adopt it. The second fleet (JVM start-up included)
   * must finish within the 5 to 6 s before the renewed token falls due in turn.
   */
  @Test
  void aDueRenewalRunsOnceFleetWide() throws Exception {
    String profile = "{\"renew_before_secs\":61}";
    try (RedisServers redis = RedisServers.single(); SimProcess sim = SimProcess.safra(67);
        UnifiedJedis j = jedis(redis.port())) {
      sim.fault("{\"fault\":\"latency\",\"ms\":20}");
      List<JsonObject> first = fleet(sim, "--redis", redis.url(), "java-renew", 4, 5, 4, 11_000_000L, profile);
      JsonObject st = sim.state();
      assertEquals(1, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
      assertEquals(0, SimProcess.count(st, "psd007 200"), "not due yet: " + st.get("counts"));
      assertEquals(1, sum(first, "handshakes"));
      Thread.sleep(6_100);
      List<JsonObject> second = fleet(sim, "--redis", redis.url(), "java-renew", 4, 25, 4, 11_100_000L, profile);
      st = sim.state();
      assertEquals(1, SimProcess.count(st, "psd007 200"), "one renewal fleet-wide: " + st.get("counts"));
      assertEquals(2, SimProcess.count(st, "psd001 200"), st.get("counts").toString());
      assertEquals(1, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
      for (String k : st.getAsJsonObject("counts").keySet()) {
        assertFalse(k.endsWith(" 480"), st.get("counts").toString());
      }
      assertEquals(0, SimProcess.duplicates(st));
      assertEquals(1, sum(second, "renewals"), second.toString());
      assertEquals(0, sum(second, "handshakes"), second.toString());
      assertTrue(j.get("selo:{safra:java-renew}:record").startsWith("selo1.2."));
    }
  }
}
