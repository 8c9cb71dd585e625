package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/** The Safra bank role (mocks, simulators, in-process tests). */
public final class SafraBank extends Handle implements SafraClient.Transport {
  /** One-shot faults, numbered as {@code SeloSafraFault}. */
  public enum Fault { EXPIRE_KEY, ANSWER_480, ANSWER_550 }

  private final java.util.function.LongSupplier clock;

  private SafraBank(Pointer p, java.util.function.LongSupplier clock) {
    super(p, Ffi.N::selo_safra_bank_free);
    this.clock = clock;
  }

  /** A bank with this key, profile ("" = defaults) and token lifetime (s). */
  public static SafraBank create(String profileJson, PrivateKey bankKey, long tokenLifetime,
      java.util.function.LongSupplier clock) {
    PointerByReference out = new PointerByReference();
    bankKey.run(k -> Ffi.check(Ffi.N.selo_safra_bank_new(profileJson, k, tokenLifetime, out)));
    return new SafraBank(out.getValue(), clock);
  }

  public synchronized void inject(Fault fault) {
    run(p -> Ffi.check(Ffi.N.selo_safra_bank_inject(p, fault.ordinal())));
  }

  /** Answers one request (protocol errors become their HTTP responses). */
  public synchronized HttpMessage.Response handle(HttpMessage.Request request, long now) {
    Pointer r = Ffi.nativeRequest(request);
    try {
      PointerByReference out = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_safra_bank_handle(p, r, now, out)));
      return Ffi.takeResponse(out.getValue());
    } finally {
      Ffi.N.selo_request_free(r);
    }
  }

  /** In-process transport: the bank answers at the bank's clock. */
  @Override
  public HttpMessage.Response send(HttpMessage.Request request) {
    return handle(request, clock.getAsLong());
  }

  public synchronized PublicKey publicKey() {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_bank_public_key(p, out)));
    return new PublicKey(out.getValue());
  }

  /**
   * The AES key this bank agreed with session {@code sessionId} (32 bytes):
   * the bank role's own key material, for mocks and tests that craft a reply
   * the bank would not send. {@code safra.session.not_ready} when the session
   * has no key.
   */
  public synchronized byte[] sessionKey(String sessionId) {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    run(p -> Ffi.check(Ffi.N.selo_safra_bank_session_key(p, sessionId, out)));
    return Ffi.takeBuffer(out);
  }
}
