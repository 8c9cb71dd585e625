package dev.selo;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.ByteByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.HashMap;
import java.util.Map;

/**
 * The raw C ABI of libselo (include/selo.h), one method per function. Use the
 * idiomatic classes of this package instead; this interface is public only so
 * advanced users can reach a function the wrapper does not cover.
 *
 * <p>Strings cross as UTF-8 whatever the platform charset (JNA's
 * {@code OPTION_STRING_ENCODING} is forced). {@code size_t} maps to {@code long}
 * (64-bit platforms), C {@code bool} to {@code byte}, handles to {@link Pointer}.
 */
public interface SeloNative extends Library {
  /**
   * The loaded library: the jar carries it under JNA's resource layout
   * ({@code linux-x86-64/libselo.so}); {@code jna.library.path} overrides it.
   * On a platform the jar has no library for, every call throws
   * {@link SeloException} ({@code ffi.no_native_library}) naming the platform.
   */
  SeloNative LIB = load();

  private static SeloNative load() {
    Map<String, Object> options = new HashMap<>();
    options.put(Library.OPTION_STRING_ENCODING, "UTF-8");
    try {
      return Native.load("selo", SeloNative.class, options);
    } catch (UnsatisfiedLinkError e) {
      String platform = com.sun.jna.Platform.RESOURCE_PREFIX;
      String message = "no native selo library for " + platform
          + "; this jar carries linux-x86-64 only: build libselo for your platform and set"
          + " -Djna.library.path to its directory (" + e.getMessage() + ")";
      return (SeloNative) java.lang.reflect.Proxy.newProxyInstance(
          SeloNative.class.getClassLoader(), new Class<?>[] {SeloNative.class},
          (proxy, method, args) -> {
            throw new SeloException("ffi.no_native_library", message, 0);
          });
    }
  }

  /** {@code SeloBuffer}: bytes returned by selo, freed by selo_buffer_free. */
  @Structure.FieldOrder({"data", "len"})
  class SeloBuffer extends Structure {
    public Pointer data;
    public long len;
  }

  /** {@code SeloJwksDecision}: kind 0 use / 1 fetch / 2 wait; ticket 0 = none; until_ms for a wait. */
  @Structure.FieldOrder({"kind", "ticket", "until_ms"})
  class SeloJwksDecision extends Structure {
    public int kind;
    public long ticket;
    public long until_ms;
  }

  /** {@code SeloBmpLookup}. */
  interface BmpLookup extends Callback {
    void invoke(Pointer userData, Pointer idempotencyKey, Pointer original);
  }

  String selo_last_error_code();
  String selo_last_error_message();
  void selo_string_free(Pointer s);
  void selo_buffer_free(SeloBuffer buf);
  long selo_error_code_count();
  String selo_error_code_at(long index);
  int selo_error_codes(PointerByReference out);
  long selo_ffi_error_code_count();
  String selo_ffi_error_code_at(long index);

  long selo_host_error_code_count();

  String selo_host_error_code_at(long index);
  String selo_version();

  int selo_request_new(String method, String url, PointerByReference out);
  int selo_request_add_header(Pointer request, String name, String value);
  int selo_request_set_body(Pointer request, byte[] data, long len);
  String selo_request_method(Pointer request);
  int selo_request_resendable(Pointer request);
  String selo_request_url(Pointer request);
  long selo_request_header_count(Pointer request);
  String selo_request_header_name(Pointer request, long index);
  String selo_request_header_value(Pointer request, long index);
  long selo_request_body_len(Pointer request);
  Pointer selo_request_body(Pointer request);
  void selo_request_free(Pointer request);
  int selo_response_new(short status, PointerByReference out);
  int selo_response_add_header(Pointer response, String name, String value);
  int selo_response_set_body(Pointer response, byte[] data, long len);
  short selo_response_status(Pointer response);
  long selo_response_header_count(Pointer response);
  String selo_response_header_name(Pointer response, long index);
  String selo_response_header_value(Pointer response, long index);
  long selo_response_body_len(Pointer response);
  Pointer selo_response_body(Pointer response);
  void selo_response_free(Pointer response);

