package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: a handle is never freed while a native call uses it. close() (or
 * the Cleaner) marks it closed at once; the free runs once, after the last
 * call in flight.
 */
class HandleLifetimeTest {
  static final String AUD = "https://rs.example/payments";

  /** A handle with a free function the test controls. */
  static final class TestHandle extends Handle {
    TestHandle(Pointer p, Consumer<Pointer> free) {
      super(p, free);
    }
  }

  /** Records frees and how many test callbacks were running at each. */
  static final class FreeLog implements Consumer<Pointer> {
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger frees = new AtomicInteger();
    final AtomicInteger insideAtFree = new AtomicInteger(-1);
    final Consumer<Pointer> then;

    FreeLog(Consumer<Pointer> then) {
      this.then = then;
    }

    @Override
    public void accept(Pointer p) {
      insideAtFree.set(inside.get());
      frees.incrementAndGet();
      then.accept(p);
    }
  }

  static Pointer nativeKey(String pem) {
    PointerByReference out = new PointerByReference();
    byte[] data = pem.getBytes(StandardCharsets.UTF_8);
    Ffi.check(Ffi.N.selo_private_key_import(data, data.length, out));
    return out.getValue();
  }

  static void assertClosed(Runnable call, String type) {
    SeloException e = assertThrows(SeloException.class, call::run);
    assertEquals("ffi.closed", e.getCode());
    assertEquals(4, e.getStatus());
    assertEquals("ffi.closed: " + type + " is closed", e.getMessage());
  }

  /**
   * Workers call {@code call} in a loop; once each has succeeded {@code warmup}
   * times, another thread closes the handle. Every call must succeed or throw
   * ffi.closed; returns the successes.
   */
  static long hammer(Handle h, int workers, int warmup, Runnable call) throws InterruptedException {
    AtomicLong ok = new AtomicLong();
    CountDownLatch warm = new CountDownLatch(workers);
    ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      threads.add(new Thread(() -> {
        int mine = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try {
          while (true) {
            call.run();
            ok.incrementAndGet();
            if (++mine == warmup) {
              warm.countDown();
            }
            if (System.nanoTime() > deadline) {
              throw new AssertionError("the handle was never closed");
            }
          }
        } catch (SeloException e) {
          if (!"ffi.closed".equals(e.getCode())) {
            wrong.add(e);
          }
        } catch (Throwable t) {
          wrong.add(t);
        } finally {
          if (mine < warmup) {
            warm.countDown(); // failed early: do not hold the closer back
          }
        }
      }, "hammer-" + w));
    }
    Thread closer = new Thread(() -> {
      try {
        warm.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      h.close();
    }, "closer");
    threads.forEach(Thread::start);
    closer.start();
    for (Thread t : threads) {
      t.join(60_000);
      assertFalse(t.isAlive(), t.getName() + " still running");
    }
    closer.join(10_000);
    assertTrue(wrong.isEmpty(), () -> "calls failed otherwise than ffi.closed: " + wrong);
    assertTrue(h.isFreed(), "closed and idle, yet not freed");
    assertEquals(0, h.callsInFlight());
    return ok.get();
  }

  // (a) many threads using one handle while another thread closes it

  @Test
  void threadsUsingOneKeyWhileItIsClosed() throws InterruptedException {
    String pem = Vectors.text("external/keys/rsa1024-client.pem");
    for (int round = 0; round < 20; round++) {
      PrivateKey key = PrivateKey.fromPem(pem);
      // Unsynchronised calls: the native side really runs them at once.
      long ok = hammer(key, 4, 3, () -> {
        assertEquals(1024, key.bits());
        try (PublicKey pub = key.publicKey()) {
          assertEquals(1024, pub.bits());
        }
      });
      assertTrue(ok >= 12, "round " + round + ": only " + ok + " calls succeeded");
      assertClosed(key::bits, "PrivateKey");
    }
  }

  @Test
  void threadsSigningWithOneSignerWhileItIsClosed() throws InterruptedException {
    try (PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa2048-ofb.pem"))) {
      for (int round = 0; round < 3; round++) {
        Ofb.Signer signer = Ofb.Signer.create(key, "cli", "org-a", "");
        long ok = hammer(signer, 3, 1, () -> signer.sign("{\"n\":1}", AUD, 0, 1_700_000_000L));
        assertTrue(ok >= 3, "only " + ok + " signatures");
        assertClosed(() -> signer.sign("{}", AUD, 0, 1_700_000_000L), "Signer");
      }
      assertEquals(2048, key.bits()); // the signer's close did not touch the key
    }
  }

