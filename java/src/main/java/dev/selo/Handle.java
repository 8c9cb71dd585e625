package dev.selo;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An owned native handle: {@link #close()} frees it (selo zeroizes keys); a
 * Cleaner frees it if the object is collected unclosed.
 *
 * <p>Every native use goes through {@link #use(Function)} / {@link #run(Consumer)},
 * which count the calls in flight. {@link #close()} (or the Cleaner) marks the
 * handle closed at once, so later uses throw {@code ffi.closed}, but the native
 * free runs only when the last call in flight returns, exactly once, on the
 * thread that ends it. The object is kept reachable until each use ends
 * ({@link Reference#reachabilityFence}), so the Cleaner cannot run mid-call.
 * Calls that mutate native state are serialised by the subclasses
 * ({@code synchronized} methods); {@code close()} never waits for them.
 */
abstract class Handle implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /** The pointer, its free function and the in-flight count; shared with the Cleaner. */
  private static final class State implements Runnable {
    private final Pointer ptr;
    private final Consumer<Pointer> free;
    private int inUse;
    private boolean closed;
    private boolean freed;

    State(Pointer ptr, Consumer<Pointer> free) {
      this.ptr = ptr;
      this.free = free;
    }

    /** Counts one more call in flight and returns the pointer; null once closed. */
    synchronized Pointer acquire() {
      if (closed) {
        return null;
      }
      inUse++;
      return ptr;
    }

    /** Ends one call; the last call to end after a close frees the pointer. */
    void release() {
      boolean freeNow;
      synchronized (this) {
        inUse--;
        freeNow = closed && inUse == 0 && !freed;
        freed |= freeNow;
      }
      if (freeNow) {
        free.accept(ptr);
      }
    }

    /** close() and the Cleaner: closed now, freed now only when no call is in flight. */
    @Override
    public void run() {
      boolean freeNow;
      synchronized (this) {
        closed = true;
        freeNow = inUse == 0 && !freed;
        freed |= freeNow;
      }
      if (freeNow) {
        free.accept(ptr);
      }
    }

    synchronized boolean freed() {
      return freed;
    }

    synchronized int inUse() {
      return inUse;
    }
  }

  private final State state;
  private final Cleaner.Cleanable cleanable;

  /** {@code free} must not refer to this object (the Cleaner could never run). */
  Handle(Pointer ptr, Consumer<Pointer> free) {
    this.state = new State(ptr, free);
    this.cleanable = CLEANER.register(this, state);
  }

  /**
   * Runs {@code call} with the live pointer, which stays valid (not freed,
   * whatever close() or the Cleaner do meanwhile) until {@code call} returns.
   * Throws {@code ffi.closed} once closed. The pointer must not escape {@code call}.
   */
  final <T> T use(Function<Pointer, T> call) {
    try {
      Pointer p = state.acquire();
      if (p == null) {
        throw new SeloException("ffi.closed", getClass().getSimpleName() + " is closed", 4);
      }
      try {
        return call.apply(p);
      } finally {
        state.release();
      }
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** {@link #use(Function)} for calls without a result. */
  final void run(Consumer<Pointer> call) {
    use(p -> {
      call.accept(p);
      return null;
    });
  }

  /** Marks the handle closed; the native free happens now or when the last call in flight ends. Idempotent. */
  @Override
  public void close() {
    cleanable.clean();
  }

  /** Test hook: whether the native free has run. */
  final boolean isFreed() {
    return state.freed();
  }

  /** Test hook: calls in flight. */
  final int callsInFlight() {
    return state.inUse();
  }
}