  int selo_private_key_import(byte[] data, long len, PointerByReference out);
  int selo_private_key_generate(int bits, PointerByReference out);
  long selo_private_key_bits(Pointer key);
  int selo_private_key_public(Pointer key, PointerByReference out);
  int selo_private_key_to_pkcs8_pem(Pointer key, PointerByReference out);
  void selo_private_key_free(Pointer key);
  int selo_public_key_import(byte[] data, long len, PointerByReference out);
  long selo_public_key_bits(Pointer key);
  int selo_public_key_encode(Pointer key, String format, SeloBuffer out);
  byte selo_public_key_equals(Pointer a, Pointer b);
  int selo_public_key_to_jwk(Pointer key, String kid, PointerByReference out);
  void selo_public_key_free(Pointer key);

  int selo_safra_session_new(String profileJson, String baseUrl, String cliente, PointerByReference out);
  int selo_safra_session_set_client_key(Pointer session, Pointer key);
  int selo_safra_session_set_seed(Pointer session, byte[] seed, long len);
  int selo_safra_session_prepare_next(Pointer session, int op, String payloadJson, long now,
      LongByReference requestIdOut, PointerByReference requestOut);
  int selo_safra_session_handle_response(Pointer session, long requestId, Pointer response, long now,
      IntByReference stepOut, PointerByReference replyOut);
  int selo_safra_session_handle_transport_error(Pointer session, long requestId, int failure, long now,
      IntByReference stepOut, PointerByReference replyOut);
  int selo_safra_session_state(Pointer session);
  int selo_safra_session_id(Pointer session, PointerByReference out);
  int selo_safra_session_export(Pointer session, SeloBuffer out);
  int selo_safra_session_import(byte[] data, long len, PointerByReference out);
  void selo_safra_session_free(Pointer session);
  int selo_safra_reply_kind(Pointer reply);
  String selo_safra_reply_json(Pointer reply);
  Pointer selo_safra_reply_field(Pointer reply, String name);
  long selo_safra_reply_field_len(Pointer reply, String name);
  long selo_safra_reply_json_len(Pointer reply);
  long selo_safra_session_unresolved_count(Pointer session);
  int selo_safra_session_unresolved_at(Pointer session, long index, LongByReference nossoNumeroOut,
      LongByReference sinceOut, PointerByReference seuNumeroOut);
  int selo_safra_session_resolve(Pointer session, long nossoNumero, ByteByReference foundOut);
  int selo_safra_session_begin(Pointer session, int op, String payloadJson, LongByReference opIdOut);
  int selo_safra_session_next(Pointer session, long opId, long now, ByteByReference waitOut,
      LongByReference requestIdOut, PointerByReference requestOut);
  int selo_safra_session_cancel(Pointer session, long opId, ByteByReference endedOut);
  long selo_safra_session_in_flight(Pointer session);
  byte selo_safra_session_transition_in_flight(Pointer session);
  long selo_safra_session_generation(Pointer session);
  int selo_safra_session_set_max_in_flight(Pointer session, long max);
  int selo_safra_session_set_shared(Pointer session, byte shared);
  byte selo_safra_session_wants_lease(Pointer session);
  byte selo_safra_session_is_transition(Pointer session, long requestId);
  int selo_safra_session_export_credentials(Pointer session, SeloBuffer out);
  int selo_safra_session_adopt_credentials(Pointer session, byte[] data, long len);
  int selo_safra_share_new(String name, byte[] sealKey, long sealKeyLen, PointerByReference out);
  int selo_safra_share_set_lease_ttl_ms(Pointer share, long ttlMs);
  long selo_safra_share_lease_ttl_ms(Pointer share);
  int selo_safra_share_record_key(Pointer share, PointerByReference out);
  int selo_safra_share_on_record(Pointer share, Pointer session, byte[] record, long recordLen,
      IntByReference outcomeOut);
  int selo_safra_share_acquire(Pointer share, PointerByReference callOut);
  int selo_safra_share_on_acquire(Pointer share, long reply, ByteByReference heldOut,
      LongByReference retryAfterMsOut);
  int selo_safra_share_grant(Pointer share, Pointer session);
  byte selo_safra_share_ready_to_publish(Pointer share, Pointer session);
  int selo_safra_share_publish(Pointer share, Pointer session, PointerByReference callOut);
  int selo_safra_share_on_publish(Pointer share, Pointer session, long reply, IntByReference resultOut);
  int selo_safra_share_release(Pointer share, Pointer session, PointerByReference callOut);
  int selo_safra_share_on_release(Pointer share, long reply, ByteByReference releasedOut);
  int selo_safra_share_store_error(Pointer share);
  long selo_safra_share_stat(Pointer share, int which);
  long selo_safra_share_adopted_generation(Pointer share);
  byte selo_safra_share_holds_lease(Pointer share);
  void selo_safra_share_free(Pointer share);
  String selo_script_call_name(Pointer call);
  String selo_script_call_script(Pointer call);
  String selo_script_call_sha1(Pointer call);
  long selo_script_call_key_count(Pointer call);
  String selo_script_call_key_at(Pointer call, long index);
  long selo_script_call_arg_count(Pointer call);
  String selo_script_call_arg_at(Pointer call, long index);
  void selo_script_call_free(Pointer call);
  int selo_shared_bmp_pending_key(String idempotencyKey, PointerByReference out);
  int selo_safra_bank_session_key(Pointer bank, String sessionId, SeloBuffer out);
  void selo_safra_reply_free(Pointer reply);
  int selo_safra_bank_new(String profileJson, Pointer bankKey, long tokenLifetime, PointerByReference out);
  int selo_safra_bank_set_seed(Pointer bank, byte[] seed, long len);
  int selo_safra_bank_inject(Pointer bank, int fault);
  int selo_safra_bank_handle(Pointer bank, Pointer request, long now, PointerByReference out);
  int selo_safra_bank_public_key(Pointer bank, PointerByReference out);
  void selo_safra_bank_free(Pointer bank);
  int selo_safra_stage1_jwk(Pointer clientKey, String sessionId, String keyFormat, PointerByReference out);
  int selo_safra_parse_stage1_reply(byte[] body, long len, PointerByReference out);
  int selo_safra_parse_stage2_reply(byte[] body, long len, Pointer clientKey, Pointer bankKey,
      String padding, String signatureMessage, SeloBuffer keyOut, PointerByReference winnersOut);
  int selo_safra_seal_with_iv(byte[] key, long keyLen, byte[] iv, long ivLen, byte[] plaintext,
      long plaintextLen, PointerByReference out);
  int selo_safra_open(byte[] key, long keyLen, String envelope, SeloBuffer out);
  int selo_safra_token_schedule(String token, long t0, String profileJson, PointerByReference out);
  int selo_safra_boleto_validate(String boletoJson);