  @Test
  void threadsUsingOneSessionWhileItIsClosed() throws InterruptedException {
    for (int round = 0; round < 10; round++) {
      SafraSession s = SafraSession.create("", "homologation", "CLIENTE01");
      long ok = hammer(s, 3, 5, () -> {
        assertEquals(SafraSession.State.NEW, s.state());
        s.export();
      });
      assertTrue(ok >= 15, "only " + ok + " calls succeeded");
      assertClosed(s::state, "SafraSession");
    }
  }

  @Test
  void threadsUsingOneJwksCacheWhileItIsClosed() throws InterruptedException {
    String token = OfbJwksPolicyTest.token(new com.google.gson.JsonPrimitive("a"));
    for (int round = 0; round < 10; round++) {
      JwksCache cache = JwksCache.create("https://keys.example/jwks", "");
      JwksCache.Decision first = cache.decide(0, token);
      cache.fetched(first.ticket(), 1, 200, ("{\"keys\":[" + Vectors.json("ofb/jwks-policy.json").get("key")
          .toString().replace("{", "{\"kid\":\"a\",") + "]}").getBytes(StandardCharsets.UTF_8));
      long ok = hammer(cache, 3, 5, () -> {
        assertEquals(JwksCache.Kind.USE, cache.decide(2, token).kind());
        try (Ofb.Jwks set = cache.jwks()) {
          assertTrue(set.toPublicJson().contains("\"a\""));
        }
        cache.stats();
      });
      assertTrue(ok >= 15, "only " + ok + " calls succeeded");
      assertClosed(cache::stats, "JwksCache");
    }
  }

  @Test
  void aSetHandedOutOutlivesItsCache() {
    String token = OfbJwksPolicyTest.token(new com.google.gson.JsonPrimitive("a"));
    JwksCache cache = JwksCache.create("https://keys.example/jwks", "");
    JwksCache.Decision d = cache.decide(0, token);
    cache.fetched(d.ticket(), 1, 200, ("{\"keys\":[" + Vectors.json("ofb/jwks-policy.json").get("key").toString()
        .replace("{", "{\"kid\":\"a\",") + "]}").getBytes(StandardCharsets.UTF_8));
    try (Ofb.Jwks set = cache.jwks()) {
      cache.close();
      assertTrue(set.toPublicJson().contains("\"a\""), "the set shares the keys, not the cache");
    }
    assertClosed(() -> cache.decide(2, token), "JwksCache");
  }

  // (b) close twice

  @Test
  void closingTwiceFreesOnce() {
    FreeLog log = new FreeLog(p -> {});
    TestHandle h = new TestHandle(new Pointer(0x1000), log);
    h.close();
    h.close();
    assertEquals(1, log.frees.get());
    assertClosed(() -> h.use(p -> p), "TestHandle");

    PrivateKey k = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
    k.close();
    k.close();
    assertTrue(k.isFreed());
    assertClosed(k::bits, "PrivateKey");
  }

  // (c) the free runs once, only after the calls in flight end

