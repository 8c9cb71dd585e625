package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.ByteByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;

/**
 * The Safra PSD client state machine. {@link #prepareNext} says what to send;
 * {@link #handleResponse} says what happens next. {@link SafraClient} runs the
 * loop over HTTP; use this class directly with any other HTTP stack.
 */
public final class SafraSession extends Handle {
  /** Operations, numbered as {@code SeloSafraOp}. */
  public enum Op { HANDSHAKE, AUTHENTICATE, RENEW, REGISTER_BOLETO, QUERY_BOLETO }

  /** What {@code handleResponse} decided, numbered as {@code SeloSafraStep}. */
  public enum Step { CONTINUE, REHANDSHAKE, REAUTHENTICATE, RENEW, RETRY, DONE, RECONCILE }

  /**
   * How sending a request failed before any response arrived, numbered as
   * {@code SeloTransportFailure}: {@code CONNECT} = never written (refused,
   * DNS, TLS handshake); {@code TIMEOUT} = no reply before the deadline;
   * {@code RESET} = the connection closed or reset after the request was
   * (maybe) sent; {@code OTHER} = any other failure after it may have been sent.
   */
  public enum TransportFailure { CONNECT, TIMEOUT, RESET, OTHER }

  /** Session states, numbered as {@code SeloSafraState}. */
  public enum State { NEW, KEYS_SENT, KEY_AGREED, AUTHENTICATED }

  /**
   * A request to send and the id to hand back with its response.
   * {@code resendable} is false when the request must never be sent again
   * blindly after an ambiguous outcome (Safra psd050): report the failure
   * with {@link #handleTransportError} and the session decides.
   */
  public record Prepared(long id, HttpMessage.Request request, boolean resendable) {
    public Prepared(long id, HttpMessage.Request request) {
      this(id, request, true);
    }
  }

  /** The decision; {@code reply} is set when {@code step} is DONE. */
  public record Outcome(Step step, SafraReply reply) {
    public boolean done() {
      return step == Step.DONE;
    }
  }

  /**
   * A registration whose outcome is unknown (its psd050 was sent and no
   * answer said whether the bank stored it): the session promises to
   * reconcile it, so the next register of this boleto starts with a psd052
   * query, whatever ran in between. {@code nossoNumero} is unsigned (a
   * boleto number never reaches the sign bit); {@code since} is when the
   * outcome became unknown (Unix seconds).
   */
  public record Unresolved(long nossoNumero, String seuNumero, long since) {}

  private SafraSession(Pointer p) {
    super(p, Ffi.N::selo_safra_session_free);
  }

  /**
   * A session. {@code profileJson} is a SafraProfile JSON ("" = defaults);
   * {@code baseUrl} is "homologation", "production" or a URL.
   */
  public static SafraSession create(String profileJson, String baseUrl, String cliente) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_session_new(profileJson, baseUrl, cliente, out));
    return new SafraSession(out.getValue());
  }

  /** Continues a session exported by {@link #export()}. */
  public static SafraSession importSession(byte[] blob) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_session_import(blob, Ffi.len(blob), out));
    return new SafraSession(out.getValue());
  }

  /** Uses this client key instead of generating one. */
  public synchronized void setClientKey(PrivateKey key) {
    run(p -> key.run(k -> Ffi.check(Ffi.N.selo_safra_session_set_client_key(p, k))));
  }

  /** Deterministic randomness (32 bytes), for tests and transcripts only. */
  public synchronized void setSeed(byte[] seed) {
    run(p -> Ffi.check(Ffi.N.selo_safra_session_set_seed(p, seed, Ffi.len(seed))));
  }

  /** The next request {@code op} needs at {@code now} (Unix seconds). */
  public synchronized Prepared prepareNext(Op op, String payloadJson, long now) {
    LongByReference id = new LongByReference();
    PointerByReference req = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_prepare_next(p, op.ordinal(), payloadJson == null ? "" : payloadJson,
        now, id, req)));
    boolean resendable = Ffi.N.selo_request_resendable(req.getValue()) != 0;
    return new Prepared(id.getValue(), Ffi.takeRequest(req.getValue()), resendable);
  }

  /** Hands back the response to request {@code id}, received at {@code now}. */
  public synchronized Outcome handleResponse(long id, HttpMessage.Response response, long now) {
    Pointer r = Ffi.nativeResponse(response);
    try {
      IntByReference step = new IntByReference();
      PointerByReference reply = new PointerByReference();
      run(p -> Ffi.check(Ffi.N.selo_safra_session_handle_response(p, id, r, now, step, reply)));
      Step s = Step.values()[step.getValue()];
      return new Outcome(s, reply.getValue() == null ? null : SafraReply.take(reply.getValue()));
    } finally {
      Ffi.N.selo_response_free(r);
    }
  }

  /**
   * Reports that request {@code id} got no HTTP response ({@code failure} says
   * how sending it failed). The session decides what follows, exactly as in
   * {@link #handleResponse}: RETRY, RECONCILE (after an ambiguous psd050, a
   * psd052 query for the same boleto comes next) or a {@link SeloException}
   * ({@code safra.boleto.outcome_unknown}, {@code safra.session.too_many_recoveries}).
   */
  public synchronized Outcome handleTransportError(long id, TransportFailure failure, long now) {
    IntByReference step = new IntByReference();
    PointerByReference reply = new PointerByReference();
    run(p -> Ffi.check(
        Ffi.N.selo_safra_session_handle_transport_error(p, id, failure.ordinal(), now, step, reply)));
    Step s = Step.values()[step.getValue()];
    return new Outcome(s, reply.getValue() == null ? null : SafraReply.take(reply.getValue()));
  }

  public synchronized State state() {
    return State.values()[use(p -> Ffi.N.selo_safra_session_state(p))];
  }

  public synchronized String sessionId() {
    PointerByReference out = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_id(p, out)));
    return Ffi.takeString(out);
  }

  /** The session with its keys (encrypt it at rest). */
  public synchronized byte[] export() {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_export(p, out)));
    return Ffi.takeBuffer(out);
  }

  /**
   * The registrations this session holds unresolved, oldest first (carried
   * by {@link #export()} / {@link #importSession(byte[])}). A register of
   * any of them starts with psd052; running out of recoveries while
   * reconciling one ends in {@code safra.boleto.outcome_unknown}.
   */
  public synchronized List<Unresolved> unresolvedRegistrations() {
    return use(p -> {
      long n = Ffi.N.selo_safra_session_unresolved_count(p);
      List<Unresolved> out = new ArrayList<>();
      for (long i = 0; i < n; i++) {
        LongByReference nosso = new LongByReference();
        LongByReference since = new LongByReference();
        PointerByReference seu = new PointerByReference();
        Ffi.check(Ffi.N.selo_safra_session_unresolved_at(p, i, nosso, since, seu));
        out.add(new Unresolved(nosso.getValue(), Ffi.takeString(seu), since.getValue()));
      }
      return List.copyOf(out);
    });
  }

  /**
   * Forgets the unresolved registration of {@code nossoNumero}, once you
   * know its outcome from the bank by other means: the next register of it
   * sends psd050 directly. Returns whether it was unresolved.
   */
  public synchronized boolean resolveRegistration(long nossoNumero) {
    ByteByReference found = new ByteByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_resolve(p, nossoNumero, found)));
    return found.getValue() != 0;
  }
}