  int selo_bmp_signer_new(String key, String profileJson, PointerByReference out);
  int selo_bmp_signer_set_seed(Pointer signer, byte[] seed, long len);
  int selo_bmp_signer_sign_json(Pointer signer, String url, byte[] json, long len, PointerByReference out);
  int selo_bmp_signer_sign_bytes(Pointer signer, String url, byte[] body, long len, String idempotencyKey,
      PointerByReference out);
  int selo_bmp_signer_hmac(Pointer signer, byte[] body, long len, PointerByReference out);
  int selo_bmp_signer_verify(Pointer signer, byte[] body, long len, String hmac);
  int selo_bmp_original_set(Pointer original, byte[] data, long len);
  int selo_bmp_confirm(Pointer signer, Pointer request, BmpLookup lookup, Pointer userData,
      PointerByReference responseOut, PointerByReference differenceOut);
  int selo_bmp_confirm_internal_response(PointerByReference out);
  void selo_bmp_signer_free(Pointer signer);
  int selo_bmp_generate_key(PointerByReference out);
  int selo_bmp_canonical(byte[] json, long len, String profileJson, SeloBuffer out);
  int selo_bmp_money_from_cents(long cents, PointerByReference out);
  int selo_bmp_money_parse(String decimal, PointerByReference out);
  int selo_bmp_money_cents(String decimal, LongByReference out);
  byte selo_bmp_decimal_eq(String a, String b);

