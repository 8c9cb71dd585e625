package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.ByteByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * One instance's side of a Safra session shared by many instances through a
 * store (SPEC §5, docs/shared-state.md): the core's {@code SafraShare} (every
 * decision, the sealed record, the script calls and their replies) plus the
 * {@link Store} that moves its bytes. Hand it to
 * {@link SafraClient#shared(SafraShare)}; the client takes the fleet's lease
 * (one thread of the process at a time), adopts what other instances
 * published and publishes its own transitions.
 *
 * <p>{@code dev.selo.redis.RedisSafraShare} is this over Jedis. Every store
 * failure is a {@link SeloException} {@code shared.store_unavailable} whose
 * message holds no key, token or record (counted in {@link Stats#storeErrors()}).
 */
public class SafraShare implements AutoCloseable {
  /** The store's two commands; any exception is a store failure (fail closed). */
  public interface Store {
    /** {@code GET key}: the value, or null when absent. */
    String get(String key) throws Exception;

    /** Runs the script call ({@code EVALSHA}, {@code EVAL} on {@code NOSCRIPT}); its integer reply. */
    long eval(ScriptCall call) throws Exception;
  }

  /** The counters a host reads to operate a fleet. */
  public record Stats(long handshakes, long renewals, long adopted, long leaseWaits, long leaseSteals,
      long storeErrors) {
    /** {@code {"handshakes":…,"renewals":…,"adopted":…,"lease_waits":…,"lease_steals":…,"store_errors":…}}. */
    public String toJson() {
      return "{\"handshakes\":" + handshakes + ",\"renewals\":" + renewals + ",\"adopted\":" + adopted
          + ",\"lease_waits\":" + leaseWaits + ",\"lease_steals\":" + leaseSteals + ",\"store_errors\":"
          + storeErrors + "}";
    }
  }

  /** What the store returned for the record. */
  enum RecordOutcome { EMPTY, CURRENT, ADOPTED }

  /** How often a waiting instance reads the record ({@code WAIT_POLL_INTERVAL_MS}). */
  public static final long WAIT_POLL_INTERVAL_MS = 100;
  /** The default lease TTL ({@code DEFAULT_LEASE_TTL_MS}). */
  public static final long DEFAULT_LEASE_TTL_MS = 30_000;

  private static final class Core extends Handle {
    Core(Pointer p) {
      super(p, Ffi.N::selo_safra_share_free);
    }
  }

  private final Core core;
  private final Store store;
  private final String recordKey;

  /** A share of fleet {@code name} sealed under {@code sealKey} (32 bytes) over {@code store}. */
  public SafraShare(Store store, String name, byte[] sealKey) {
    if (store == null) {
      throw new IllegalArgumentException("store: required");
    }
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_share_new(name, sealKey, Ffi.len(sealKey), out));
    this.core = new Core(out.getValue());
    this.store = store;
    PointerByReference key = new PointerByReference();
    core.run(p -> Ffi.check(Ffi.N.selo_safra_share_record_key(p, key)));
    this.recordKey = Ffi.takeString(key);
  }

  /** A seal key from 64 hex digits. */
  public static byte[] sealKeyFromHex(String hex) {
    return HexFormat.of().parseHex(hex);
  }

  /** The lease TTL (1 ms to 10 min; default 30 s): longer than a handshake takes. */
  public synchronized SafraShare leaseTtlMs(long ttlMs) {
    core.run(p -> Ffi.check(Ffi.N.selo_safra_share_set_lease_ttl_ms(p, ttlMs)));
    return this;
  }

  public synchronized long leaseTtlMs() {
    return core.use(p -> Ffi.N.selo_safra_share_lease_ttl_ms(p));
  }

  /** The key of the sealed record. */
  public String recordKey() {
    return recordKey;
  }

  public synchronized Stats stats() {
    return core.use(p -> new Stats(Ffi.N.selo_safra_share_stat(p, 0), Ffi.N.selo_safra_share_stat(p, 1),
        Ffi.N.selo_safra_share_stat(p, 2), Ffi.N.selo_safra_share_stat(p, 3), Ffi.N.selo_safra_share_stat(p, 4),
        Ffi.N.selo_safra_share_stat(p, 5)));
  }

  /** The record generation this instance uses (0: none yet). */
  public synchronized long adoptedGeneration() {
    return core.use(p -> Ffi.N.selo_safra_share_adopted_generation(p));
  }

  /** True while this instance holds the fleet's lease. */
  public synchronized boolean holdsLease() {
    return core.use(p -> Ffi.N.selo_safra_share_holds_lease(p)) != 0;
  }

  @Override
  public void close() {
    core.close();
  }

  // ---- the store calls, each failure typed and counted ----

  private SeloException storeFailure(String what, Exception e) {
    synchronized (this) {
      core.run(p -> Ffi.check(Ffi.N.selo_safra_share_store_error(p)));
    }
    // The class only: a driver's message may quote the command (key, record).
    return new SeloException("shared.store_unavailable",
        what + " failed (" + e.getClass().getSimpleName() + "): the operation fails closed", 0);
  }

  private String get(String key) {
    try {
      return store.get(key);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw storeFailure("GET of the shared record", e);
    } catch (Exception e) {
      throw storeFailure("GET of the shared record", e);
    }
  }

  private long eval(ScriptCall call) {
    try {
      return store.eval(call);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw storeFailure(call.name(), e);
    } catch (Exception e) {
      throw storeFailure(call.name(), e);
    }
  }

  // ---- the protocol steps (the client drives them) ----

  /** GETs the record and hands it to the core (adopting a newer one). */
  RecordOutcome readRecord(SafraSession session) {
    String text = get(recordKey);
    byte[] bytes = text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    IntByReference out = new IntByReference();
    synchronized (this) {
      session.withPointer(s -> {
        core.run(p -> Ffi.check(Ffi.N.selo_safra_share_on_record(p, s, bytes, bytes == null ? 0 : bytes.length, out)));
        return null;
      });
    }
    return RecordOutcome.values()[out.getValue()];
  }

  /**
   * Takes the lease for {@code session}'s transitions (docs/shared-state.md
   * §6): acquire → re-read → grant, or adopt and release; while another
   * instance holds it, polls the record every 100 ms until it adopts a newer
   * one, trying the lease again once it expired; {@code shared.lease_timeout}
   * after twice the lease TTL.
   */
  void takeLease(SafraSession session) throws InterruptedException {
    long ttl = leaseTtlMs();
    long start = System.nanoTime();
    while (true) {
      PointerByReference c = new PointerByReference();
      ScriptCall call;
      synchronized (this) {
        core.run(p -> Ffi.check(Ffi.N.selo_safra_share_acquire(p, c)));
        call = ScriptCall.take(c.getValue());
      }
      long reply = eval(call);
      ByteByReference held = new ByteByReference();
      LongByReference retry = new LongByReference();
      synchronized (this) {
        core.run(p -> Ffi.check(Ffi.N.selo_safra_share_on_acquire(p, reply, held, retry)));
      }
      if (held.getValue() != 0) {
        RecordOutcome o;
        try {
          o = readRecord(session);
        } catch (RuntimeException e) {
          release(session);
          throw e;
        }
        if (o == RecordOutcome.ADOPTED) {
          release(session); // another instance already ran the transition
        } else {
          synchronized (this) {
            session.withPointer(s -> {
              core.run(p -> Ffi.check(Ffi.N.selo_safra_share_grant(p, s)));
              return null;
            });
          }
        }
        return;
      }
      // Busy: wait for the holder's record, at most until its lease expired.
      long busyUntil = System.nanoTime() + Math.max(retry.getValue(), 1) * 1_000_000L;
      while (System.nanoTime() < busyUntil) {
        Thread.sleep(WAIT_POLL_INTERVAL_MS);
        if (readRecord(session) == RecordOutcome.ADOPTED) {
          return;
        }
        if (System.nanoTime() - start > 2 * ttl * 1_000_000L) {
          throw new SeloException("shared.lease_timeout", "waited " + 2 * ttl
              + " ms (twice the lease TTL) for another instance's handshake or renewal and saw no newer record", 0);
        }
      }
    }
  }

  /**
   * After a transition's response: when the session finished the
   * transitions it ran under the lease, publishes its credentials (sealed)
   * and releases the lease.
   */
  void publishIfReady(SafraSession session) {
    ScriptCall call;
    synchronized (this) {
      call = session.withPointer(s -> core.use(p -> {
        if (Ffi.N.selo_safra_share_ready_to_publish(p, s) == 0) {
          return null;
        }
        PointerByReference c = new PointerByReference();
        Ffi.check(Ffi.N.selo_safra_share_publish(p, s, c));
        return ScriptCall.take(c.getValue());
      }));
    }
    if (call == null) {
      return;
    }
    long reply;
    try {
      reply = eval(call);
    } catch (RuntimeException e) {
      releaseQuietly(session, e);
      throw e;
    }
    IntByReference result = new IntByReference();
    synchronized (this) {
      session.withPointer(s -> {
        core.run(p -> Ffi.check(Ffi.N.selo_safra_share_on_publish(p, s, reply, result)));
        return null;
      });
    }
    release(session);
    if (result.getValue() != 0) {
      // Fenced (another instance's lease or record won): adopt the winner's.
      readRecord(session);
    }
  }

  /** Gives the lease up (if held): the session's transitions stop. */
  void release(SafraSession session) {
    PointerByReference c = new PointerByReference();
    synchronized (this) {
      session.withPointer(s -> {
        core.run(p -> Ffi.check(Ffi.N.selo_safra_share_release(p, s, c)));
        return null;
      });
    }
    if (c.getValue() == null) {
      return;
    }
    ScriptCall call = ScriptCall.take(c.getValue());
    long reply = eval(call);
    ByteByReference released = new ByteByReference();
    synchronized (this) {
      core.run(p -> Ffi.check(Ffi.N.selo_safra_share_on_release(p, reply, released)));
    }
  }

  /** {@link #release} after a failure: a store error of its own is suppressed into {@code cause}. */
  void releaseQuietly(SafraSession session, Throwable cause) {
    try {
      release(session);
    } catch (RuntimeException e) {
      if (cause != null && cause != e) {
        cause.addSuppressed(e);
      }
    }
  }
}
