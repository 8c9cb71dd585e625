package dev.selo;

import com.sun.jna.Pointer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The reply of a finished Safra operation: its kind, typed fields and the whole JSON. */
public final class SafraReply {
  /** The kinds, numbered as {@code SeloSafraReplyKind}. */
  public enum Kind { KEY_AGREED, AUTHENTICATED, RENEWED, BOLETO_REGISTERED, BOLETO_QUERIED, BUSINESS_ERROR }

  private static final String[] FIELDS = {
    "padding", "signature_message", "token", "exp", "iat", "lifetime", "received_at", "renew_at",
    "expires_at", "codigo", "mensagem", "nosso_numero", "seu_numero", "codigo_barras", "registrado_cip",
    "reconciled", "iv_reused"
  };

  private final Kind kind;
  private final String json;
  private final Map<String, String> fields;

  private SafraReply(Kind kind, String json, Map<String, String> fields) {
    this.kind = kind;
    this.json = json;
    this.fields = Collections.unmodifiableMap(fields);
  }

  static SafraReply take(Pointer p) {
    try {
      Map<String, String> f = new LinkedHashMap<>();
      for (String name : FIELDS) {
        // Pointer + length: a bank text may hold NUL bytes (JSON \u0000),
        // and reading it can never fail once the operation is done.
        long len = Ffi.N.selo_safra_reply_field_len(p, name);
        if (len >= 0) {
          byte[] b = len == 0 ? new byte[0] : Ffi.N.selo_safra_reply_field(p, name).getByteArray(0, (int) len);
          f.put(name, new String(b, java.nio.charset.StandardCharsets.UTF_8));
        }
      }
      return new SafraReply(Kind.values()[Ffi.N.selo_safra_reply_kind(p)], Ffi.N.selo_safra_reply_json(p), f);
    } finally {
      Ffi.N.selo_safra_reply_free(p);
    }
  }

  public Kind kind() {
    return kind;
  }

  /** The whole reply as JSON text. */
  public String json() {
    return json;
  }

  /** A field by its C ABI name ("renew_at", "codigo_barras", ...). */
  public Optional<String> field(String name) {
    return Optional.ofNullable(fields.get(name));
  }

  public Map<String, String> fields() {
    return fields;
  }

  public Optional<String> codigoBarras() {
    return field("codigo_barras");
  }

  public Optional<String> nossoNumero() {
    return field("nosso_numero");
  }

  /** statusProcessamento.codigo; empty when the bank sent none (never a made-up 0). */
  public Optional<String> codigo() {
    return field("codigo");
  }

  /**
   * True when psd050's outcome was ambiguous (lost reply, timeout, 5xx) and
   * the session found the boleto with a psd052 query instead of registering
   * it again.
   */
  public boolean reconciled() {
    return field("reconciled").map("true"::equals).orElse(false);
  }

  /** True when the bank reused an IV and the profile let it through (reported, not dropped). */
  public boolean ivReused() {
    return field("iv_reused").map("true"::equals).orElse(false);
  }

  /** Local time (Unix s) when the token should be renewed. */
  public Optional<Long> renewAt() {
    return field("renew_at").map(Long::parseLong);
  }

  public Optional<Long> expiresAt() {
    return field("expires_at").map(Long::parseLong);
  }

  @Override
  public String toString() {
    return "SafraReply(" + kind + ")";
  }
}
