package dev.selo;

import com.sun.jna.ptr.PointerByReference;

/** Brazilian identifiers. The validate methods throw {@link SeloException} (br.*); isValid ones don't. */
public final class Br {
  private Br() {}

  public static void validateCpf(String s) {
    Ffi.check(Ffi.N.selo_br_validate_cpf(s));
  }

  public static void validateCnpj(String s) {
    Ffi.check(Ffi.N.selo_br_validate_cnpj(s));
  }

  public static boolean isValidCpf(String s) {
    return Ffi.N.selo_br_validate_cpf(s) == 0;
  }

  public static boolean isValidCnpj(String s) {
    return Ffi.N.selo_br_validate_cnpj(s) == 0;
  }

  public static void validateIspb(String s) {
    Ffi.check(Ffi.N.selo_br_validate_ispb(s));
  }

  private static String str(int status, PointerByReference out) {
    Ffi.check(status);
    return Ffi.takeString(out);
  }

  public static String formatCpf(String s) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_format_cpf(s, o), o);
  }

  public static String formatCnpj(String s) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_format_cnpj(s, o), o);
  }

  public static String linhaToBarcode(String linha) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_linha_to_barcode(linha, o), o);
  }

  public static String barcodeToLinha(String barcode) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_barcode_to_linha(barcode, o), o);
  }

  /** A boleto code parsed, as JSON (barcode, linha_digitavel, amount_cents, kind...). */
  public static String parseBoleto(String s) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_parse_boleto(s, o), o);
  }

  /** The normalised value of a Pix key of type tipoChave (0..4). */
  public static String validatePixKey(int tipoChave, String key) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_validate_pix_key(tipoChave, key, o), o);
  }

  /** {@code {"type":…,"value":…}} for a key of any type. */
  public static String detectPixKey(String key) {
    PointerByReference o = new PointerByReference();
    return str(Ffi.N.selo_br_detect_pix_key(key, o), o);
  }
}
