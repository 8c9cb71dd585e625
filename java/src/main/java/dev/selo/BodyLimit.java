package dev.selo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Request body limits of the server helpers (default 1 MiB): a declared
 * length over the limit is refused before reading; otherwise at most
 * {@code limit + 1} bytes are read. The refusal is a 413 response.
 */
public final class BodyLimit {
  /** The default limit: 1 MiB. */
  public static final long DEFAULT_MAX_BYTES = 1024 * 1024;

  private BodyLimit() {}

  /** A body over the limit: code {@code http.body_too_large}, status 0 like every host-layer error (the response is a 413; driver-level: in {@link ErrorCodes#HOST}, not the core's list). */
  public static final class TooLargeException extends SeloException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    public TooLargeException(long limit) {
      super("http.body_too_large", "the request body is over the limit of " + limit + " bytes", 0);
      this.limit = limit;
    }

    public long limit() {
      return limit;
    }
  }

  /**
   * Reads {@code in}: {@code declaredLength} (−1 when unknown) over
   * {@code maxBytes} is refused without reading; a stream longer than
   * {@code maxBytes} stops being read at {@code maxBytes + 1}.
   */
  public static byte[] read(InputStream in, long declaredLength, long maxBytes) throws IOException {
    if (declaredLength > maxBytes) {
      throw new TooLargeException(maxBytes);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    long total = 0;
    while (true) {
      int want = (int) Math.min(buf.length, maxBytes + 1 - total);
      int n = in.read(buf, 0, want);
      if (n < 0) {
        return out.toByteArray();
      }
      total += n;
      if (total > maxBytes) {
        throw new TooLargeException(maxBytes);
      }
      out.write(buf, 0, n);
    }
  }

  /**
   * The 413 response the helpers send for a body over {@code maxBytes} (the
   * OFB error shape, detail naming {@code http.body_too_large} and the
   * limit): the core's bytes, the same in every language.
   */
  public static HttpMessage.Response tooLargeResponse(long maxBytes) {
    com.sun.jna.ptr.PointerByReference out = new com.sun.jna.ptr.PointerByReference();
    Ffi.check(Ffi.N.selo_http_body_too_large_response(maxBytes, out));
    return Ffi.takeResponse(out.getValue());
  }
}
