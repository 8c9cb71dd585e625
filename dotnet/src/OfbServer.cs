namespace Selo
{
    using System;
    using System.Collections.Generic;
    using System.IO;
    using System.Threading;
    using System.Threading.Tasks;

    /// <summary>The resource server's decision: the verified token JSON, or the response to send and its code.</summary>
    public sealed class OfbDecision
    {
        public OfbDecision(string verifiedJson, HttpResponse rejection, string errorCode)
        {
            VerifiedJson = verifiedJson;
            Rejection = rejection;
            ErrorCode = errorCode;
        }

        /// <summary>The core's JSON of the verified token ({"header","payload","claims","kid"}); null when refused.</summary>
        public string VerifiedJson { get; }

        /// <summary>The exact response to send when refused (built by the core).</summary>
        public HttpResponse Rejection { get; }

        /// <summary>The stable code of the refusal.</summary>
        public string ErrorCode { get; }

        public bool Accepted => VerifiedJson != null;
    }

    /// <summary>
    /// Request body limits of the server helpers (default 1 MiB): 413 beyond, the rest unread. Bodies are
    /// read with <see cref="Stream.ReadAsync(byte[], int, int, CancellationToken)"/> only (ASP.NET Core's request
    /// stream refuses synchronous reads by default).
    /// </summary>
    public static class BodyLimit
    {
        public const long DefaultMaxBytes = 1024 * 1024;

        /// <summary>A body over the limit: code "http.body_too_large" (driver-level: in <see cref="ErrorCodes.Host"/>, not the core's list).</summary>
        public sealed class TooLargeException : SeloException
        {
            public TooLargeException(long limit)
                : base("http.body_too_large", "the request body is over the limit of " + limit + " bytes", 0)
            {
                Limit = limit;
            }

            public long Limit { get; }
        }

        /// <summary>
        /// Reads <paramref name="body"/> asynchronously: a <paramref name="declaredLength"/> (−1 unknown) over the
        /// limit is refused unread; a longer stream stops being read at <paramref name="maxBytes"/> + 1
        /// (<see cref="TooLargeException"/>).
        /// </summary>
        public static async Task<byte[]> ReadAsync(Stream body, long declaredLength, long maxBytes, CancellationToken cancellationToken = default(CancellationToken))
        {
            if (body == null)
            {
                throw new ArgumentNullException(nameof(body));
            }

            if (declaredLength > maxBytes)
            {
                throw new TooLargeException(maxBytes);
            }

            var ms = new MemoryStream();
            var buf = new byte[8192];
            long total = 0;
            while (true)
            {
                int want = (int)Math.Min(buf.Length, maxBytes + 1 - total);
                int n = await body.ReadAsync(buf, 0, want, cancellationToken).ConfigureAwait(false);
                if (n <= 0)
                {
                    return ms.ToArray();
                }

                total += n;
                if (total > maxBytes)
                {
                    throw new TooLargeException(maxBytes);
                }

                ms.Write(buf, 0, n);
            }
        }

        /// <summary>The 413 response every selo server helper sends (built by the core: selo_http_body_too_large_response).</summary>
        public static HttpResponse TooLargeResponse(long maxBytes)
        {
            IntPtr o;
            Ffi.Check(Native.selo_http_body_too_large_response((ulong)Math.Max(0, maxBytes), out o));
            return Ffi.TakeResponse(o);
        }

        /// <summary>
        /// The BMP partner confirmation endpoint from a request stream (read asynchronously; over
        /// <paramref name="maxBytes"/> → 413 unread). <paramref name="lookup"/> finds the body originally sent for
        /// an idempotency key (null: unknown → 404); which key to look up is the core's decision (header or
        /// body, any case). When the lookup or the handler fails, the answer is the core's fixed 500
        /// <c>bmp.confirm.internal</c> (never the exception's text; <paramref name="onError"/> sees the exception).
        /// </summary>
        public static async Task<BmpConfirmation> ConfirmAsync(this BmpSigner signer, IList<KeyValuePair<string, string>> headers, Stream body,
            long declaredLength, Func<string, CancellationToken, Task<byte[]>> lookup, long maxBytes = DefaultMaxBytes, Action<Exception> onError = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            byte[] bytes;
            try
            {
                bytes = await ReadAsync(body, declaredLength, maxBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (TooLargeException)
            {
                return new BmpConfirmation(TooLargeResponse(maxBytes), null);
            }

            try
            {
                // Pass 1 asks the core which transaction it needs (it reads the idempotency key); the
                // lookup may be asynchronous, so it runs between two passes, never inside the native call.
                string asked = null;
                bool called = false;
                string diff;
                var first = signer.Confirm(headers, bytes, k =>
                {
                    called = true;
                    asked = k;
                    return null;
                }, out diff);
                if (!called)
                {
                    return new BmpConfirmation(first, diff);
                }

                var t = lookup(asked, cancellationToken);
                var original = t == null ? null : await t.ConfigureAwait(false);
                if (original == null)
                {
                    // Unknown transaction: pass 1 already is that answer (404).
                    return new BmpConfirmation(first, diff);
                }

                var second = signer.Confirm(headers, bytes, k => k == asked ? original : null, out diff);
                return new BmpConfirmation(second, diff);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                onError?.Invoke(e);
                return new BmpConfirmation(BmpSigner.ConfirmInternalResponse(), null);
            }
        }
    }

    /// <summary>The answer of the BMP confirmation helper: the response to send and, when the body differs, the first differing path.</summary>
    public sealed class BmpConfirmation
    {
        public BmpConfirmation(HttpResponse response, string difference)
        {
            Response = response;
            Difference = difference;
        }

        public HttpResponse Response { get; }

        public string Difference { get; }
    }

    /// <summary>
    /// A request that passed every check but replay (phase one of <see cref="OfbServer.CheckRequest"/>):
    /// ask your replay store with <see cref="StoreKey"/> and <see cref="TtlSeconds"/>, then <see cref="Finish"/>
    /// with its answer. Dispose it when done.
    /// </summary>
    public sealed class OfbPendingRequest : Handle
    {
        internal readonly OfbPendingHandle Safe;

        internal OfbPendingRequest(OfbPendingHandle h) : base(h)
        {
            Safe = h;
        }

        /// <summary>The replay scope (client id).</summary>
        public string ClientId
        {
            get { lock (this) return Call(() => Utf8.Read(Native.selo_ofb_pending_client_id(Safe)), this); }
        }

        /// <summary>The token's jti (lower-case when it is a UUID).</summary>
        public string Jti
        {
            get { lock (this) return Call(() => Utf8.Read(Native.selo_ofb_pending_jti(Safe)), this); }
        }

        /// <summary>
        /// The replay store key, <c>&lt;prefix&gt;:&lt;len(clientId)&gt;:&lt;clientId&gt;:&lt;jti&gt;</c>
        /// (prefix null or empty: <c>selo:ofb:jti</c>). Redis: <c>SET key 1 NX EX ttl</c>.
        /// </summary>
        public string StoreKey(string prefix = null)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr o;
                    Ffi.Check(Native.selo_ofb_pending_store_key(Safe, Utf8.Z(prefix), out o));
                    return Ffi.TakeString(o);
                }, this);
            }
        }

        /// <summary>How long the store keeps the entry at <paramref name="now"/> (Unix s): the token's remaining acceptance window, 1..86400.</summary>
        public long TtlSeconds(long now)
        {
            lock (this) return Call(() => (long)Native.selo_ofb_pending_ttl_seconds(Safe, now), this);
        }

        /// <summary>
        /// Phase two with the store's answer: exactly "fresh" (accepted) or "replayed" (403); anything else — null,
        /// "OK", "true", an error text — is 503 <c>ofb.replay.store_failed</c>, whose body never holds the answer.
        /// The request is spent afterwards.
        /// </summary>
        public OfbDecision Finish(string answer)
        {
            lock (this)
            {
                return Call(() =>
                {
                    IntPtr v, rej, code;
                    Ffi.Check(Native.selo_ofb_request_finish(Safe, Utf8.Z(answer), out v, out rej, out code));
                    return OfbServer.Decision(v, rej, code);
                }, this);
            }
        }
    }

    /// <summary>Phase one's outcome: a <see cref="Pending"/> request for the replay store, or the <see cref="Refused"/> decision.</summary>
    public sealed class OfbCheck
    {
        internal OfbCheck(OfbPendingRequest pending, OfbDecision refused)
        {
            Pending = pending;
            Refused = refused;
        }

        public OfbPendingRequest Pending { get; }

        public OfbDecision Refused { get; }
    }

    /// <summary>The OFB resource-server role over the C ABI.</summary>
    public static class OfbServer
    {
        /// <summary>Checks a received request (method, content type, stages 1–6, replay in <paramref name="cache"/>).</summary>
        public static OfbDecision Verify(HttpRequest request, Ofb.Jwks jwks, string aud, string iss, string clientId, string profileJson,
            Ofb.JtiCache cache, long now)
        {
            IntPtr r = Ffi.NativeRequest(request);
            try
            {
                IntPtr v = IntPtr.Zero, rej = IntPtr.Zero, code = IntPtr.Zero;
                lock (cache)
                {
                    Handle.Call(() => Ffi.Check(Native.selo_ofb_server_verify(r, jwks.Safe, Utf8.Z(aud), Utf8.Z(iss), Utf8.Z(clientId),
                        Utf8.Z(profileJson ?? string.Empty), cache.Safe, now, out v, out rej, out code)), jwks, cache);
                }

                return Decision(v, rej, code);
            }
            finally
            {
                Native.selo_request_free(r);
            }
        }

        /// <summary>
        /// Phase one with a replay store of your own: method, content type, size, stages 1–6 — one verification.
        /// Then ask the store and call <see cref="OfbPendingRequest.Finish"/>; <see cref="OfbRequestVerifier"/> does both.
        /// </summary>
        public static OfbCheck CheckRequest(HttpRequest request, Ofb.Jwks jwks, string aud, string iss, string clientId, string profileJson, long now)
        {
            IntPtr r = Ffi.NativeRequest(request);
            try
            {
                OfbPendingHandle p = null;
                IntPtr rej = IntPtr.Zero, code = IntPtr.Zero;
                Handle.Call(() => Ffi.Check(Native.selo_ofb_request_check(r, jwks.Safe, Utf8.Z(aud), Utf8.Z(iss), Utf8.Z(clientId),
                    Utf8.Z(profileJson ?? string.Empty), now, out p, out rej, out code)), jwks);
                if (p != null && !p.IsInvalid)
                {
                    return new OfbCheck(new OfbPendingRequest(p), null);
                }

                p?.Dispose();
                return new OfbCheck(null, Decision(IntPtr.Zero, rej, code));
            }
            finally
            {
                Native.selo_request_free(r);
            }
        }

        /// <summary>The OFB error response for an <c>ofb.*</c> code and message, as the core builds it (status, JSON body).</summary>
        public static HttpResponse ErrorResponse(string code, string message)
        {
            IntPtr o;
            Ffi.Check(Native.selo_ofb_error_response(Utf8.Z(code), Utf8.Z(message ?? string.Empty), out o));
            return Ffi.TakeResponse(o);
        }

        internal static OfbDecision Decision(IntPtr verified, IntPtr rejection, IntPtr code)
        {
            string v = verified == IntPtr.Zero ? null : Ffi.TakeString(verified);
            HttpResponse rej = rejection == IntPtr.Zero ? null : Ffi.TakeResponse(rejection);
            string c = code == IntPtr.Zero ? null : Ffi.TakeString(code);
            return new OfbDecision(v, rej, c);
        }
    }

    /// <summary>
    /// Your replay store (Redis, a database): record <paramref name="key"/> for <paramref name="ttlSeconds"/> unless
    /// it is there, and answer exactly "fresh" (recorded now) or "replayed" (it was there). Both come from the core
    /// (<see cref="OfbPendingRequest.StoreKey"/>, <see cref="OfbPendingRequest.TtlSeconds"/>). StackExchange.Redis:
    /// <c>await db.StringSetAsync(key, "1", TimeSpan.FromSeconds(ttlSeconds), When.NotExists) ? "fresh" : "replayed"</c>.
    /// </summary>
    public delegate Task<string> OfbReplayStore(string key, long ttlSeconds, CancellationToken cancellationToken);

    /// <summary>
    /// The OFB resource-server helper with a replay store of your own and a fixed or remote JWK Set: one
    /// verification per request (<see cref="OfbServer.CheckRequest"/>, the store, <see cref="OfbPendingRequest.Finish"/>).
    /// The store must answer exactly "fresh" or "replayed"; anything else — null, another string, an exception —
    /// refuses the request with 503 <c>ofb.replay.store_failed</c> (fail closed), and the store's error text never
    /// reaches the response (<see cref="OnStoreError"/> sees exceptions). Every response body is the core's.
    /// </summary>
    public sealed class OfbRequestVerifier
    {
        public const string StoreFailed = "ofb.replay.store_failed";

        private readonly Ofb.Jwks jwks;
        private readonly OfbRemoteJwks remote;
        private readonly OfbReplayStore store;
        private readonly string profileJson;

        public OfbRequestVerifier(Ofb.Jwks jwks, OfbReplayStore store, string profileJson)
            : this(jwks, null, store, profileJson)
        {
            if (jwks == null)
            {
                throw new ArgumentNullException(nameof(jwks));
            }
        }

        public OfbRequestVerifier(OfbRemoteJwks remote, OfbReplayStore store, string profileJson)
            : this(null, remote, store, profileJson)
        {
            if (remote == null)
            {
                throw new ArgumentNullException(nameof(remote));
            }
        }

        private OfbRequestVerifier(Ofb.Jwks jwks, OfbRemoteJwks remote, OfbReplayStore store, string profileJson)
        {
            if (store == null)
            {
                throw new ArgumentNullException(nameof(store));
            }

            this.jwks = jwks;
            this.remote = remote;
            this.store = store;
            this.profileJson = profileJson ?? string.Empty;
        }

        /// <summary>The body limit (default 1 MiB): 413 beyond.</summary>
        public long MaxBodyBytes { get; set; } = BodyLimit.DefaultMaxBytes;

        /// <summary>The replay key prefix (null: the core's <c>selo:ofb:jti</c>).</summary>
        public string StoreKeyPrefix { get; set; }

        /// <summary>Sees the store's own failure (logging); never sent to the client.</summary>
        public Action<Exception> OnStoreError { get; set; }

        /// <summary>Reads the body asynchronously (at most <see cref="MaxBodyBytes"/>, 413 beyond) and verifies it.</summary>
        public async Task<OfbDecision> VerifyAsync(string method, string contentType, Stream body, long declaredLength, string aud, string iss,
            string clientId, long now, CancellationToken cancellationToken = default(CancellationToken))
        {
            byte[] bytes;
            try
            {
                bytes = await BodyLimit.ReadAsync(body, declaredLength, MaxBodyBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (BodyLimit.TooLargeException e)
            {
                return new OfbDecision(null, BodyLimit.TooLargeResponse(MaxBodyBytes), e.Code);
            }

            var hs = new List<KeyValuePair<string, string>>();
            if (contentType != null)
            {
                hs.Add(new KeyValuePair<string, string>("content-type", contentType));
            }

            return await VerifyAsync(new HttpRequest(method, aud, hs, bytes), aud, iss, clientId, now, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The decision for a received request.</summary>
        public async Task<OfbDecision> VerifyAsync(HttpRequest request, string aud, string iss, string clientId, long now,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            if (request.Body.LongLength > MaxBodyBytes)
            {
                return new OfbDecision(null, BodyLimit.TooLargeResponse(MaxBodyBytes), "http.body_too_large");
            }

            Ofb.Jwks set = jwks;
            if (remote != null)
            {
                try
                {
                    set = await remote.JwksForTokenAsync(request.Body, cancellationToken).ConfigureAwait(false);
                }
                catch (SeloException e) when (e.Code.StartsWith("ofb.", StringComparison.Ordinal))
                {
                    // ofb.jwks.unavailable (503): the core's response.
                    return new OfbDecision(null, OfbServer.ErrorResponse(e.Code, e.Detail), e.Code);
                }
            }

            try
            {
                var check = OfbServer.CheckRequest(request, set, aud, iss, clientId, profileJson, now);
                if (check.Pending == null)
                {
                    return check.Refused;
                }

                using (var pending = check.Pending)
                {
                    string answer;
                    try
                    {
                        var t = store(pending.StoreKey(StoreKeyPrefix), pending.TtlSeconds(now), cancellationToken);
                        answer = t == null ? null : await t.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e)
                    {
                        OnStoreError?.Invoke(e);
                        answer = null;
                    }

                    // The core decides: "fresh", "replayed", or a store failure (its text never in the body).
                    return pending.Finish(answer);
                }
            }
            finally
            {
                if (remote != null)
                {
                    set.Dispose();
                }
            }
        }
    }
}
