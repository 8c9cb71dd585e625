package dev.selo.redis;

import dev.selo.SeloException;

/** The adapters' one store error: typed, and never quoting the key, the value or the driver's text. */
final class Unavailable {
  private Unavailable() {}

  static SeloException of(String what, Exception e) {
    return new SeloException("shared.store_unavailable",
        what + " failed (" + e.getClass().getSimpleName() + "): failing closed", 0);
  }
}
