package dev.selo;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;

/** Conversions shared by the wrappers: statuses to exceptions, outputs to Java values. */
final class Ffi {
  static final SeloNative N = SeloNative.LIB;

  private Ffi() {}

  /** Throws the thread's last error unless {@code status} is SELO_OK. */
  static void check(int status) {
    if (status != 0) {
      String code = N.selo_last_error_code();
      String message = N.selo_last_error_message();
      throw new SeloException(code == null ? "ffi.unknown" : code, message == null ? "" : message, status);
    }
  }

  /** Reads and frees (zeroizing) a string selo returned; null stays null. */
  static String takeString(PointerByReference ref) {
    Pointer p = ref.getValue();
    if (p == null) {
      return null;
    }
    try {
      return p.getString(0, "UTF-8");
    } finally {
      N.selo_string_free(p);
    }
  }

  /** Copies and frees (zeroizing) a buffer selo returned. */
  static byte[] takeBuffer(SeloNative.SeloBuffer b) {
    b.read();
    try {
      return b.data == null || b.len == 0 ? new byte[0] : b.data.getByteArray(0, (int) b.len);
    } finally {
      N.selo_buffer_free(b);
    }
  }

  static long len(byte[] b) {
    return b == null ? 0 : b.length;
  }

  /** Copies a native request into a Java value and frees the native one. */
  static HttpMessage.Request takeRequest(Pointer r) {
    try {
      List<HttpMessage.Header> headers = new ArrayList<>();
      long n = N.selo_request_header_count(r);
      for (long i = 0; i < n; i++) {
        headers.add(new HttpMessage.Header(N.selo_request_header_name(r, i), N.selo_request_header_value(r, i)));
      }
      long len = N.selo_request_body_len(r);
      Pointer body = N.selo_request_body(r);
      byte[] bytes = body == null || len == 0 ? new byte[0] : body.getByteArray(0, (int) len);
      return new HttpMessage.Request(N.selo_request_method(r), N.selo_request_url(r), headers, bytes);
    } finally {
      N.selo_request_free(r);
    }
  }

  /** Copies a native response into a Java value and frees the native one. */
  static HttpMessage.Response takeResponse(Pointer r) {
    try {
      List<HttpMessage.Header> headers = new ArrayList<>();
      long n = N.selo_response_header_count(r);
      for (long i = 0; i < n; i++) {
        headers.add(new HttpMessage.Header(N.selo_response_header_name(r, i), N.selo_response_header_value(r, i)));
      }
      long len = N.selo_response_body_len(r);
      Pointer body = N.selo_response_body(r);
      byte[] bytes = body == null || len == 0 ? new byte[0] : body.getByteArray(0, (int) len);
      return new HttpMessage.Response(N.selo_response_status(r) & 0xffff, headers, bytes);
    } finally {
      N.selo_response_free(r);
    }
  }

  /** A native request built from a Java value; the caller frees it. */
  static Pointer nativeRequest(HttpMessage.Request r) {
    PointerByReference out = new PointerByReference();
    check(N.selo_request_new(r.method(), r.url(), out));
    Pointer p = out.getValue();
    try {
      for (HttpMessage.Header h : r.headers()) {
        check(N.selo_request_add_header(p, h.name(), h.value()));
      }
      check(N.selo_request_set_body(p, r.body(), len(r.body())));
      return p;
    } catch (RuntimeException e) {
      N.selo_request_free(p);
      throw e;
    }
  }

  /** A native response built from a Java value; the caller frees it. */
  static Pointer nativeResponse(HttpMessage.Response r) {
    PointerByReference out = new PointerByReference();
    check(N.selo_response_new((short) r.status(), out));
    Pointer p = out.getValue();
    try {
      for (HttpMessage.Header h : r.headers()) {
        check(N.selo_response_add_header(p, h.name(), h.value()));
      }
      check(N.selo_response_set_body(p, r.body(), len(r.body())));
      return p;
    } catch (RuntimeException e) {
      N.selo_response_free(p);
      throw e;
    }
  }
}