  @Test
  void freeWaitsForTheCallInFlight() throws Exception {
    FreeLog log = new FreeLog(Ffi.N::selo_private_key_free);
    TestHandle h = new TestHandle(nativeKey(Vectors.text("external/keys/rsa1024-client.pem")), log);
    CountDownLatch inCall = new CountDownLatch(1);
    CountDownLatch closed = new CountDownLatch(1);
    long[] bits = new long[2];
    Thread caller = new Thread(() -> h.run(p -> {
      log.inside.incrementAndGet();
      bits[0] = Ffi.N.selo_private_key_bits(p);
      inCall.countDown();
      try {
        assertTrue(closed.await(10, TimeUnit.SECONDS));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      // close() has returned: the pointer must still be a live key.
      bits[1] = Ffi.N.selo_private_key_bits(p);
      log.inside.decrementAndGet();
    }));
    caller.start();
    assertTrue(inCall.await(10, TimeUnit.SECONDS));
    h.close();
    assertEquals(0, log.frees.get(), "freed while a call was in flight");
    assertFalse(h.isFreed());
    assertEquals(1, h.callsInFlight());
    assertClosed(() -> h.use(p -> p), "TestHandle"); // new uses refused at once
    closed.countDown();
    caller.join(10_000);
    assertEquals(1024, bits[0]);
    assertEquals(1024, bits[1], "the key was freed under the call");
    assertEquals(1, log.frees.get());
    assertEquals(0, log.insideAtFree.get());
    assertTrue(h.isFreed());
    h.close();
    assertEquals(1, log.frees.get());
  }

  @Test
  void freeRunsExactlyOnceAfterTheLastOfManyCalls() throws InterruptedException {
    for (int round = 0; round < 50; round++) {
      FreeLog log = new FreeLog(p -> {});
      TestHandle h = new TestHandle(new Pointer(0x1000 + round), log);
      long ok = hammer(h, 4, 20, () -> h.run(p -> {
        log.inside.incrementAndGet();
        Thread.yield();
        log.inside.decrementAndGet();
      }));
      assertTrue(ok >= 80);
      assertEquals(1, log.frees.get(), "round " + round);
      assertEquals(0, log.insideAtFree.get(), "round " + round + ": freed during a call");
    }
  }

  // (d) the Cleaner frees an unclosed handle once unreachable, never mid-call

  static boolean gcUntil(Supplier<Boolean> done, long timeoutMillis) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!done.get()) {
      if (System.nanoTime() > end) {
        return false;
      }
      System.gc();
      Thread.sleep(20);
    }
    return true;
  }

  static void dropUnclosed(Consumer<Pointer> free) {
    TestHandle h = new TestHandle(nativeKey(Vectors.text("external/keys/rsa1024-client.pem")), free);
    assertEquals(1024L, (long) h.use(p -> Ffi.N.selo_private_key_bits(p)));
  }

  @Test
  void theCleanerFreesAnUnreachableHandle() throws InterruptedException {
    FreeLog log = new FreeLog(Ffi.N::selo_private_key_free);
    dropUnclosed(log);
    assertTrue(gcUntil(() -> log.frees.get() == 1, 20_000), "the Cleaner never freed the handle");
    Thread.sleep(100);
    assertEquals(1, log.frees.get());
  }

  @Test
  void theCleanerLeavesAReachableHandleAlone() throws InterruptedException {
    FreeLog log = new FreeLog(Ffi.N::selo_private_key_free);
    TestHandle h = new TestHandle(nativeKey(Vectors.text("external/keys/rsa1024-client.pem")), log);
    assertFalse(gcUntil(() -> log.frees.get() > 0, 300), "a reachable handle was cleaned");
    assertEquals(1024L, (long) h.use(p -> Ffi.N.selo_private_key_bits(p)));
    h.close();
    assertEquals(1, log.frees.get());
  }

  @Test
  void theCleanerWaitsForACallOnAnOtherwiseUnreachableHandle() throws InterruptedException {
    FreeLog log = new FreeLog(Ffi.N::selo_private_key_free);
    long[] bits = new long[1];
    // The handle is referenced only by the running use() call.
    new TestHandle(nativeKey(Vectors.text("external/keys/rsa1024-client.pem")), log).run(p -> {
      log.inside.incrementAndGet();
      try {
        assertFalse(gcUntil(() -> log.frees.get() > 0, 500), "freed during the call");
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      bits[0] = Ffi.N.selo_private_key_bits(p);
      log.inside.decrementAndGet();
    });
    assertEquals(1024, bits[0]);
    assertTrue(gcUntil(() -> log.frees.get() == 1, 20_000), "the Cleaner never freed the handle");
    assertEquals(0, log.insideAtFree.get());
  }

  @Test
  void aPublicKeyComparedWithItselfUsesBothGuards() {
    try (PrivateKey k = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
        PublicKey a = k.publicKey();
        PublicKey b = k.publicKey()) {
      assertTrue(a.sameKey(a));
      assertTrue(a.sameKey(b));
      b.close();
      assertClosed(() -> a.sameKey(b), "PublicKey");
      assertEquals(0, a.callsInFlight()); // the outer use ended although the inner one threw
    }
  }
}
