package dev.selo;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.util.function.Consumer;

/**
 * An owned native handle: {@link #close()} frees it (selo zeroizes keys); a
 * Cleaner frees it if the object is collected unclosed. Calls on one handle
 * are serialised.
 */
abstract class Handle implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  private static final class State implements Runnable {
    private Pointer ptr;
    private final Consumer<Pointer> free;

    State(Pointer ptr, Consumer<Pointer> free) {
      this.ptr = ptr;
      this.free = free;
    }

    @Override
    public synchronized void run() {
      if (ptr != null) {
        free.accept(ptr);
        ptr = null;
      }
    }
  }

  private final State state;
  private final Cleaner.Cleanable cleanable;

  Handle(Pointer ptr, Consumer<Pointer> free) {
    this.state = new State(ptr, free);
    this.cleanable = CLEANER.register(this, state);
  }

  /** The live pointer; throws once closed. */
  final Pointer ptr() {
    synchronized (state) {
      if (state.ptr == null) {
        throw new SeloException("ffi.closed", getClass().getSimpleName() + " is closed", 4);
      }
      return state.ptr;
    }
  }

  @Override
  public void close() {
    cleanable.clean();
  }
}
