package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * SPEC §5 in one process: one SafraClient, many threads, against
 * {@code selo sim safra} over real HTTP. The simulator counts what it served.
 */
class SafraConcurrencyTest {
  static final String TEMPLATE = Vectors.text("safra/boleto-sample.json");

  static SafraClient client(SimProcess sim, PrivateKey key) {
    SafraSession s = SafraSession.create("", sim.base, "CLIENTE01");
    s.setClientKey(key);
    return SafraClient.overHttp(s, Duration.ofSeconds(20)).waitTimeout(Duration.ofSeconds(20));
  }

  /** Registers nossoNumero first..first+n-1 with {@code threads} threads; returns the elapsed ms. */
  static long registerAll(SafraClient c, long first, int n, int threads) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long t0 = System.nanoTime();
      List<Future<SafraReply>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long nosso = first + i;
        fs.add(pool.submit(() -> c.registerBoleto(SafraSoakTest.boleto(TEMPLATE, nosso, "S" + nosso))));
      }
      for (Future<SafraReply> f : fs) {
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, f.get(60, TimeUnit.SECONDS).kind());
      }
      return (System.nanoTime() - t0) / 1_000_000;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void sixtyFourRegistrationsFromSixteenThreadsMakeOneHandshake() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      registerAll(c, 5_000_000, 64, 16);
      JsonObject st = sim.state();
      assertEquals(2, SimProcess.count(st, "psd001 200"), st.toString());
      assertEquals(1, SimProcess.count(st, "psd005 200"), st.toString());
      assertEquals(64, SimProcess.count(st, "psd050 200"), st.toString());
      assertEquals(0, SimProcess.duplicates(st));
      for (long n = 5_000_000; n < 5_000_064; n++) {
        assertEquals(1, SimProcess.psd050Count(st, Long.toString(n)), "boleto " + n);
      }
      assertEquals(0, c.session().inFlight());
    }
  }

  @Test
  void sixteenInFlightTakeAFractionOfTheTimeOfOne() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      c.authenticate();
      sim.fault("{\"fault\":\"latency\",\"ms\":100}");
      int n = 32;
      long one = registerAll(c, 6_000_000, n, 1);
      long sixteen = registerAll(c, 6_100_000, n, 16);
      sim.clearFaults();
      System.out.printf("java concurrency: %d registrations at 100 ms each: 1 in flight %d ms, 16 in flight %d ms (%.2fx)%n",
          n, one, sixteen, (double) sixteen / one);
      assertTrue(one >= n * 100, "the latency fault applied: " + one + " ms");
      assertTrue(sixteen <= 0.3 * one, "16 in flight took " + sixteen + " ms, 1 in flight " + one + " ms");
      JsonObject st = sim.state();
      assertEquals(1, SimProcess.count(st, "psd005 200"), st.toString());
      assertEquals(0, SimProcess.duplicates(st));
    }
  }

  @Test
  void theSameBoletoTwiceAtOnceIsInFlight() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      c.authenticate();
      sim.fault("{\"fault\":\"latency\",\"ms\":300}");
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        String b = SafraSoakTest.boleto(TEMPLATE, 7_000_000, "S7000000");
        CompletableFuture<SafraReply> first = c.registerBoletoAsync(b, pool);
        long until = System.nanoTime() + 5_000_000_000L;
        while (c.session().inFlight() == 0 && System.nanoTime() < until) {
          Thread.sleep(5);
        }
        ExecutionException e = assertThrows(ExecutionException.class, () -> c.registerBoletoAsync(b, pool).get());
        assertTrue(e.getCause() instanceof SeloException, e.toString());
        assertEquals("safra.boleto.in_flight", ((SeloException) e.getCause()).getCode());
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, first.get(20, TimeUnit.SECONDS).kind());
      } finally {
        pool.shutdownNow();
        sim.clearFaults();
      }
      assertEquals(1, SimProcess.psd050Count(sim.state(), "7000000"));
    }
  }

  @Test
  void anInterruptedThreadCancelsItsOperation() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      c.authenticate();
      sim.fault("{\"fault\":\"latency\",\"ms\":2000}");
      Thread t = new Thread(() -> {
        try {
          c.queryBoleto("7100000", "S7100000");
        } catch (InterruptedException | SeloException e) {
          // expected
        }
      });
      t.start();
      long until = System.nanoTime() + 5_000_000_000L;
      while (c.session().inFlight() == 0 && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertEquals(1, c.session().inFlight());
      t.interrupt();
      t.join(5_000);
      assertEquals(0, c.session().inFlight(), "the interrupted thread cancelled its operation");
      sim.clearFaults();
    }
  }

  @Test
  void aWaiterGivesUpAfterItsTimeout() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      c.waitTimeout(Duration.ofMillis(200));
      sim.fault("{\"fault\":\"latency\",\"ms\":1000}");
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        CompletableFuture<SafraReply> auth = c.runAsync(SafraSession.Op.AUTHENTICATE, "", pool);
        long until = System.nanoTime() + 5_000_000_000L;
        while (!c.session().transitionInFlight() && System.nanoTime() < until) {
          Thread.sleep(5);
        }
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> c.registerBoletoAsync(SafraSoakTest.boleto(TEMPLATE, 7_200_000, "S7200000"), pool).get());
        assertEquals("safra.session.not_ready", ((SeloException) e.getCause()).getCode());
        sim.clearFaults();
        assertEquals(SafraReply.Kind.AUTHENTICATED, auth.get(20, TimeUnit.SECONDS).kind());
        assertEquals(0, c.session().inFlight());
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void aKeyExpiryHeardByEveryCallInFlightMakesOneNewHandshake() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        SafraClient c = client(sim, key)) {
      c.authenticate();
      long generation = c.session().generation();
      sim.fault("{\"fault\":\"latency\",\"ms\":100}");
      sim.fault("{\"fault\":\"expire-key\"}");
      registerAll(c, 7_300_000, 16, 16);
      sim.clearFaults();
      JsonObject st = sim.state();
      assertTrue(SimProcess.count(st, "psd050 500") >= 2, "several calls heard the expiry: " + st.get("counts"));
      assertEquals(4, SimProcess.count(st, "psd001 200"), "one new handshake: " + st.get("counts"));
      assertEquals(2, SimProcess.count(st, "psd005 200"), st.get("counts").toString());
      assertEquals(0, SimProcess.duplicates(st));
      assertTrue(c.session().generation() > generation);
    }
  }
}
