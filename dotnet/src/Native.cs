namespace Selo
{
    using System;
    using System.Runtime.InteropServices;
    using System.Text;

    /// <summary>
    /// The raw C ABI (include/selo.h). Strings cross as NUL-terminated UTF-8
    /// byte arrays built by <see cref="Utf8.Z"/> (no reliance on the runtime's
    /// string marshalling, so mono and every .NET behave the same); returned
    /// strings are read with <see cref="Utf8.Read(IntPtr)"/>. size_t is UIntPtr,
    /// C bool is a 1-byte bool. Owned handles cross as their SafeHandle
    /// types (Handles.cs): the marshaller keeps each alive for the call, and
    /// creates them for out parameters. Only the *_free functions (called by
    /// those SafeHandles) and short-lived request/response/reply handles, used
    /// and freed by one thread, take IntPtr.
    /// </summary>
    internal static class Native
    {
        private const string Lib = "selo";

        [StructLayout(LayoutKind.Sequential)]
        internal struct SeloBuffer
        {
            public IntPtr Data;
            public UIntPtr Len;
        }

        /// <summary>SeloJwksDecision: kind 0 use / 1 fetch / 2 wait; ticket 0 = none; until_ms for wait.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SeloJwksDecision
        {
            public uint Kind;
            public ulong Ticket;
            public long UntilMs;
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void BmpLookup(IntPtr userData, IntPtr idempotencyKey, IntPtr original);

        [DllImport(Lib)] internal static extern IntPtr selo_last_error_code();
        [DllImport(Lib)] internal static extern IntPtr selo_last_error_message();
        [DllImport(Lib)] internal static extern void selo_string_free(IntPtr s);
        [DllImport(Lib)] internal static extern void selo_buffer_free(ref SeloBuffer buf);
        [DllImport(Lib)] internal static extern int selo_error_codes(out IntPtr o);
        [DllImport(Lib)] internal static extern UIntPtr selo_ffi_error_code_count();
        [DllImport(Lib)] internal static extern IntPtr selo_ffi_error_code_at(UIntPtr i);
        [DllImport(Lib)] internal static extern UIntPtr selo_host_error_code_count();
        [DllImport(Lib)] internal static extern IntPtr selo_host_error_code_at(UIntPtr i);
        [DllImport(Lib)] internal static extern IntPtr selo_version();

        [DllImport(Lib)] internal static extern int selo_request_new(byte[] method, byte[] url, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_request_add_header(IntPtr r, byte[] name, byte[] value);
        [DllImport(Lib)] internal static extern int selo_request_set_body(IntPtr r, byte[] data, UIntPtr len);
        [DllImport(Lib)] internal static extern IntPtr selo_request_method(IntPtr r);
        [DllImport(Lib)] internal static extern uint selo_request_resendable(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_request_url(IntPtr r);
        [DllImport(Lib)] internal static extern UIntPtr selo_request_header_count(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_request_header_name(IntPtr r, UIntPtr i);
        [DllImport(Lib)] internal static extern IntPtr selo_request_header_value(IntPtr r, UIntPtr i);
        [DllImport(Lib)] internal static extern UIntPtr selo_request_body_len(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_request_body(IntPtr r);
        [DllImport(Lib)] internal static extern void selo_request_free(IntPtr r);
        [DllImport(Lib)] internal static extern int selo_response_new(ushort status, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_response_add_header(IntPtr r, byte[] name, byte[] value);
        [DllImport(Lib)] internal static extern int selo_response_set_body(IntPtr r, byte[] data, UIntPtr len);
        [DllImport(Lib)] internal static extern ushort selo_response_status(IntPtr r);
        [DllImport(Lib)] internal static extern UIntPtr selo_response_header_count(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_response_header_name(IntPtr r, UIntPtr i);
        [DllImport(Lib)] internal static extern IntPtr selo_response_header_value(IntPtr r, UIntPtr i);
        [DllImport(Lib)] internal static extern UIntPtr selo_response_body_len(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_response_body(IntPtr r);
        [DllImport(Lib)] internal static extern void selo_response_free(IntPtr r);

        [DllImport(Lib)] internal static extern int selo_private_key_import(byte[] data, UIntPtr len, out PrivateKeyHandle o);
        [DllImport(Lib)] internal static extern int selo_private_key_generate(uint bits, out PrivateKeyHandle o);
        [DllImport(Lib)] internal static extern UIntPtr selo_private_key_bits(PrivateKeyHandle k);
        [DllImport(Lib)] internal static extern int selo_private_key_public(PrivateKeyHandle k, out PublicKeyHandle o);
        [DllImport(Lib)] internal static extern void selo_private_key_free(IntPtr k);
        [DllImport(Lib)] internal static extern int selo_public_key_import(byte[] data, UIntPtr len, out PublicKeyHandle o);
        [DllImport(Lib)] internal static extern int selo_public_key_encode(PublicKeyHandle k, byte[] format, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern int selo_public_key_to_jwk(PublicKeyHandle k, byte[] kid, out IntPtr o);
        [DllImport(Lib)] internal static extern void selo_public_key_free(IntPtr k);

        [DllImport(Lib)] internal static extern int selo_safra_session_new(byte[] profile, byte[] baseUrl, byte[] cliente, out SafraSessionHandle o);
        [DllImport(Lib)] internal static extern int selo_safra_session_set_client_key(SafraSessionHandle s, PrivateKeyHandle key);
        [DllImport(Lib)] internal static extern int selo_safra_session_set_seed(SafraSessionHandle s, byte[] seed, UIntPtr len);
        [DllImport(Lib)] internal static extern int selo_safra_session_prepare_next(SafraSessionHandle s, uint op, byte[] payload, long now, out ulong id, out IntPtr req);
        [DllImport(Lib)] internal static extern int selo_safra_session_handle_response(SafraSessionHandle s, ulong id, IntPtr resp, long now, out uint step, out IntPtr reply);
        [DllImport(Lib)] internal static extern int selo_safra_session_handle_transport_error(SafraSessionHandle s, ulong id, uint failure, long now, out uint step, out IntPtr reply);
        [DllImport(Lib)] internal static extern uint selo_safra_session_state(SafraSessionHandle s);
        [DllImport(Lib)] internal static extern int selo_safra_session_id(SafraSessionHandle s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_session_export(SafraSessionHandle s, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern int selo_safra_session_import(byte[] data, UIntPtr len, out SafraSessionHandle o);
        [DllImport(Lib)] internal static extern void selo_safra_session_free(IntPtr s);
        [DllImport(Lib)] internal static extern uint selo_safra_reply_kind(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_safra_reply_json(IntPtr r);
        [DllImport(Lib)] internal static extern IntPtr selo_safra_reply_field(IntPtr r, byte[] name);
        [DllImport(Lib)] internal static extern UIntPtr selo_safra_reply_field_len(IntPtr r, byte[] name);
        [DllImport(Lib)] internal static extern int selo_safra_bank_session_key(SafraBankHandle b, byte[] sid, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern void selo_safra_reply_free(IntPtr r);
        [DllImport(Lib)] internal static extern UIntPtr selo_safra_session_unresolved_count(SafraSessionHandle s);
        [DllImport(Lib)] internal static extern int selo_safra_session_unresolved_at(SafraSessionHandle s, UIntPtr index, out ulong nossoNumero, out long since, out IntPtr seuNumero);
        [DllImport(Lib)] internal static extern int selo_safra_session_resolve(SafraSessionHandle s, ulong nossoNumero, [MarshalAs(UnmanagedType.I1)] out bool found);
        [DllImport(Lib)] internal static extern int selo_safra_session_begin(SafraSessionHandle s, uint op, byte[] payload, out ulong opId);
        [DllImport(Lib)] internal static extern int selo_safra_session_next(SafraSessionHandle s, ulong opId, long now, [MarshalAs(UnmanagedType.I1)] out bool wait, out ulong id, out IntPtr req);
        [DllImport(Lib)] internal static extern int selo_safra_session_cancel(SafraSessionHandle s, ulong opId, [MarshalAs(UnmanagedType.I1)] out bool ended);
        [DllImport(Lib)] internal static extern UIntPtr selo_safra_session_in_flight(SafraSessionHandle s);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_safra_session_transition_in_flight(SafraSessionHandle s);
        [DllImport(Lib)] internal static extern ulong selo_safra_session_generation(SafraSessionHandle s);
        [DllImport(Lib)] internal static extern int selo_safra_session_set_max_in_flight(SafraSessionHandle s, UIntPtr max);
        [DllImport(Lib)] internal static extern int selo_safra_session_set_shared(SafraSessionHandle s, [MarshalAs(UnmanagedType.I1)] bool shared);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_safra_session_wants_lease(SafraSessionHandle s);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_safra_session_is_transition(SafraSessionHandle s, ulong requestId);
        [DllImport(Lib)] internal static extern int selo_safra_session_export_credentials(SafraSessionHandle s, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern int selo_safra_session_adopt_credentials(SafraSessionHandle s, byte[] data, UIntPtr len);
        [DllImport(Lib)] internal static extern int selo_safra_share_new(byte[] name, byte[] sealKey, UIntPtr sealKeyLen, out SafraShareHandle o);
        [DllImport(Lib)] internal static extern int selo_safra_share_set_lease_ttl_ms(SafraShareHandle s, ulong ttlMs);
        [DllImport(Lib)] internal static extern ulong selo_safra_share_lease_ttl_ms(SafraShareHandle s);
        [DllImport(Lib)] internal static extern int selo_safra_share_record_key(SafraShareHandle s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_share_on_record(SafraShareHandle s, SafraSessionHandle session, byte[] record, UIntPtr len, out uint outcome);
        [DllImport(Lib)] internal static extern int selo_safra_share_acquire(SafraShareHandle s, out IntPtr call);
        [DllImport(Lib)] internal static extern int selo_safra_share_on_acquire(SafraShareHandle s, long reply, [MarshalAs(UnmanagedType.I1)] out bool held, out ulong retryAfterMs);
        [DllImport(Lib)] internal static extern int selo_safra_share_grant(SafraShareHandle s, SafraSessionHandle session);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_safra_share_ready_to_publish(SafraShareHandle s, SafraSessionHandle session);
        [DllImport(Lib)] internal static extern int selo_safra_share_publish(SafraShareHandle s, SafraSessionHandle session, out IntPtr call);
        [DllImport(Lib)] internal static extern int selo_safra_share_on_publish(SafraShareHandle s, SafraSessionHandle session, long reply, out uint result);
        [DllImport(Lib)] internal static extern int selo_safra_share_release(SafraShareHandle s, SafraSessionHandle session, out IntPtr call);
        [DllImport(Lib)] internal static extern int selo_safra_share_on_release(SafraShareHandle s, long reply, [MarshalAs(UnmanagedType.I1)] out bool released);
        [DllImport(Lib)] internal static extern int selo_safra_share_store_error(SafraShareHandle s);
        [DllImport(Lib)] internal static extern ulong selo_safra_share_stat(SafraShareHandle s, uint which);
        [DllImport(Lib)] internal static extern ulong selo_safra_share_adopted_generation(SafraShareHandle s);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_safra_share_holds_lease(SafraShareHandle s);
        [DllImport(Lib)] internal static extern void selo_safra_share_free(IntPtr s);
        [DllImport(Lib)] internal static extern IntPtr selo_script_call_name(IntPtr c);
        [DllImport(Lib)] internal static extern IntPtr selo_script_call_script(IntPtr c);
        [DllImport(Lib)] internal static extern IntPtr selo_script_call_sha1(IntPtr c);
        [DllImport(Lib)] internal static extern UIntPtr selo_script_call_key_count(IntPtr c);
        [DllImport(Lib)] internal static extern IntPtr selo_script_call_key_at(IntPtr c, UIntPtr i);
        [DllImport(Lib)] internal static extern UIntPtr selo_script_call_arg_count(IntPtr c);
        [DllImport(Lib)] internal static extern IntPtr selo_script_call_arg_at(IntPtr c, UIntPtr i);
        [DllImport(Lib)] internal static extern void selo_script_call_free(IntPtr c);
        [DllImport(Lib)] internal static extern int selo_shared_bmp_pending_key(byte[] idempotencyKey, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_bank_new(byte[] profile, PrivateKeyHandle key, long lifetime, out SafraBankHandle o);
        [DllImport(Lib)] internal static extern int selo_safra_bank_inject(SafraBankHandle b, uint fault);
        [DllImport(Lib)] internal static extern int selo_safra_bank_handle(SafraBankHandle b, IntPtr req, long now, out IntPtr o);
        [DllImport(Lib)] internal static extern void selo_safra_bank_free(IntPtr b);
        [DllImport(Lib)] internal static extern int selo_safra_stage1_jwk(PrivateKeyHandle key, byte[] sid, byte[] format, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_parse_stage1_reply(byte[] body, UIntPtr len, out PublicKeyHandle o);
        [DllImport(Lib)] internal static extern int selo_safra_parse_stage2_reply(byte[] body, UIntPtr len, PrivateKeyHandle client, PublicKeyHandle bank, byte[] padding, byte[] message, ref SeloBuffer key, out IntPtr winners);
        [DllImport(Lib)] internal static extern int selo_safra_seal_with_iv(byte[] key, UIntPtr kl, byte[] iv, UIntPtr il, byte[] pt, UIntPtr pl, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_open(byte[] key, UIntPtr kl, byte[] envelope, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern int selo_safra_token_schedule(byte[] token, long t0, byte[] profile, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_safra_boleto_validate(byte[] json);

        [DllImport(Lib)] internal static extern int selo_bmp_signer_new(byte[] key, byte[] profile, out BmpSignerHandle o);
        [DllImport(Lib)] internal static extern int selo_bmp_signer_sign_json(BmpSignerHandle s, byte[] url, byte[] json, UIntPtr len, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_signer_sign_bytes(BmpSignerHandle s, byte[] url, byte[] body, UIntPtr len, byte[] ikey, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_signer_hmac(BmpSignerHandle s, byte[] body, UIntPtr len, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_signer_verify(BmpSignerHandle s, byte[] body, UIntPtr len, byte[] hmac);
        [DllImport(Lib)] internal static extern int selo_bmp_original_set(IntPtr original, byte[] data, UIntPtr len);
        [DllImport(Lib)] internal static extern int selo_bmp_confirm(BmpSignerHandle s, IntPtr req, BmpLookup lookup, IntPtr user, out IntPtr resp, out IntPtr diff);
        [DllImport(Lib)] internal static extern int selo_bmp_confirm_internal_response(out IntPtr o);
        [DllImport(Lib)] internal static extern void selo_bmp_signer_free(IntPtr s);
        [DllImport(Lib)] internal static extern int selo_bmp_generate_key(out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_canonical(byte[] json, UIntPtr len, byte[] profile, ref SeloBuffer o);
        [DllImport(Lib)] internal static extern int selo_bmp_money_from_cents(long cents, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_money_parse(byte[] dec, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_bmp_money_cents(byte[] dec, out long o);
        [DllImport(Lib)] [return: MarshalAs(UnmanagedType.I1)] internal static extern bool selo_bmp_decimal_eq(byte[] a, byte[] b);

        [DllImport(Lib)] internal static extern int selo_br_validate_cpf(byte[] s);
        [DllImport(Lib)] internal static extern int selo_br_validate_cnpj(byte[] s);
        [DllImport(Lib)] internal static extern int selo_br_format_cnpj(byte[] s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_br_parse_boleto(byte[] s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_br_linha_to_barcode(byte[] s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_br_barcode_to_linha(byte[] s, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_br_detect_pix_key(byte[] s, out IntPtr o);

        [DllImport(Lib)] internal static extern int selo_jwks_parse(byte[] json, out JwksHandle o);
        [DllImport(Lib)] internal static extern void selo_jwks_free(IntPtr j);
        [DllImport(Lib)] internal static extern int selo_ofb_signer_new(PrivateKeyHandle key, byte[] kid, byte[] iss, byte[] profile, out OfbSignerHandle o);
        [DllImport(Lib)] internal static extern int selo_ofb_signer_set_seed(OfbSignerHandle s, byte[] seed, UIntPtr len);
        [DllImport(Lib)] internal static extern int selo_ofb_signer_sign(OfbSignerHandle s, byte[] payload, byte[] aud, long exp, long now, out IntPtr o);
        [DllImport(Lib)] internal static extern void selo_ofb_signer_free(IntPtr s);
        [DllImport(Lib)] internal static extern int selo_ofb_verify(byte[] token, JwksHandle jwks, byte[] aud, byte[] iss, byte[] profile, long now, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_jti_cache_new(UIntPtr capacity, [MarshalAs(UnmanagedType.I1)] bool evictOldest, out JtiCacheHandle o);
        [DllImport(Lib)] internal static extern int selo_jti_cache_check(JtiCacheHandle c, byte[] client, byte[] jti, long now);
        [DllImport(Lib)] internal static extern void selo_jti_cache_free(IntPtr c);
        [DllImport(Lib)] internal static extern int selo_ofb_server_verify(IntPtr request, JwksHandle jwks, byte[] aud, byte[] iss, byte[] clientId,
            byte[] profileJson, JtiCacheHandle cache, long now, out IntPtr verifiedJson, out IntPtr rejection, out IntPtr errorCode);
        [DllImport(Lib)] internal static extern int selo_ofb_request_check(IntPtr request, JwksHandle jwks, byte[] aud, byte[] iss, byte[] clientId,
            byte[] profileJson, long now, out OfbPendingHandle pending, out IntPtr rejection, out IntPtr errorCode);
        [DllImport(Lib)] internal static extern int selo_ofb_pending_store_key(OfbPendingHandle p, byte[] prefix, out IntPtr o);
        [DllImport(Lib)] internal static extern ulong selo_ofb_pending_ttl_seconds(OfbPendingHandle p, long now);
        [DllImport(Lib)] internal static extern IntPtr selo_ofb_pending_client_id(OfbPendingHandle p);
        [DllImport(Lib)] internal static extern IntPtr selo_ofb_pending_jti(OfbPendingHandle p);
        [DllImport(Lib)] internal static extern int selo_ofb_request_finish(OfbPendingHandle p, byte[] answer, out IntPtr verifiedJson, out IntPtr rejection, out IntPtr errorCode);
        [DllImport(Lib)] internal static extern void selo_ofb_pending_free(IntPtr p);
        [DllImport(Lib)] internal static extern int selo_ofb_error_response(byte[] code, byte[] message, out IntPtr o);
        [DllImport(Lib)] internal static extern int selo_http_body_too_large_response(ulong limit, out IntPtr o);

        [DllImport(Lib)] internal static extern int selo_jwks_cache_new(byte[] url, byte[] policyJson, out JwksCacheHandle o);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_decide(JwksCacheHandle c, long nowMs, byte[] token, out SeloJwksDecision o);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_fetched(JwksCacheHandle c, ulong ticket, long nowMs, ushort status, byte[] body, UIntPtr len);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_failed(JwksCacheHandle c, ulong ticket, long nowMs, uint failure, byte[] detail);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_jwks(JwksCacheHandle c, out JwksHandle o);
        [DllImport(Lib)] internal static extern IntPtr selo_jwks_cache_url(JwksCacheHandle c);
        [DllImport(Lib)] internal static extern ulong selo_jwks_cache_timeout_ms(JwksCacheHandle c);
        [DllImport(Lib)] internal static extern UIntPtr selo_jwks_cache_max_bytes(JwksCacheHandle c);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_stats(JwksCacheHandle c, out ulong fetches, out ulong failures, out ulong refused, out ulong skipped);
        [DllImport(Lib)] internal static extern int selo_jwks_cache_skipped_at(JwksCacheHandle c, UIntPtr index, out IntPtr o);
        [DllImport(Lib)] internal static extern void selo_jwks_cache_free(IntPtr c);
    }

    internal static class Utf8
    {
        /// <summary>NUL-terminated UTF-8 bytes; null stays null (NULL).</summary>
        internal static byte[] Z(string s)
        {
            if (s == null)
            {
                return null;
            }

            var b = Encoding.UTF8.GetBytes(s);
            var z = new byte[b.Length + 1];
            Buffer.BlockCopy(b, 0, z, 0, b.Length);
            return z;
        }

        /// <summary>Reads <paramref name="len"/> UTF-8 bytes at <paramref name="p"/> (any byte, NUL included).</summary>
        internal static string Read(IntPtr p, int len)
        {
            var b = new byte[len];
            if (len > 0)
            {
                Marshal.Copy(p, b, 0, len);
            }

            return Encoding.UTF8.GetString(b);
        }

        /// <summary>Reads a NUL-terminated UTF-8 string (IntPtr.Zero → null).</summary>
        internal static string Read(IntPtr p)
        {
            if (p == IntPtr.Zero)
            {
                return null;
            }

            int n = 0;
            while (Marshal.ReadByte(p, n) != 0)
            {
                n++;
            }

            var b = new byte[n];
            Marshal.Copy(p, b, 0, n);
            return Encoding.UTF8.GetString(b);
        }

        internal static byte[] Bytes(IntPtr p, UIntPtr len)
        {
            int n = checked((int)len.ToUInt64());
            var b = new byte[n];
            if (n > 0 && p != IntPtr.Zero)
            {
                Marshal.Copy(p, b, 0, n);
            }

            return b;
        }
    }
}
