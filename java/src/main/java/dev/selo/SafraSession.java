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

  // ---- Many operations at once (SPEC §5) ----

  /** What {@link #next} says an operation does now. */
  public sealed interface Next permits Wait, Send {}

  /**
   * Another operation runs the transition this one needs: call {@link #next}
   * again once the session handled a response (or an operation ended).
   */
  public record Wait() implements Next {}

  /** Send {@code request}; hand its response back with {@code id}. */
  public record Send(long id, HttpMessage.Request request, boolean resendable) implements Next {}

  private static final Wait WAIT = new Wait();

  /**
   * Begins {@code op} beside any other operations in progress and returns its
   * id for {@link #next} and {@link #cancel}. {@code safra.session.busy} past
   * the maximum in flight; {@code safra.boleto.in_flight} when another
   * operation registers the same {@code nossoNumero}.
   */
  public synchronized long begin(Op op, String payloadJson) {
    LongByReference id = new LongByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_begin(p, op.ordinal(), payloadJson == null ? "" : payloadJson, id)));
    return id.getValue();
  }

  /** The next step of operation {@code opId} at {@code now} (Unix seconds). An error ends the operation. */
  public synchronized Next next(long opId, long now) {
    ByteByReference wait = new ByteByReference();
    LongByReference id = new LongByReference();
    PointerByReference req = new PointerByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_next(p, opId, now, wait, id, req)));
    if (wait.getValue() != 0 || req.getValue() == null) {
      return WAIT;
    }
    boolean resendable = Ffi.N.selo_request_resendable(req.getValue()) != 0;
    return new Send(id.getValue(), Ffi.takeRequest(req.getValue()), resendable);
  }

  /**
   * Ends operation {@code opId} without a reply (a psd050 of it in flight
   * becomes an unresolved registration); false when it had already ended.
   */
  public synchronized boolean cancel(long opId) {
    ByteByReference ended = new ByteByReference();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_cancel(p, opId, ended)));
    return ended.getValue() != 0;
  }

  /** The operations in progress. */
  public synchronized long inFlight() {
    return use(p -> Ffi.N.selo_safra_session_in_flight(p));
  }

  /** True while a transition (handshake stage, psd005, psd007) is in flight. */
  public synchronized boolean transitionInFlight() {
    return use(p -> Ffi.N.selo_safra_session_transition_in_flight(p)) != 0;
  }

  /** Counts the changes of the session's credentials. */
  public synchronized long generation() {
    return use(p -> Ffi.N.selo_safra_session_generation(p));
  }

  /** How many operations may run at once (at least 1; default 256). */
  public synchronized void setMaxInFlight(long max) {
    run(p -> Ffi.check(Ffi.N.selo_safra_session_set_max_in_flight(p, max)));
  }

  /**
   * Shares this session with other instances (SPEC §5): transitions run only
   * while the fleet's lease is granted ({@link SafraShare} does it).
   */
  public synchronized void setShared(boolean shared) {
    run(p -> Ffi.check(Ffi.N.selo_safra_session_set_shared(p, (byte) (shared ? 1 : 0))));
  }

  /** True when an operation of a shared session needs the fleet's lease. */
  public synchronized boolean wantsLease() {
    return use(p -> Ffi.N.selo_safra_session_wants_lease(p)) != 0;
  }

  /** True when request {@code requestId} is a transition (handshake stage, psd005, psd007). */
  public synchronized boolean isTransition(long requestId) {
    return use(p -> Ffi.N.selo_safra_session_is_transition(p, requestId)) != 0;
  }

  /** The credentials alone (session id, AES key, token…): secret, seal them at rest. */
  public synchronized byte[] exportCredentials() {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    run(p -> Ffi.check(Ffi.N.selo_safra_session_export_credentials(p, out)));
    return Ffi.takeBuffer(out);
  }

  /** Takes credentials another instance exported. */
  public synchronized void adoptCredentials(byte[] credentials) {
    run(p -> Ffi.check(Ffi.N.selo_safra_session_adopt_credentials(p, credentials, Ffi.len(credentials))));
  }

  /** Runs {@code f} with the native pointer while this session's monitor is held (for {@link SafraShare}). */
  synchronized <T> T withPointer(java.util.function.Function<Pointer, T> f) {
    return use(f);
  }
}