  int selo_br_validate_cpf(String s);
  int selo_br_validate_cnpj(String s);
  int selo_br_format_cpf(String s, PointerByReference out);
  int selo_br_format_cnpj(String s, PointerByReference out);
  int selo_br_parse_boleto(String s, PointerByReference out);
  int selo_br_linha_to_barcode(String linha, PointerByReference out);
  int selo_br_barcode_to_linha(String barcode, PointerByReference out);
  int selo_br_validate_ispb(String s);
  int selo_br_validate_pix_key(long tipoChave, String key, PointerByReference out);
  int selo_br_detect_pix_key(String key, PointerByReference out);

  int selo_jwks_parse(String json, PointerByReference out);
  int selo_jwks_to_public_json(Pointer jwks, PointerByReference out);
  void selo_jwks_free(Pointer jwks);
  int selo_ofb_signer_new(Pointer key, String kid, String iss, String profileJson, PointerByReference out);
  int selo_ofb_signer_set_seed(Pointer signer, byte[] seed, long len);
  int selo_ofb_signer_sign(Pointer signer, String payloadJson, String aud, long exp, long now,
      PointerByReference out);
  void selo_ofb_signer_free(Pointer signer);
  int selo_ofb_verify(String token, Pointer jwks, String aud, String iss, String profileJson, long now,
      PointerByReference out);
  int selo_jti_cache_new(long capacity, byte evictOldest, PointerByReference out);
  int selo_jti_cache_check(Pointer cache, String clientId, String jti, long now);
  long selo_jti_cache_len(Pointer cache);
  void selo_jti_cache_free(Pointer cache);
  int selo_ofb_server_verify(Pointer request, Pointer jwks, String aud, String iss, String clientId,
      String profileJson, Pointer cache, long now, PointerByReference verifiedJsonOut,
      PointerByReference rejectionOut, PointerByReference errorCodeOut);
  int selo_ofb_request_check(Pointer request, Pointer jwks, String aud, String iss, String clientId,
      String profileJson, long now, PointerByReference pendingOut, PointerByReference rejectionOut,
      PointerByReference errorCodeOut);
  int selo_ofb_pending_store_key(Pointer pending, String prefix, PointerByReference out);
  long selo_ofb_pending_ttl_seconds(Pointer pending, long now);
  String selo_ofb_pending_client_id(Pointer pending);
  String selo_ofb_pending_jti(Pointer pending);
  int selo_ofb_request_finish(Pointer pending, String answer, PointerByReference verifiedJsonOut,
      PointerByReference rejectionOut, PointerByReference errorCodeOut);
  void selo_ofb_pending_free(Pointer pending);
  int selo_ofb_error_response(String code, String message, PointerByReference out);
  int selo_http_body_too_large_response(long limit, PointerByReference out);

  int selo_jwks_cache_new(String url, String policyJson, PointerByReference out);
  int selo_jwks_cache_decide(Pointer cache, long nowMs, String token, SeloJwksDecision out);
  int selo_jwks_cache_fetched(Pointer cache, long ticket, long nowMs, short status, byte[] body, long len);
  int selo_jwks_cache_failed(Pointer cache, long ticket, long nowMs, int failure, String detail);
  int selo_jwks_cache_jwks(Pointer cache, PointerByReference out);
  String selo_jwks_cache_url(Pointer cache);
  long selo_jwks_cache_timeout_ms(Pointer cache);
  long selo_jwks_cache_max_bytes(Pointer cache);
  int selo_jwks_cache_stats(Pointer cache, LongByReference fetches, LongByReference failures,
      LongByReference refused, LongByReference skipped);
  int selo_jwks_cache_skipped_at(Pointer cache, long index, PointerByReference out);
  void selo_jwks_cache_free(Pointer cache);
}
