package dev.selo;

import com.sun.jna.ptr.PointerByReference;
import java.util.Arrays;
import java.util.List;

/** Library-wide queries. */
public final class Selo {
  private Selo() {}

  public static String version() {
    return Ffi.N.selo_version();
  }

  /** The library's table of error codes ({@code selo_error_codes}). */
  public static List<String> errorCodes() {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_error_codes(out));
    return Arrays.asList(Ffi.takeString(out).split("\n"));
  }

  /** The binding's own codes. */
  public static List<String> ffiErrorCodes() {
    String[] c = new String[(int) Ffi.N.selo_ffi_error_code_count()];
    for (int i = 0; i < c.length; i++) {
      c[i] = Ffi.N.selo_ffi_error_code_at(i);
    }
    return List.of(c);
  }

  /** The codes only the host layers raise (HTTP helpers, loaders), never the library. */
  public static List<String> hostErrorCodes() {
    String[] c = new String[(int) Ffi.N.selo_host_error_code_count()];
    for (int i = 0; i < c.length; i++) {
      c[i] = Ffi.N.selo_host_error_code_at(i);
    }
    return List.of(c);
  }
}
