package dev.selo;

import com.sun.jna.ptr.PointerByReference;
import java.util.function.Function;

/**
 * BMP transactions sent and not yet settled, shared by every instance that
 * may receive BMP's confirmation call (docs/shared-state.md §9). As a
 * {@code Function<String, byte[]>} it is the lookup a
 * {@link BmpConfirmationHandler} takes: {@code new BmpConfirmationHandler(signer, pending)}.
 * A store failure throws (the handler answers the core's 500, BMP calls again;
 * recording fails closed: do not send).
 */
public interface BmpPending extends Function<String, byte[]> {
  /** How long a pending transaction is kept ({@code BMP_PENDING_TTL_SECONDS}: 7 days). */
  long TTL_SECONDS = 604_800;

  /**
   * Records the exact body bytes sent under {@code idempotencyKey} before
   * sending. False when another body is already pending under that key (do
   * not send); true when recorded now or the same bytes were (a retry).
   */
  boolean record(String idempotencyKey, byte[] body);

  /** The body recorded for {@code idempotencyKey}, or null. */
  byte[] lookup(String idempotencyKey);

  /** Forgets a settled transaction. */
  void settle(String idempotencyKey);

  @Override
  default byte[] apply(String idempotencyKey) {
    return lookup(idempotencyKey);
  }

  /** The store key of {@code idempotencyKey} (the core's {@code bmp_pending_key}). */
  static String storeKey(String idempotencyKey) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_shared_bmp_pending_key(idempotencyKey, out));
    return Ffi.takeString(out);
  }
}
