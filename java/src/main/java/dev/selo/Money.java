package dev.selo;

import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.math.BigDecimal;

/** BMP money: exact amounts, JSON numbers with exactly two fraction digits. */
public final class Money {
  private Money() {}

  /** {@code 1345.8} → {@code "1345.80"}; more than two fraction digits, a sign or an exponent throw. */
  public static String toJson(BigDecimal amount) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_money_parse(amount.toPlainString(), out));
    return Ffi.takeString(out);
  }

  /** A decimal text as money JSON ({@code "100"} → {@code "100.00"}). */
  public static String toJson(String decimal) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_money_parse(decimal, out));
    return Ffi.takeString(out);
  }

  /** Integer cents as money JSON ({@code 134583} → {@code "1345.83"}). */
  public static String fromCents(long cents) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_bmp_money_from_cents(cents, out));
    return Ffi.takeString(out);
  }

  /** The amount as a BigDecimal with scale 2, checked by the same rules. */
  public static BigDecimal parse(String decimal) {
    LongByReference out = new LongByReference();
    Ffi.check(Ffi.N.selo_bmp_money_cents(decimal, out));
    return BigDecimal.valueOf(out.getValue(), 2);
  }

  /** Exact decimal equality of JSON number texts ({@code 100.0} equals {@code 100.00}). */
  public static boolean decimalEquals(String a, String b) {
    return Ffi.N.selo_bmp_decimal_eq(a, b) != 0;
  }
}
