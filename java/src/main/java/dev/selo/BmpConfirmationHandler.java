package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The partner's confirmation endpoint (SPEC §4.5), for any servlet-style code:
 * give it the received headers and the raw body bytes (never re-serialised)
 * and send back the returned status, headers and body.
 *
 * <pre>{@code
 * var handler = new BmpConfirmationHandler(signer, store::originalBody);
 * var r = handler.handle(headersOf(req), req.getInputStream(), req.getContentLengthLong()); // 1 MiB limit
 * resp.setStatus(r.response().status());
 * r.response().headers().forEach(h -> resp.addHeader(h.name(), h.value()));
 * resp.getOutputStream().write(r.response().body());
 * }</pre>
 *
 * Every body it answers is the core's: the decision, the 413 over the body
 * limit, and the 500 {@code bmp.confirm.internal} when the lookup (your
 * store) or the handler fails — never an exception's text.
 */
public final class BmpConfirmationHandler {
  /** The decision: the response to send and, for a 409, the first differing path. */
  public record Result(HttpMessage.Response response, String difference) {
    public boolean confirmed() {
      return response.status() == 200;
    }
  }

  private final BmpSigner signer;
  private final Function<String, byte[]> lookup;
  private long maxBodyBytes = BodyLimit.DEFAULT_MAX_BYTES;
  private volatile java.util.function.Consumer<Exception> onError;

  /** The body limit (default 1 MiB): a larger body is answered 413, unread. */
  public BmpConfirmationHandler maxBodyBytes(long n) {
    this.maxBodyBytes = n;
    return this;
  }

  /**
   * Reads the body from {@code in} (at most the limit; {@code declaredLength}
   * −1 when unknown) and decides; over the limit: 413, the rest unread.
   */
  public Result handle(List<HttpMessage.Header> headers, java.io.InputStream in, long declaredLength)
      throws java.io.IOException {
    byte[] body;
    try {
      body = BodyLimit.read(in, declaredLength, maxBodyBytes);
    } catch (BodyLimit.TooLargeException e) {
      return new Result(BodyLimit.tooLargeResponse(maxBodyBytes), null);
    }
    return handle(headers, body);
  }

  /** {@code lookup} returns the body originally sent for an idempotency key, or null. */
  public BmpConfirmationHandler(BmpSigner signer, Function<String, byte[]> lookup) {
    this.signer = signer;
    this.lookup = lookup;
  }

  /**
   * Sees a failure of the lookup (your transaction store) or of the handler
   * itself (logging); the caller gets the core's 500
   * {@code bmp.confirm.internal}, never the exception's text.
   */
  public BmpConfirmationHandler onError(java.util.function.Consumer<Exception> f) {
    this.onError = f;
    return this;
  }

  /** The 500 a confirmation endpoint sends when it could not decide (the core's fixed body). */
  public static HttpMessage.Response internalErrorResponse() {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_confirm_internal_response(out));
    return Ffi.takeResponse(out.getValue());
  }

  /**
   * Decides a confirmation request. A lookup that throws (its store is
   * down) or any other failure of the handler is answered with the core's
   * 500 {@code bmp.confirm.internal} ({@link #onError} sees the exception).
   */
  public Result handle(List<HttpMessage.Header> headers, byte[] body) {
    if (body != null && body.length > maxBodyBytes) {
      return new Result(BodyLimit.tooLargeResponse(maxBodyBytes), null);
    }
    try {
      return decide(headers, body);
    } catch (RuntimeException e) {
      java.util.function.Consumer<Exception> f = onError;
      if (f != null) {
        f.accept(e);
      }
      return new Result(internalErrorResponse(), null);
    }
  }

  private Result decide(List<HttpMessage.Header> headers, byte[] body) {
    HttpMessage.Request req = new HttpMessage.Request("POST", "http://partner.invalid/confirm", headers, body);
    Pointer r = Ffi.nativeRequest(req);
    RuntimeException[] failure = new RuntimeException[1];
    SeloNative.BmpLookup cb = (user, key, original) -> {
      try {
        byte[] o = lookup.apply(key.getString(0, "UTF-8"));
        if (o != null) {
          Ffi.check(Ffi.N.selo_bmp_original_set(original, o, o.length));
        }
      } catch (RuntimeException e) {
        failure[0] = e;
      }
    };
    try {
      PointerByReference resp = new PointerByReference();
      PointerByReference diff = new PointerByReference();
      synchronized (signer) {
        signer.run(s -> Ffi.check(Ffi.N.selo_bmp_confirm(s, r, cb, null, resp, diff)));
      }
      HttpMessage.Response response = Ffi.takeResponse(resp.getValue());
      String difference = Ffi.takeString(diff);
      if (failure[0] != null) {
        throw failure[0]; // the answer above assumed an unknown transaction: not sent
      }
      return new Result(response, difference);
    } finally {
      Ffi.N.selo_request_free(r);
    }
  }

  /** Same, from a header map (as servlet containers give them). */
  public Result handle(Map<String, List<String>> headers, byte[] body) {
    List<HttpMessage.Header> list = new java.util.ArrayList<>();
    headers.forEach((n, vs) -> vs.forEach(v -> list.add(new HttpMessage.Header(n, v))));
    return handle(list, body);
  }
}
