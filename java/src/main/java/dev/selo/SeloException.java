package dev.selo;

/**
 * A selo error: a stable dotted code ({@code "safra.envelope.reused_iv"}) and a
 * message saying what was expected and what was found (never key material).
 * The codes are {@link ErrorCodes#ALL} plus the binding's own {@link ErrorCodes#FFI}
 * and the host layers' {@link ErrorCodes#HOST}.
 */
public class SeloException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String code;
  private final int status;

  public SeloException(String code, String message, int status) {
    super(code + ": " + message);
    this.code = code;
    this.status = status;
  }

  /** The stable dotted code. */
  public String getCode() {
    return code;
  }

  /** The C ABI status family ({@code SELO_ERR_SAFRA} = 12, ...); 0 for the host layers' own errors ({@link ErrorCodes#HOST}). */
  public int getStatus() {
    return status;
  }
}
