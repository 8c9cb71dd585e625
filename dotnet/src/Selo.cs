namespace Selo
{
    using System;
    using System.Collections.Generic;
    using System.Globalization;
    using System.Linq;
    using System.Net.Http;
    using System.Runtime.InteropServices;
    using System.Threading.Tasks;

    /// <summary>A selo error: the stable dotted <see cref="Code"/> and a message (no key material).</summary>
    public class SeloException : Exception
    {
        public SeloException(string code, string message, int status)
            : base(code + ": " + message)
        {
            Code = code;
            Detail = message;
            Status = status;
        }

        /// <summary>The message without the code in front.</summary>
        public string Detail { get; }

        /// <summary>The stable dotted code, e.g. "safra.envelope.reused_iv".</summary>
        public string Code { get; }

        /// <summary>The C ABI status family (SELO_ERR_SAFRA = 12, ...).</summary>
        public int Status { get; }
    }

    internal static class Ffi
    {
        internal static void Check(int status)
        {
            if (status != 0)
            {
                throw Error(status);
            }
        }

        /// <summary>The error of a failed call (status ≠ 0), read from this thread's last error.</summary>
        internal static SeloException Error(int status)
        {
            string code = Utf8.Read(Native.selo_last_error_code()) ?? "ffi.unknown";
            string message = Utf8.Read(Native.selo_last_error_message()) ?? string.Empty;
            return new SeloException(code, message, status);
        }

        internal static string TakeString(IntPtr p)
        {
            try
            {
                return Utf8.Read(p);
            }
            finally
            {
                Native.selo_string_free(p);
            }
        }

        internal static byte[] TakeBuffer(ref Native.SeloBuffer b)
        {
            try
            {
                return Utf8.Bytes(b.Data, b.Len);
            }
            finally
            {
                Native.selo_buffer_free(ref b);
            }
        }

        internal static UIntPtr Len(byte[] b) => new UIntPtr((ulong)(b == null ? 0 : b.Length));

        internal static HttpRequest TakeRequest(IntPtr r)
        {
            try
            {
                var headers = new List<KeyValuePair<string, string>>();
                ulong n = Native.selo_request_header_count(r).ToUInt64();
                for (ulong i = 0; i < n; i++)
                {
                    var ix = new UIntPtr(i);
                    headers.Add(new KeyValuePair<string, string>(
                        Utf8.Read(Native.selo_request_header_name(r, ix)), Utf8.Read(Native.selo_request_header_value(r, ix))));
                }

                var body = Utf8.Bytes(Native.selo_request_body(r), Native.selo_request_body_len(r));
                return new HttpRequest(Utf8.Read(Native.selo_request_method(r)), Utf8.Read(Native.selo_request_url(r)), headers, body,
                    Native.selo_request_resendable(r) != 0);
            }
            finally
            {
                Native.selo_request_free(r);
            }
        }

        internal static HttpResponse TakeResponse(IntPtr r)
        {
            try
            {
                var headers = new List<KeyValuePair<string, string>>();
                ulong n = Native.selo_response_header_count(r).ToUInt64();
                for (ulong i = 0; i < n; i++)
                {
                    var ix = new UIntPtr(i);
                    headers.Add(new KeyValuePair<string, string>(
                        Utf8.Read(Native.selo_response_header_name(r, ix)), Utf8.Read(Native.selo_response_header_value(r, ix))));
                }

                var body = Utf8.Bytes(Native.selo_response_body(r), Native.selo_response_body_len(r));
                return new HttpResponse(Native.selo_response_status(r), headers, body);
            }
            finally
            {
                Native.selo_response_free(r);
            }
        }

        internal static IntPtr NativeRequest(HttpRequest r)
        {
            IntPtr p;
            Check(Native.selo_request_new(Utf8.Z(r.Method), Utf8.Z(r.Url), out p));
            try
            {
                foreach (var h in r.Headers)
                {
                    Check(Native.selo_request_add_header(p, Utf8.Z(h.Key), Utf8.Z(h.Value)));
                }

                Check(Native.selo_request_set_body(p, r.Body, Len(r.Body)));
                return p;
            }
            catch
            {
                Native.selo_request_free(p);
                throw;
            }
        }

        internal static IntPtr NativeResponse(HttpResponse r)
        {
            IntPtr p;
            Check(Native.selo_response_new((ushort)r.Status, out p));
            try
            {
                foreach (var h in r.Headers)
                {
                    Check(Native.selo_response_add_header(p, Utf8.Z(h.Key), Utf8.Z(h.Value)));
                }

                Check(Native.selo_response_set_body(p, r.Body, Len(r.Body)));
                return p;
            }
            catch
            {
                Native.selo_response_free(p);
                throw;
            }
        }
    }

    /// <summary>A request selo asks you to send (or that you received). Send Body exactly.</summary>
    public sealed class HttpRequest
    {
        public HttpRequest(string method, string url, IList<KeyValuePair<string, string>> headers, byte[] body)
            : this(method, url, headers, body, true)
        {
        }

        public HttpRequest(string method, string url, IList<KeyValuePair<string, string>> headers, byte[] body, bool resendable)
        {
            Method = method;
            Url = url;
            Headers = headers.ToList().AsReadOnly();
            Body = body ?? new byte[0];
            Resendable = resendable;
        }

        /// <summary>
        /// False when this request must never be sent again blindly after an ambiguous outcome
        /// (Safra psd050): report the failure with SafraSession.HandleTransportError instead.
        /// </summary>
        public bool Resendable { get; }

        public string Method { get; }
        public string Url { get; }
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
        public byte[] Body { get; }

        /// <summary>The first header with this name (case-insensitive), or null.</summary>
        public string Header(string name) =>
            Headers.Where(h => string.Equals(h.Key.Trim(), name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    }

    /// <summary>A response you received (or must send).</summary>
    public sealed class HttpResponse
    {
        public HttpResponse(int status, IList<KeyValuePair<string, string>> headers, byte[] body)
        {
            Status = status;
            Headers = headers.ToList().AsReadOnly();
            Body = body ?? new byte[0];
        }

        public int Status { get; }
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
        public byte[] Body { get; }

        public string Header(string name) =>
            Headers.Where(h => string.Equals(h.Key.Trim(), name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();
    }

    public sealed class PrivateKey : Handle
    {
        internal readonly PrivateKeyHandle Safe;

        internal PrivateKey(PrivateKeyHandle h) : base(h)
        {
            Safe = h;
        }

        /// <summary>Imports PEM or DER (PKCS#8, PKCS#1).</summary>
        public static PrivateKey Import(byte[] data)
        {
            PrivateKeyHandle o;
            Ffi.Check(Native.selo_private_key_import(data, Ffi.Len(data), out o));
            return new PrivateKey(o);
        }

        public static PrivateKey FromPem(string pem) => Import(System.Text.Encoding.UTF8.GetBytes(pem));

        public static PrivateKey Generate(int bits)
        {
            PrivateKeyHandle o;
            Ffi.Check(Native.selo_private_key_generate((uint)bits, out o));
            return new PrivateKey(o);
        }

        public int Bits => Call(() => (int)Native.selo_private_key_bits(Safe).ToUInt64(), this);

        public PublicKey PublicKey() => Call(() =>
        {
            PublicKeyHandle o;
            Ffi.Check(Native.selo_private_key_public(Safe, out o));
            return new PublicKey(o);
        }, this);
    }

    public sealed class PublicKey : Handle
    {
        internal readonly PublicKeyHandle Safe;

        internal PublicKey(PublicKeyHandle h) : base(h)
        {
            Safe = h;
        }

        public static PublicKey Import(byte[] data)
        {
            PublicKeyHandle o;
            Ffi.Check(Native.selo_public_key_import(data, Ffi.Len(data), out o));
            return new PublicKey(o);
        }

        /// <summary>"der-spki", "pem-spki" or "der-pkcs1".</summary>
        public byte[] Encode(string format) => Call(() =>
        {
            var b = default(Native.SeloBuffer);
            Ffi.Check(Native.selo_public_key_encode(Safe, Utf8.Z(format), ref b));
            return Ffi.TakeBuffer(ref b);
        }, this);

        /// <summary>Public JWK (PS256, sig); empty kid = RFC 7638 thumbprint.</summary>
        public string ToJwk(string kid) => Call(() =>
        {
            IntPtr o;
            Ffi.Check(Native.selo_public_key_to_jwk(Safe, Utf8.Z(kid), out o));
            return Ffi.TakeString(o);
        }, this);
    }

    public enum SafraOp { Handshake = 0, Authenticate = 1, Renew = 2, RegisterBoleto = 3, QueryBoleto = 4 }

    public enum SafraStep { Continue = 0, Rehandshake = 1, Reauthenticate = 2, Renew = 3, Retry = 4, Done = 5, Reconcile = 6 }

    /// <summary>
    /// How sending a request failed before any response arrived (SeloTransportFailure):
    /// Connect = never written (refused, DNS, TLS handshake); Timeout = no reply before the
    /// deadline; Reset = closed or reset after it was (maybe) sent; Other = anything else after it
    /// may have been sent.
    /// </summary>
    public enum SafraTransportFailure { Connect = 0, Timeout = 1, Reset = 2, Other = 3 }

    /// <summary>A transport failure whose kind the transport knows.</summary>
    public class SafraTransportException : Exception
    {
        public SafraTransportException(SafraTransportFailure failure, string message, Exception inner)
            : base(message, inner)
        {
            Failure = failure;
        }

        public SafraTransportFailure Failure { get; }
    }

    public enum SafraState { New = 0, KeysSent = 1, KeyAgreed = 2, Authenticated = 3 }

    public enum SafraReplyKind { KeyAgreed = 0, Authenticated = 1, Renewed = 2, BoletoRegistered = 3, BoletoQueried = 4, BusinessError = 5 }

    public enum SafraFault { ExpireKey = 0, Answer480 = 1, Answer550 = 2 }

    /// <summary>The reply of a finished Safra operation.</summary>
    public sealed class SafraReply
    {
        private static readonly string[] Names =
        {
            "padding", "signature_message", "token", "exp", "iat", "lifetime", "received_at", "renew_at",
            "expires_at", "codigo", "mensagem", "nosso_numero", "seu_numero", "codigo_barras", "registrado_cip",
            "reconciled", "iv_reused",
        };

        private SafraReply(SafraReplyKind kind, string json, IDictionary<string, string> fields)
        {
            Kind = kind;
            Json = json;
            Fields = new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(fields);
        }

        public SafraReplyKind Kind { get; }
        public string Json { get; }
        public IReadOnlyDictionary<string, string> Fields { get; }

        public string Field(string name)
        {
            string v;
            return Fields.TryGetValue(name, out v) ? v : null;
        }

        public string CodigoBarras => Field("codigo_barras");
        public string NossoNumero => Field("nosso_numero");

        /// <summary>statusProcessamento.codigo; null when the bank sent none (never a made-up 0).</summary>
        public string Codigo => Field("codigo");

        /// <summary>True when psd050's outcome was ambiguous and a psd052 query found the boleto (not registered twice).</summary>
        public bool Reconciled => Field("reconciled") == "true";

        /// <summary>True when the bank reused an IV and the profile let it through.</summary>
        public bool IvReused => Field("iv_reused") == "true";
        public long? RenewAt => Field("renew_at") == null ? (long?)null : long.Parse(Field("renew_at"), CultureInfo.InvariantCulture);

        internal static SafraReply Take(IntPtr p)
        {
            try
            {
                var f = new Dictionary<string, string>();
                foreach (var n in Names)
                {
                    // Pointer + length: a bank text may hold NUL bytes (JSON \u0000),
                    // and reading it can never fail once the operation is done.
                    var name = Utf8.Z(n);
                    var len = Native.selo_safra_reply_field_len(p, name).ToUInt64();
                    if (len != ulong.MaxValue)
                    {
                        f[n] = Utf8.Read(Native.selo_safra_reply_field(p, name), checked((int)len));
                    }
                }

                return new SafraReply((SafraReplyKind)Native.selo_safra_reply_kind(p), Utf8.Read(Native.selo_safra_reply_json(p)), f);
            }
            finally
            {
                Native.selo_safra_reply_free(p);
            }
        }
    }

    /// <summary>
    /// A registration whose outcome the session does not know (its psd050 got no clear answer and
    /// no psd052 has answered for it yet). Any later register of this boleto starts with psd052.
    /// </summary>
    public sealed class SafraUnresolved
    {
        public SafraUnresolved(ulong nossoNumero, string seuNumero, long since)
        {
            NossoNumero = nossoNumero;
            SeuNumero = seuNumero;
            Since = since;
        }

        /// <summary>The boleto's nossoNumero.</summary>
        public ulong NossoNumero { get; }

        /// <summary>Its seuNumero (the session queries psd052 with both).</summary>
        public string SeuNumero { get; }

        /// <summary>When its outcome became unknown (Unix seconds, the session's clock).</summary>
        public long Since { get; }

        public override string ToString() => NossoNumero + " (seuNumero " + SeuNumero + ", since " + Since + ")";
    }

    /// <summary>The Safra PSD client state machine (see SafraClient for the loop).</summary>
    public sealed class SafraSession : Handle
    {
        internal readonly SafraSessionHandle Safe;

        private SafraSession(SafraSessionHandle h) : base(h)
        {
            Safe = h;
        }

        public static SafraSession Create(string profileJson, string baseUrl, string cliente)
        {
            SafraSessionHandle o;
            Ffi.Check(Native.selo_safra_session_new(Utf8.Z(profileJson), Utf8.Z(baseUrl), Utf8.Z(cliente), out o));
            return new SafraSession(o);
        }

        public static SafraSession Import(byte[] blob)
        {
            SafraSessionHandle o;
            Ffi.Check(Native.selo_safra_session_import(blob, Ffi.Len(blob), out o));
            return new SafraSession(o);
        }

        public void SetClientKey(PrivateKey key)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_session_set_client_key(Safe, key.Safe)), this, key);
        }

        public void SetSeed(byte[] seed)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_session_set_seed(Safe, seed, Ffi.Len(seed))), this);
        }

        /// <summary>The next request for op at now (Unix s); returns the id to hand back.</summary>
        public HttpRequest PrepareNext(SafraOp op, string payloadJson, long now, out ulong id)
        {
            lock (this)
            {
                ulong i = 0;
                var request = Call(() =>
                {
                    IntPtr req;
                    Ffi.Check(Native.selo_safra_session_prepare_next(Safe, (uint)op, Utf8.Z(payloadJson ?? string.Empty), now, out i, out req));
                    return Ffi.TakeRequest(req);
                }, this);
                id = i;
                return request;
            }
        }

        /// <summary>Hands back a response; the reply is non-null when the step is Done.</summary>
        public SafraStep HandleResponse(ulong id, HttpResponse response, long now, out SafraReply reply)
        {
            lock (this)
            {
                SafraReply rep = null;
                var step = Call(() =>
                {
                    IntPtr r = Ffi.NativeResponse(response);
                    try
                    {
                        uint s;
                        IntPtr p;
                        Ffi.Check(Native.selo_safra_session_handle_response(Safe, id, r, now, out s, out p));
                        rep = p == IntPtr.Zero ? null : SafraReply.Take(p);
                        return (SafraStep)s;
                    }
                    finally
                    {
                        Native.selo_response_free(r);
                    }
                }, this);
                reply = rep;
                return step;
            }
        }

        /// <summary>
        /// Reports that request id got no HTTP response; the session decides what follows
        /// (Retry, Reconcile after an ambiguous psd050, or a SeloException such as
        /// safra.boleto.outcome_unknown), as HandleResponse does.
        /// </summary>
        public SafraStep HandleTransportError(ulong id, SafraTransportFailure failure, long now, out SafraReply reply)
        {
            lock (this)
            {
                SafraReply rep = null;
                var step = Call(() =>
                {
                    uint s;
                    IntPtr p;
                    Ffi.Check(Native.selo_safra_session_handle_transport_error(Safe, id, (uint)failure, now, out s, out p));
                    rep = p == IntPtr.Zero ? null : SafraReply.Take(p);
                    return (SafraStep)s;
                }, this);
                reply = rep;
                return step;
            }
        }

        public SafraState State
        {
            get { lock (this) return Call(() => (SafraState)Native.selo_safra_session_state(Safe), this); }
        }

        public string SessionId
        {
            get
            {
                lock (this)
                {
                    return Call(() =>
                    {
                        IntPtr o;
                        Ffi.Check(Native.selo_safra_session_id(Safe, out o));
                        return Ffi.TakeString(o);
                    }, this);
                }
            }
        }

        public byte[] Export()
        {
            lock (this)
            {
                return Call(() =>
                {
                    var b = default(Native.SeloBuffer);
                    Ffi.Check(Native.selo_safra_session_export(Safe, ref b));
                    return Ffi.TakeBuffer(ref b);
                }, this);
            }
        }

        /// <summary>
        /// The registrations whose outcome is unknown (oldest first): session state, carried by
        /// <see cref="Export"/>/<see cref="Import"/>. A register of any of them starts with a psd052
        /// query, whatever ran in between; it leaves this list once a psd052 answers for it.
        /// </summary>
        public IReadOnlyList<SafraUnresolved> UnresolvedRegistrations()
        {
            lock (this)
            {
                return Call(() =>
                {
                    var n = Native.selo_safra_session_unresolved_count(Safe).ToUInt64();
                    var l = new List<SafraUnresolved>();
                    for (ulong i = 0; i < n; i++)
                    {
                        ulong nosso;
                        long since;
                        IntPtr seu;
                        Ffi.Check(Native.selo_safra_session_unresolved_at(Safe, new UIntPtr(i), out nosso, out since, out seu));
                        l.Add(new SafraUnresolved(nosso, Ffi.TakeString(seu), since));
                    }

                    return (IReadOnlyList<SafraUnresolved>)l.AsReadOnly();
                }, this);
            }
        }

        /// <summary>
        /// Forgets the unresolved registration of <paramref name="nossoNumero"/>, once its outcome is
        /// known from the bank by other means: the next register of it sends psd050 directly. Returns
        /// whether it was unresolved.
        /// </summary>
        public bool ResolveRegistration(ulong nossoNumero)
        {
            lock (this)
            {
                return Call(() =>
                {
                    bool found;
                    Ffi.Check(Native.selo_safra_session_resolve(Safe, nossoNumero, out found));
                    return found;
                }, this);
            }
        }

        // ---- Many operations at once (SPEC §5) ----

        /// <summary>
        /// Begins <paramref name="op"/> beside any other operations in progress; the id is for
        /// <see cref="Next"/> and <see cref="Cancel"/>. safra.session.busy past the maximum in flight;
        /// safra.boleto.in_flight when another operation registers the same nossoNumero.
        /// </summary>
        public ulong Begin(SafraOp op, string payloadJson)
        {
            lock (this)
            {
                return Call(() =>
                {
                    ulong id;
                    Ffi.Check(Native.selo_safra_session_begin(Safe, (uint)op, Utf8.Z(payloadJson ?? string.Empty), out id));
                    return id;
                }, this);
            }
        }

        /// <summary>The next step of operation <paramref name="opId"/>: wait (another operation runs the transition it needs) or send.</summary>
        public SafraNext Next(ulong opId, long now)
        {
            lock (this)
            {
                return Call(() =>
                {
                    bool wait;
                    ulong id;
                    IntPtr req;
                    Ffi.Check(Native.selo_safra_session_next(Safe, opId, now, out wait, out id, out req));
                    if (wait || req == IntPtr.Zero)
                    {
                        return SafraNext.Wait;
                    }

                    return new SafraNext(id, Ffi.TakeRequest(req));
                }, this);
            }
        }

        /// <summary>Ends an operation without a reply (a psd050 of it in flight becomes unresolved); false when it had ended.</summary>
        public bool Cancel(ulong opId)
        {
            lock (this)
            {
                return Call(() =>
                {
                    bool ended;
                    Ffi.Check(Native.selo_safra_session_cancel(Safe, opId, out ended));
                    return ended;
                }, this);
            }
        }

        /// <summary>The operations in progress.</summary>
        public ulong InFlight
        {
            get { lock (this) return Call(() => Native.selo_safra_session_in_flight(Safe).ToUInt64(), this); }
        }

        /// <summary>True while a transition (handshake stage, psd005, psd007) is in flight.</summary>
        public bool TransitionInFlight
        {
            get { lock (this) return Call(() => Native.selo_safra_session_transition_in_flight(Safe), this); }
        }

        /// <summary>Counts the changes of the session's credentials.</summary>
        public ulong Generation
        {
            get { lock (this) return Call(() => Native.selo_safra_session_generation(Safe), this); }
        }

        /// <summary>How many operations may run at once (at least 1; default 256).</summary>
        public void SetMaxInFlight(ulong max)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_session_set_max_in_flight(Safe, new UIntPtr(max))), this);
        }

        /// <summary>Shares this session with other instances: transitions run only under the fleet's lease.</summary>
        public void SetShared(bool shared)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_session_set_shared(Safe, shared)), this);
        }

        /// <summary>True when an operation of a shared session needs the fleet's lease.</summary>
        public bool WantsLease
        {
            get { lock (this) return Call(() => Native.selo_safra_session_wants_lease(Safe), this); }
        }

        /// <summary>True when request <paramref name="requestId"/> is a transition (handshake stage, psd005, psd007).</summary>
        public bool IsTransition(ulong requestId)
        {
            lock (this) return Call(() => Native.selo_safra_session_is_transition(Safe, requestId), this);
        }

        /// <summary>The credentials alone (session id, AES key, token…): secret, seal them at rest.</summary>
        public byte[] ExportCredentials()
        {
            lock (this)
            {
                return Call(() =>
                {
                    var b = default(Native.SeloBuffer);
                    Ffi.Check(Native.selo_safra_session_export_credentials(Safe, ref b));
                    return Ffi.TakeBuffer(ref b);
                }, this);
            }
        }

        /// <summary>Takes credentials another instance exported.</summary>
        public void AdoptCredentials(byte[] credentials)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_session_adopt_credentials(Safe, credentials, Ffi.Len(credentials))), this);
        }
    }

    /// <summary>What <see cref="SafraSession.Next"/> says: wait, or send <see cref="Request"/> and hand its response back with <see cref="Id"/>.</summary>
    public sealed class SafraNext
    {
        public static readonly SafraNext Wait = new SafraNext(0, null);

        public SafraNext(ulong id, HttpRequest request)
        {
            Id = id;
            Request = request;
        }

        public bool IsWait => Request == null;

        public ulong Id { get; }

        public HttpRequest Request { get; }
    }

    /// <summary>Moves one request (HTTP or in-process).</summary>
    public interface ISafraTransport
    {
        Task<HttpResponse> SendAsync(HttpRequest request);
    }

    /// <summary>The Safra bank role: mocks, simulators, in-process tests.</summary>
    public sealed class SafraBank : Handle, ISafraTransport
    {
        internal readonly SafraBankHandle Safe;
        private readonly Func<long> clock;

        private SafraBank(SafraBankHandle h, Func<long> clock) : base(h)
        {
            Safe = h;
            this.clock = clock;
        }

        public static SafraBank Create(string profileJson, PrivateKey bankKey, long tokenLifetime, Func<long> clock) => Call(() =>
        {
            SafraBankHandle o;
            Ffi.Check(Native.selo_safra_bank_new(Utf8.Z(profileJson), bankKey.Safe, tokenLifetime, out o));
            return new SafraBank(o, clock);
        }, bankKey);

        public void Inject(SafraFault fault)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_safra_bank_inject(Safe, (uint)fault)), this);
        }

        public HttpResponse Handle(HttpRequest request, long now)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr r = Ffi.NativeRequest(request);
                    try
                    {
                        IntPtr o;
                        Ffi.Check(Native.selo_safra_bank_handle(Safe, r, now, out o));
                        return Ffi.TakeResponse(o);
                    }
                    finally
                    {
                        Native.selo_request_free(r);
                    }
                }, this);
            }
        }

        /// <summary>
        /// The AES key the bank holds for session <paramref name="sessionId"/> (tests that craft a
        /// bank reply seal it with <see cref="Safra.SealWithIv"/>). Keep it secret.
        /// </summary>
        public byte[] SessionKey(string sessionId)
        {
            lock (this)
            {
                return Call(() =>
                {
                    var b = default(Native.SeloBuffer);
                    Ffi.Check(Native.selo_safra_bank_session_key(Safe, Utf8.Z(sessionId), ref b));
                    return Ffi.TakeBuffer(ref b);
                }, this);
            }
        }

        public Task<HttpResponse> SendAsync(HttpRequest request) => Task.FromResult(Handle(request, clock()));
    }

    /// <summary>
    /// A transport over System.Net.Http.HttpClient. A request without a response throws a
    /// SafraTransportException saying how it failed (see SafraClient.FailureOf).
    /// </summary>
    public sealed class HttpClientTransport : ISafraTransport
    {
        private readonly HttpClient http;
        private readonly TimeSpan? timeout;

        public HttpClientTransport(HttpClient http)
            : this(http, null)
        {
        }

        /// <summary>requestTimeout bounds each request (no reply by then: Timeout); null = the HttpClient's own.</summary>
        public HttpClientTransport(HttpClient http, TimeSpan? requestTimeout)
        {
            this.http = http;
            timeout = requestTimeout;
        }

        public async Task<HttpResponse> SendAsync(HttpRequest r)
        {
            using (var cts = timeout.HasValue ? new System.Threading.CancellationTokenSource(timeout.Value) : new System.Threading.CancellationTokenSource())
            {
                try
                {
                    return await Send(r, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e)
                {
                    // Ours (per-request timeout) or the HttpClient's Timeout: no caller token here.
                    throw new SafraTransportException(SafraTransportFailure.Timeout, "no reply in time from " + r.Url, e);
                }
                catch (Exception e) when (!(e is SafraTransportException))
                {
                    throw new SafraTransportException(SafraClient.FailureOf(e), e.Message + " (" + r.Url + ")", e);
                }
            }
        }

        private async Task<HttpResponse> Send(HttpRequest r, System.Threading.CancellationToken ct)
        {
            using (var msg = new HttpRequestMessage(new HttpMethod(r.Method), r.Url))
            {
                msg.Content = new ByteArrayContent(r.Body);
                foreach (var h in r.Headers)
                {
                    if (!msg.Headers.TryAddWithoutValidation(h.Key, h.Value))
                    {
                        msg.Content.Headers.Remove(h.Key);
                        msg.Content.Headers.TryAddWithoutValidation(h.Key, h.Value);
                    }
                }

                using (var resp = await http.SendAsync(msg, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false))
                {
                    var body = await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    var headers = new List<KeyValuePair<string, string>>();
                    foreach (var h in resp.Headers.Concat(resp.Content.Headers))
                    {
                        foreach (var v in h.Value)
                        {
                            headers.Add(new KeyValuePair<string, string>(h.Key, v));
                        }
                    }

                    return new HttpResponse((int)resp.StatusCode, headers, body);
                }
            }
        }
    }

    /// <summary>
    /// Runs whole Safra operations: handshake, authentication, renewal, re-handshake on
    /// key expiry, re-initialisation on 480 — decided by the session; this only moves bytes.
    /// </summary>
    public sealed class SafraClient : IDisposable
    {
        private readonly ISafraTransport transport;
        private readonly Func<long> clock;
        private readonly List<string> log = new List<string>();

        public SafraClient(SafraSession session, ISafraTransport transport, Func<long> clock)
        {
            Session = session;
            this.transport = transport;
            this.clock = clock;
        }

        public static SafraClient OverHttp(SafraSession session, HttpClient http) =>
            new SafraClient(session, new HttpClientTransport(http), () => DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        /// <summary>A client over HttpClient with a per-request timeout.</summary>
        public static SafraClient OverHttp(SafraSession session, HttpClient http, TimeSpan requestTimeout) =>
            new SafraClient(session, new HttpClientTransport(http, requestTimeout), () => DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        /// <summary>
        /// How e, thrown while sending, failed: no connection (refused, unresolved, TLS
        /// handshake) is Connect — never written; no reply in time is Timeout; a reset or a
        /// connection closed without a reply (any other I/O error) is Reset; anything else Other.
        /// </summary>
        public static SafraTransportFailure FailureOf(Exception e)
        {
            var agg = e as AggregateException;
            if (agg != null && agg.InnerExceptions.Count == 1)
            {
                e = agg.InnerExceptions[0];
            }

            var known = e as SafraTransportException;
            if (known != null)
            {
                return known.Failure;
            }

            if (e is OperationCanceledException || e is TimeoutException)
            {
                return SafraTransportFailure.Timeout;
            }

            for (var c = e; c != null; c = c.InnerException)
            {
                var we = c as System.Net.WebException;
                if (we != null)
                {
                    switch (we.Status)
                    {
                        case System.Net.WebExceptionStatus.ConnectFailure:
                        case System.Net.WebExceptionStatus.NameResolutionFailure:
                        case System.Net.WebExceptionStatus.ProxyNameResolutionFailure:
                        case System.Net.WebExceptionStatus.SecureChannelFailure:
                        case System.Net.WebExceptionStatus.TrustFailure:
                            return SafraTransportFailure.Connect;
                        case System.Net.WebExceptionStatus.Timeout:
                            return SafraTransportFailure.Timeout;
                    }
                }

                var se = c as System.Net.Sockets.SocketException;
                if (se != null)
                {
                    switch (se.SocketErrorCode)
                    {
                        case System.Net.Sockets.SocketError.ConnectionRefused:
                        case System.Net.Sockets.SocketError.HostNotFound:
                        case System.Net.Sockets.SocketError.HostUnreachable:
                        case System.Net.Sockets.SocketError.NetworkUnreachable:
                        case System.Net.Sockets.SocketError.TryAgain:
                        case System.Net.Sockets.SocketError.NoData:
                            return SafraTransportFailure.Connect;
                        case System.Net.Sockets.SocketError.TimedOut:
                            return SafraTransportFailure.Timeout;
                    }
                }
            }

            if (e is HttpRequestException || e is System.IO.IOException || e is System.Net.WebException || e is System.Net.Sockets.SocketException)
            {
                return SafraTransportFailure.Reset;
            }

            return SafraTransportFailure.Other;
        }

        public SafraSession Session { get; }

        /// <summary>Each exchange as "service:status".</summary>
        public IReadOnlyList<string> Exchanges
        {
            get { lock (log) return log.ToList(); }
        }

        /// <summary>
        /// How long an operation waits for another operation's handshake, psd005 or psd007 (each wait; default
        /// 30 s): then safra.session.not_ready and the operation is cancelled.
        /// </summary>
        public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>How many operations may run at once (default 256; past it safra.session.busy).</summary>
        public SafraClient MaxInFlight(ulong max)
        {
            Session.SetMaxInFlight(max);
            return this;
        }

        /// <summary>
        /// Shares this client's session with every other client of <paramref name="share"/> (SPEC §5): business
        /// calls use the fleet's sealed credentials; a handshake or renewal runs once, under the fleet's lease, and
        /// is published for the others. Set it before the first operation.
        /// </summary>
        public SafraClient Shared(ISafraShare share)
        {
            if (share == null)
            {
                throw new ArgumentNullException(nameof(share));
            }

            Session.SetShared(true);
            this.share = new SafraShareCore(share);
            return this;
        }

        /// <summary>This client's counters in its fleet (null when not shared).</summary>
        public SafraShareStats ShareStats => share?.Stats();

        /// <summary>True while this client holds its fleet's lease.</summary>
        public bool HoldsLease => share != null && share.HoldsLease;

        private readonly object sync = new object();
        private TaskCompletionSource<bool> changed = NewSignal();
        private bool leaseTaker;
        private bool recordRead;
        private SafraShareCore share;

        private static TaskCompletionSource<bool> NewSignal() =>
            new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Wakes every waiter: a response handled, an operation ended, the lease taken or given up.</summary>
        private void Signal()
        {
            TaskCompletionSource<bool> old;
            lock (sync)
            {
                old = changed;
                changed = NewSignal();
            }

            old.TrySetResult(true);
        }

        private Task Changed()
        {
            lock (sync) return changed.Task;
        }

        private async Task AwaitChange(Task signal, System.Threading.CancellationToken ct)
        {
            using (var cts = System.Threading.CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                var delay = Task.Delay(WaitTimeout, cts.Token);
                var done = await Task.WhenAny(signal, delay).ConfigureAwait(false);
                cts.Cancel();
                if (done != signal)
                {
                    ct.ThrowIfCancellationRequested();
                    throw new SeloException("safra.session.not_ready", "waited " + (long)WaitTimeout.TotalMilliseconds +
                        " ms (WaitTimeout) for another call's handshake, psd005 or psd007 to finish: this call was cancelled", 0);
                }
            }
        }

        private async Task ReadRecordOnce(SafraShareCore sh, System.Threading.CancellationToken ct)
        {
            while (true)
            {
                Task signal;
                lock (sync)
                {
                    if (recordRead)
                    {
                        return;
                    }

                    if (!leaseTaker)
                    {
                        leaseTaker = true;
                        break;
                    }

                    signal = changed.Task;
                }

                await AwaitChange(signal, ct).ConfigureAwait(false);
            }

            bool ok = false;
            try
            {
                await sh.ReadRecord(Session, ct).ConfigureAwait(false);
                ok = true;
            }
            finally
            {
                lock (sync)
                {
                    leaseTaker = false;
                    recordRead |= ok;
                }

                Signal();
            }
        }

        /// <summary>Takes the lease when the session wants it and no other task of this client is taking it.</summary>
        private async Task TakeLeaseIfWanted(SafraShareCore sh, System.Threading.CancellationToken ct)
        {
            if (!Session.WantsLease || sh.HoldsLease)
            {
                return;
            }

            lock (sync)
            {
                if (leaseTaker)
                {
                    return;
                }

                leaseTaker = true;
            }

            try
            {
                if (Session.WantsLease && !sh.HoldsLease)
                {
                    await sh.TakeLease(Session, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                lock (sync) leaseTaker = false;
                Signal();
            }
        }

        private bool LeaseTakerBusy
        {
            get { lock (sync) return leaseTaker; }
        }

        private async Task<HttpResponse> SendWith(HttpRequest req, System.Threading.CancellationToken ct)
        {
            var sent = transport.SendAsync(req);
            if (!ct.CanBeCanceled)
            {
                return await sent.ConfigureAwait(false);
            }

            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(sent, cancelled.Task).ConfigureAwait(false) != sent)
                {
                    // The caller gave up: the operation is cancelled (a psd050 in flight stays unresolved).
                    GC.KeepAlive(sent.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted)); // observed
                    throw new OperationCanceledException(ct);
                }
            }

            return await sent.ConfigureAwait(false);
        }

        /// <summary>
        /// Runs one operation to its reply. Operations run at once from many tasks (SPEC §5): each begins its
        /// own operation on the session — business calls share the credentials; a handshake, psd005 or psd007
        /// runs once and the operations that need it wait for it (each wait bounded by <see cref="WaitTimeout"/>,
        /// then safra.session.not_ready). <paramref name="cancellationToken"/> cancels the operation (a psd050 in
        /// flight stays an unresolved registration).
        /// </summary>
        public async Task<SafraReply> RunAsync(SafraOp op, string payloadJson,
            System.Threading.CancellationToken cancellationToken = default(System.Threading.CancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sh = share;
            if (sh != null)
            {
                await ReadRecordOnce(sh, cancellationToken).ConfigureAwait(false);
            }

            var opId = Session.Begin(op, payloadJson);
            bool ok = false;
            try
            {
                var r = await Loop(opId, sh, cancellationToken).ConfigureAwait(false);
                ok = true;
                return r;
            }
            finally
            {
                // Ended with a reply or a core error: already gone. Ended any other way (cancelled, a
                // waiter's timeout, a store failure): the session forgets it.
                Session.Cancel(opId);
                if (sh != null && sh.HoldsLease && ((!ok && !Session.TransitionInFlight) || Session.InFlight == 0))
                {
                    await sh.ReleaseQuietly(Session).ConfigureAwait(false);
                }

                Signal();
            }
        }

        private async Task<SafraReply> Loop(ulong opId, SafraShareCore sh, System.Threading.CancellationToken ct)
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (sh != null)
                {
                    await TakeLeaseIfWanted(sh, ct).ConfigureAwait(false);
                }

                var signal = Changed();
                var next = Session.Next(opId, clock());
                if (next.IsWait)
                {
                    if (sh != null && Session.WantsLease && !sh.HoldsLease && !LeaseTakerBusy)
                    {
                        continue; // take it at the loop head
                    }

                    await AwaitChange(signal, ct).ConfigureAwait(false);
                    continue;
                }

                var id = next.Id;
                var req = next.Request;
                bool transition = sh != null && Session.IsTransition(id);
                var service = req.Url.Substring(req.Url.LastIndexOf('/') + 1);
                HttpResponse resp = null;
                Exception failed = null;
                try
                {
                    resp = await SendWith(req, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (SeloException)
                {
                    throw;
                }
                catch (Exception e)
                {
                    failed = e;
                }

                SafraReply reply;
                SafraStep step;
                try
                {
                    if (failed != null)
                    {
                        // No response: the session decides (retry, reconcile, or a typed error).
                        var kind = FailureOf(failed);
                        lock (log) log.Add(service + ":" + kind.ToString().ToLowerInvariant());
                        try
                        {
                            step = Session.HandleTransportError(id, kind, clock(), out reply);
                        }
                        catch (SeloException s)
                        {
                            throw new SeloException(s.Code, s.Message.Substring(Math.Min(s.Message.Length, s.Code.Length + 2)) + " (last transport failure: " + failed.Message + ")", s.Status);
                        }
                    }
                    else
                    {
                        lock (log) log.Add(service + ":" + resp.Status);
                        step = Session.HandleResponse(id, resp, clock(), out reply);
                    }
                }
                finally
                {
                    Signal();
                }

                if (transition)
                {
                    await sh.PublishIfReady(Session, ct).ConfigureAwait(false);
                    Signal();
                }

                if (step == SafraStep.Done)
                {
                    return reply;
                }
            }
        }

        public Task<SafraReply> AuthenticateAsync(System.Threading.CancellationToken cancellationToken = default(System.Threading.CancellationToken)) =>
            RunAsync(SafraOp.Authenticate, string.Empty, cancellationToken);

        public Task<SafraReply> RegisterBoletoAsync(string boletoJson, System.Threading.CancellationToken cancellationToken = default(System.Threading.CancellationToken)) =>
            RunAsync(SafraOp.RegisterBoleto, boletoJson, cancellationToken);

        public Task<SafraReply> QueryBoletoAsync(string nossoNumero, string seuNumero, System.Threading.CancellationToken cancellationToken = default(System.Threading.CancellationToken)) =>
            RunAsync(SafraOp.QueryBoleto, "{\"documento\":{\"nossoNumero\":" + Quote(nossoNumero) + ",\"seuNumero\":" + Quote(seuNumero) + "}}", cancellationToken);

        public void Dispose() => Session.Dispose();

        private static string Quote(string s) =>
            "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }

    /// <summary>Safra building blocks (vectors, custom hosts).</summary>
    public static class Safra
    {
        public static string Stage1Jwk(PrivateKey key, string sessionId, string keyFormat) => Handle.Call(() =>
        {
            IntPtr o;
            Ffi.Check(Native.selo_safra_stage1_jwk(key.Safe, Utf8.Z(sessionId), Utf8.Z(keyFormat), out o));
            return Ffi.TakeString(o);
        }, key);

        public static PublicKey ParseStage1Reply(byte[] body)
        {
            PublicKeyHandle o;
            Ffi.Check(Native.selo_safra_parse_stage1_reply(body, Ffi.Len(body), out o));
            return new PublicKey(o);
        }

        public static byte[] ParseStage2Reply(byte[] body, PrivateKey client, PublicKey bank, string padding, string message, out string winnersJson)
        {
            string winners = null;
            var k = Handle.Call(() =>
            {
                var key = default(Native.SeloBuffer);
                IntPtr w;
                Ffi.Check(Native.selo_safra_parse_stage2_reply(body, Ffi.Len(body), client.Safe, bank.Safe, Utf8.Z(padding), Utf8.Z(message), ref key, out w));
                var kb = Ffi.TakeBuffer(ref key);
                winners = Ffi.TakeString(w);
                return kb;
            }, client, bank);
            winnersJson = winners;
            return k;
        }

        public static string SealWithIv(byte[] key, byte[] iv, byte[] plaintext)
        {
            IntPtr o;
            Ffi.Check(Native.selo_safra_seal_with_iv(key, Ffi.Len(key), iv, Ffi.Len(iv), plaintext, Ffi.Len(plaintext), out o));
            return Ffi.TakeString(o);
        }

        public static byte[] Open(byte[] key, string envelope)
        {
            var b = default(Native.SeloBuffer);
            Ffi.Check(Native.selo_safra_open(key, Ffi.Len(key), Utf8.Z(envelope), ref b));
            return Ffi.TakeBuffer(ref b);
        }

        public static string TokenSchedule(string token, long t0, string profileJson)
        {
            IntPtr o;
            Ffi.Check(Native.selo_safra_token_schedule(Utf8.Z(token), t0, Utf8.Z(profileJson), out o));
            return Ffi.TakeString(o);
        }

        public static void ValidateBoleto(string json) => Ffi.Check(Native.selo_safra_boleto_validate(Utf8.Z(json)));
    }

    /// <summary>The partner side of BMP: signs with the shared key, verifies, confirms.</summary>
    public sealed class BmpSigner : Handle
    {
        internal readonly BmpSignerHandle Safe;

        private BmpSigner(BmpSignerHandle h) : base(h)
        {
            Safe = h;
        }

        public static BmpSigner Create(string key, string profileJson)
        {
            BmpSignerHandle o;
            Ffi.Check(Native.selo_bmp_signer_new(Utf8.Z(key), Utf8.Z(profileJson), out o));
            return new BmpSigner(o);
        }

        public static string GenerateKey()
        {
            IntPtr o;
            Ffi.Check(Native.selo_bmp_generate_key(out o));
            return Ffi.TakeString(o);
        }

        public HttpRequest SignJson(string url, byte[] json)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr o;
                    Ffi.Check(Native.selo_bmp_signer_sign_json(Safe, Utf8.Z(url), json, Ffi.Len(json), out o));
                    return Ffi.TakeRequest(o);
                }, this);
            }
        }

        public HttpRequest SignBytes(string url, byte[] body, string idempotencyKey)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr o;
                    Ffi.Check(Native.selo_bmp_signer_sign_bytes(Safe, Utf8.Z(url), body, Ffi.Len(body), Utf8.Z(idempotencyKey), out o));
                    return Ffi.TakeRequest(o);
                }, this);
            }
        }

        public string Hmac(byte[] body)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr o;
                    Ffi.Check(Native.selo_bmp_signer_hmac(Safe, body, Ffi.Len(body), out o));
                    return Ffi.TakeString(o);
                }, this);
            }
        }

        public void Verify(byte[] body, string hmac)
        {
            lock (this) Call(() => Ffi.Check(Native.selo_bmp_signer_verify(Safe, body, Ffi.Len(body), Utf8.Z(hmac))), this);
        }

        public static byte[] Canonical(byte[] json, string profileJson)
        {
            var b = default(Native.SeloBuffer);
            Ffi.Check(Native.selo_bmp_canonical(json, Ffi.Len(json), Utf8.Z(profileJson), ref b));
            return Ffi.TakeBuffer(ref b);
        }

        /// <summary>
        /// The confirmation endpoint's answer when the host could not decide (its transaction store failed,
        /// its handler broke): the core's 500 <c>bmp.confirm.internal</c> with a fixed message — send it
        /// instead of an exception's text.
        /// </summary>
        public static HttpResponse ConfirmInternalResponse()
        {
            IntPtr o;
            Ffi.Check(Native.selo_bmp_confirm_internal_response(out o));
            return Ffi.TakeResponse(o);
        }

        /// <summary>
        /// The partner confirmation endpoint: received headers + raw body in, the response to send out.
        /// <paramref name="lookup"/> returns the body originally sent for an idempotency key, or null.
        /// </summary>
        public HttpResponse Confirm(IList<KeyValuePair<string, string>> headers, byte[] body, Func<string, byte[]> lookup, out string difference)
        {
            IntPtr r = Ffi.NativeRequest(new HttpRequest("POST", "http://partner.invalid/confirm", headers, body));
            Exception failure = null;
            Native.BmpLookup cb = (user, key, original) =>
            {
                try
                {
                    var o = lookup(Utf8.Read(key));
                    if (o != null)
                    {
                        Ffi.Check(Native.selo_bmp_original_set(original, o, Ffi.Len(o)));
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            };
            try
            {
                IntPtr resp = IntPtr.Zero, diff = IntPtr.Zero;
                lock (this) Call(() => Ffi.Check(Native.selo_bmp_confirm(Safe, r, cb, IntPtr.Zero, out resp, out diff)), this);
                GC.KeepAlive(cb);
                var response = Ffi.TakeResponse(resp);
                difference = diff == IntPtr.Zero ? null : Ffi.TakeString(diff);
                if (failure != null)
                {
                    throw failure;
                }

                return response;
            }
            finally
            {
                Native.selo_request_free(r);
            }
        }
    }

    /// <summary>BMP money as <see cref="decimal"/>: JSON numbers with exactly two fraction digits.</summary>
    public static class Money
    {
        /// <summary>1345.8m → "1345.80"; a third fraction digit, a sign or an exponent throw.</summary>
        public static string ToJson(decimal amount) => ToJson(amount.ToString(CultureInfo.InvariantCulture));

        public static string ToJson(string decimalText)
        {
            IntPtr o;
            Ffi.Check(Native.selo_bmp_money_parse(Utf8.Z(decimalText), out o));
            return Ffi.TakeString(o);
        }

        public static string FromCents(long cents)
        {
            IntPtr o;
            Ffi.Check(Native.selo_bmp_money_from_cents(cents, out o));
            return Ffi.TakeString(o);
        }

        /// <summary>The amount as a decimal with two fraction digits.</summary>
        public static decimal Parse(string decimalText)
        {
            long cents;
            Ffi.Check(Native.selo_bmp_money_cents(Utf8.Z(decimalText), out cents));
            return new decimal(cents) / 100m;
        }

        public static bool DecimalEquals(string a, string b) => Native.selo_bmp_decimal_eq(Utf8.Z(a), Utf8.Z(b));
    }

    /// <summary>Brazilian identifiers.</summary>
    public static class Br
    {
        public static void ValidateCpf(string s) => Ffi.Check(Native.selo_br_validate_cpf(Utf8.Z(s)));
        public static void ValidateCnpj(string s) => Ffi.Check(Native.selo_br_validate_cnpj(Utf8.Z(s)));
        public static bool IsValidCpf(string s) => Native.selo_br_validate_cpf(Utf8.Z(s)) == 0;
        public static bool IsValidCnpj(string s) => Native.selo_br_validate_cnpj(Utf8.Z(s)) == 0;

        public static string FormatCnpj(string s)
        {
            IntPtr o;
            Ffi.Check(Native.selo_br_format_cnpj(Utf8.Z(s), out o));
            return Ffi.TakeString(o);
        }

        public static string LinhaToBarcode(string s)
        {
            IntPtr o;
            Ffi.Check(Native.selo_br_linha_to_barcode(Utf8.Z(s), out o));
            return Ffi.TakeString(o);
        }

        public static string BarcodeToLinha(string s)
        {
            IntPtr o;
            Ffi.Check(Native.selo_br_barcode_to_linha(Utf8.Z(s), out o));
            return Ffi.TakeString(o);
        }

        public static string ParseBoleto(string s)
        {
            IntPtr o;
            Ffi.Check(Native.selo_br_parse_boleto(Utf8.Z(s), out o));
            return Ffi.TakeString(o);
        }

        public static string DetectPixKey(string s)
        {
            IntPtr o;
            Ffi.Check(Native.selo_br_detect_pix_key(Utf8.Z(s), out o));
            return Ffi.TakeString(o);
        }
    }

    /// <summary>Open Finance Brasil JWS (PS256).</summary>
    public static class Ofb
    {
        public sealed class Jwks : Handle
        {
            internal readonly JwksHandle Safe;

            internal Jwks(JwksHandle h) : base(h)
            {
                Safe = h;
            }

            public static Jwks Parse(string json)
            {
                JwksHandle o;
                Ffi.Check(Native.selo_jwks_parse(Utf8.Z(json), out o));
                return new Jwks(o);
            }
        }

        public sealed class Signer : Handle
        {
            internal readonly OfbSignerHandle Safe;

            private Signer(OfbSignerHandle h) : base(h)
            {
                Safe = h;
            }

            public static Signer Create(PrivateKey key, string kid, string iss, string profileJson) => Call(() =>
            {
                OfbSignerHandle o;
                Ffi.Check(Native.selo_ofb_signer_new(key.Safe, Utf8.Z(kid), Utf8.Z(iss), Utf8.Z(profileJson), out o));
                return new Signer(o);
            }, key);

            public void SetSeed(byte[] seed)
            {
                lock (this) Call(() => Ffi.Check(Native.selo_ofb_signer_set_seed(Safe, seed, Ffi.Len(seed))), this);
            }

            /// <summary>The compact JWS; exp 0 = none.</summary>
            public string Sign(string payloadJson, string aud, long exp, long now)
            {
                lock (this)
                {
                    return Call(() =>
                    {
                        IntPtr o;
                        Ffi.Check(Native.selo_ofb_signer_sign(Safe, Utf8.Z(payloadJson), Utf8.Z(aud), exp, now, out o));
                        return Ffi.TakeString(o);
                    }, this);
                }
            }
        }

        public sealed class JtiCache : Handle
        {
            internal readonly JtiCacheHandle Safe;

            private JtiCache(JtiCacheHandle h) : base(h)
            {
                Safe = h;
            }

            public static JtiCache Create(long capacity, bool evictOldest)
            {
                JtiCacheHandle o;
                Ffi.Check(Native.selo_jti_cache_new(new UIntPtr((ulong)capacity), evictOldest, out o));
                return new JtiCache(o);
            }

            /// <summary>Throws ofb.replay.jti on a replay.</summary>
            public void Check(string clientId, string jti, long now)
            {
                lock (this) Call(() => Ffi.Check(Native.selo_jti_cache_check(Safe, Utf8.Z(clientId), Utf8.Z(jti), now)), this);
            }
        }

        /// <summary>Verifies (SPEC §3.2 stages 1–6); returns {"header","payload","claims","kid"} JSON.</summary>
        public static string Verify(string token, Jwks jwks, string aud, string iss, string profileJson, long now) => Handle.Call(() =>
        {
            IntPtr o;
            Ffi.Check(Native.selo_ofb_verify(Utf8.Z(token), jwks.Safe, Utf8.Z(aud), Utf8.Z(iss), Utf8.Z(profileJson), now, out o));
            return Ffi.TakeString(o);
        }, jwks);
    }

    /// <summary>Library-wide queries.</summary>
    public static class Library
    {
        public static string Version => Utf8.Read(Native.selo_version());

        public static IList<string> ErrorCodes()
        {
            IntPtr o;
            Ffi.Check(Native.selo_error_codes(out o));
            return Ffi.TakeString(o).Split('\n');
        }

        public static IList<string> FfiErrorCodes()
        {
            var n = Native.selo_ffi_error_code_count().ToUInt64();
            var l = new List<string>();
            for (ulong i = 0; i < n; i++)
            {
                l.Add(Utf8.Read(Native.selo_ffi_error_code_at(new UIntPtr(i))));
            }

            return l;
        }

        /// <summary>The codes only the host layers raise (HTTP helpers, loaders), never the library.</summary>
        public static IList<string> HostErrorCodes()
        {
            var n = Native.selo_host_error_code_count().ToUInt64();
            var l = new List<string>();
            for (ulong i = 0; i < n; i++)
            {
                l.Add(Utf8.Read(Native.selo_host_error_code_at(new UIntPtr(i))));
            }

            return l;
        }
    }
}
