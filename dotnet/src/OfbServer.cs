namespace Selo
{
    using System;
    using System.Collections.Generic;
    using System.Globalization;
    using System.IO;
    using System.Linq;
    using System.Net.Http;
    using System.Runtime.InteropServices;
    using System.Text;
    using System.Threading;
    using System.Threading.Tasks;

    internal static class NativeOfbServer
    {
        [DllImport("selo")]
        internal static extern int selo_ofb_server_verify(IntPtr request, JwksHandle jwks, byte[] aud, byte[] iss, byte[] clientId,
            byte[] profileJson, JtiCacheHandle cache, long now, out IntPtr verifiedJson, out IntPtr rejection, out IntPtr errorCode);
    }

    /// <summary>The resource server's decision: the verified token JSON, or the response to send and its code.</summary>
    public sealed class OfbDecision
    {
        public OfbDecision(string verifiedJson, HttpResponse rejection, string errorCode)
        {
            VerifiedJson = verifiedJson;
            Rejection = rejection;
            ErrorCode = errorCode;
        }

        public string VerifiedJson { get; }

        public HttpResponse Rejection { get; }

        public string ErrorCode { get; }

        public bool Accepted => VerifiedJson != null;
    }

    /// <summary>Request body limits of the server helpers (default 1 MiB): 413 beyond, the rest unread.</summary>
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
        /// Reads <paramref name="body"/>: a <paramref name="declaredLength"/> (−1 unknown) over the limit is refused
        /// unread; a longer stream stops being read at <paramref name="maxBytes"/> + 1.
        /// </summary>
        public static byte[] Read(Stream body, long declaredLength, long maxBytes)
        {
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
                int n = body.Read(buf, 0, want);
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

        /// <summary>The 413 response (JSON error body, connection closed).</summary>
        public static HttpResponse TooLargeResponse(long maxBytes)
        {
            var body = "{\"errors\":[{\"code\":\"PAYLOAD_TOO_LARGE\",\"title\":\"Payload too large\",\"detail\":\"http.body_too_large: the request body is over the limit of "
                + maxBytes + " bytes\"}]}";
            return new HttpResponse(413, new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("content-type", "application/json"),
                new KeyValuePair<string, string>("connection", "close"),
            }, Encoding.UTF8.GetBytes(body));
        }

        /// <summary>BMP confirmation from a stream: over <paramref name="maxBytes"/> → 413 unread.</summary>
        public static HttpResponse Confirm(this BmpSigner signer, IList<KeyValuePair<string, string>> headers, Stream body, long declaredLength,
            Func<string, byte[]> lookup, out string difference, long maxBytes = DefaultMaxBytes)
        {
            byte[] bytes;
            try
            {
                bytes = Read(body, declaredLength, maxBytes);
            }
            catch (TooLargeException)
            {
                difference = null;
                return TooLargeResponse(maxBytes);
            }

            return signer.Confirm(headers, bytes, lookup, out difference);
        }
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
                    Handle.Call(() => Ffi.Check(NativeOfbServer.selo_ofb_server_verify(r, jwks.Safe, Utf8.Z(aud), Utf8.Z(iss), Utf8.Z(clientId),
                        Utf8.Z(profileJson ?? string.Empty), cache.Safe, now, out v, out rej, out code)), jwks, cache);
                }

                string verified = v == IntPtr.Zero ? null : Ffi.TakeString(v);
                HttpResponse rejection = rej == IntPtr.Zero ? null : Ffi.TakeResponse(rej);
                string errorCode = code == IntPtr.Zero ? null : Ffi.TakeString(code);
                return new OfbDecision(verified, rejection, errorCode);
            }
            finally
            {
                Native.selo_request_free(r);
            }
        }
    }

    /// <summary>
    /// The OFB resource-server helper with a replay store of your own (Redis, a database) and a fixed or
    /// remote JWK Set. The store must answer exactly "fresh" or "replayed"; anything else — null, another
    /// string, an exception — refuses the request with 503 <c>ofb.replay.store_failed</c> (fail closed), and
    /// the store's error text never reaches the response (<see cref="OnStoreError"/> sees it). With
    /// StackExchange.Redis: <c>await db.StringSetAsync(key, "1", TimeSpan.FromDays(1), When.NotExists) ? "fresh" : "replayed"</c>
    /// (SET NX: false/nil exactly when the key existed, a replay).
    /// </summary>
    public sealed class OfbRequestVerifier
    {
        public const string StoreFailed = "ofb.replay.store_failed";

        private readonly Ofb.Jwks jwks;
        private readonly OfbRemoteJwks remote;
        private readonly Func<string, string, long, Task<string>> store;
        private readonly string profileJson;

        public OfbRequestVerifier(Ofb.Jwks jwks, Func<string, string, long, Task<string>> store, string profileJson)
            : this(jwks, null, store, profileJson)
        {
        }

        public OfbRequestVerifier(OfbRemoteJwks remote, Func<string, string, long, Task<string>> store, string profileJson)
            : this(null, remote, store, profileJson)
        {
        }

        private OfbRequestVerifier(Ofb.Jwks jwks, OfbRemoteJwks remote, Func<string, string, long, Task<string>> store, string profileJson)
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

        /// <summary>Sees the store's own failure (logging); never sent to the client.</summary>
        public Action<Exception> OnStoreError { get; set; }

        /// <summary>Reads the body (at most <see cref="MaxBodyBytes"/>, 413 beyond) and verifies it.</summary>
        public Task<OfbDecision> VerifyAsync(string method, string contentType, Stream body, long declaredLength, string aud, string iss, string clientId, long now)
        {
            byte[] bytes;
            try
            {
                bytes = BodyLimit.Read(body, declaredLength, MaxBodyBytes);
            }
            catch (BodyLimit.TooLargeException e)
            {
                return Task.FromResult(new OfbDecision(null, BodyLimit.TooLargeResponse(MaxBodyBytes), e.Code));
            }

            var hs = new List<KeyValuePair<string, string>>();
            if (contentType != null)
            {
                hs.Add(new KeyValuePair<string, string>("content-type", contentType));
            }

            return VerifyAsync(new HttpRequest(method, aud, hs, bytes), aud, iss, clientId, now);
        }

        /// <summary>The decision for a received request.</summary>
        public async Task<OfbDecision> VerifyAsync(HttpRequest request, string aud, string iss, string clientId, long now)
        {
            if (request.Body != null && request.Body.LongLength > MaxBodyBytes)
            {
                return new OfbDecision(null, BodyLimit.TooLargeResponse(MaxBodyBytes), "http.body_too_large");
            }

            var set = remote != null ? await remote.ForTokenAsync(Encoding.UTF8.GetString(request.Body ?? new byte[0])).ConfigureAwait(false) : jwks;
            using (var scratch = Ofb.JtiCache.Create(1, false))
            {
                // Stages 1–6 (an empty cache always answers fresh)…
                var first = OfbServer.Verify(request, set, aud, iss, clientId, profileJson, scratch, now);
                if (!first.Accepted)
                {
                    return first;
                }

                string answer;
                try
                {
                    var t = store(clientId, JtiOf(first.VerifiedJson), now);
                    answer = t == null ? null : await t.ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    OnStoreError?.Invoke(e);
                    return Failed("the replay store failed");
                }

                if (answer == "fresh")
                {
                    return first;
                }

                if (answer == "replayed")
                {
                    // …and the core's own replay refusal: the scratch cache now holds this jti.
                    return OfbServer.Verify(request, set, aud, iss, clientId, profileJson, scratch, now);
                }

                // Never the answer's text: a store may put host:port in it.
                var what = answer == null ? "null" : "another string";
                OnStoreError?.Invoke(new InvalidOperationException("replay store answered " + what));
                return Failed("the replay store answered " + what + ", not \"fresh\" or \"replayed\"");
            }
        }

        private static string JtiOf(string verifiedJson)
        {
            var v = MiniJson.Parse(verifiedJson) as Dictionary<string, object>;
            object claims;
            if (v != null && v.TryGetValue("claims", out claims) && claims is Dictionary<string, object>)
            {
                object jti;
                if (((Dictionary<string, object>)claims).TryGetValue("jti", out jti) && jti is string)
                {
                    return (string)jti;
                }
            }

            throw new InvalidOperationException("verified token without claims.jti");
        }

        private static OfbDecision Failed(string message)
        {
            var detail = StoreFailed + ": " + message + "; replay cannot be ruled out";
            var body = "{\"errors\":[{\"code\":\"REPLAY_STORE_UNAVAILABLE\",\"title\":\"Replay protection unavailable\",\"detail\":\""
                + detail.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"}]}";
            return new OfbDecision(null, new HttpResponse(503, new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("content-type", "application/json"),
            }, Encoding.UTF8.GetBytes(body)), StoreFailed);
        }
    }

    /// <summary>
    /// A remote JWK Set fetched like jose's createRemoteJWKSet, over HttpClient: each fetch times out
    /// (default 5 s: <see cref="FetchException"/> with Kind "timeout"); the set is reused for MaxAge (default
    /// 10 min); a token whose kid is not in the set refetches at most once per Cooldown (default 30 s);
    /// concurrent misses share one fetch; a key that does not parse is skipped and reported
    /// (<see cref="Skipped"/>, OnSkippedKey). The clock (milliseconds) is injectable.
    /// </summary>
    public sealed class OfbRemoteJwks
    {
        /// <summary>The set could not be fetched: code "ofb.jwks.fetch" (driver-level, in <see cref="ErrorCodes.Host"/>); Kind says why.</summary>
        public sealed class FetchException : SeloException
        {
            public FetchException(string kind, string message, Exception inner)
                : base("ofb.jwks.fetch", message, 0)
            {
                Kind = kind;
                Inner = inner;
            }

            /// <summary>"timeout", "network", "status" or "malformed".</summary>
            public string Kind { get; }

            public Exception Inner { get; }
        }

        /// <summary>A key of the fetched set that did not parse.</summary>
        public sealed class SkippedKey
        {
            public SkippedKey(int index, string kid, string error)
            {
                Index = index;
                Kid = kid;
                Error = error;
            }

            public int Index { get; }

            public string Kid { get; }

            public string Error { get; }
        }

        private readonly Uri uri;
        private readonly HttpClient http;
        private readonly Func<long> clock;
        private readonly object gate = new object();
        private Task pending;
        private Ofb.Jwks set;
        private HashSet<string> kids = new HashSet<string>();
        private long fetchedAt = long.MinValue / 2;
        private long attemptAt = long.MinValue / 2;
        private int fetches;

        public OfbRemoteJwks(string url, HttpClient http = null, Func<long> clockMillis = null)
        {
            uri = new Uri(url);
            this.http = http ?? new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            clock = clockMillis ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }

        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

        public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);

        public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(30);

        public Action<SkippedKey> OnSkippedKey { get; set; }

        /// <summary>Keys of the last fetched set that did not parse.</summary>
        public IReadOnlyList<SkippedKey> Skipped { get; private set; } = new SkippedKey[0];

        /// <summary>Fetches started so far.</summary>
        public int Fetches => Volatile.Read(ref fetches);

        private bool Need(string kid)
        {
            long now = clock();
            if (set == null || now - fetchedAt >= (long)MaxAge.TotalMilliseconds)
            {
                return true;
            }

            return kid != null && !kids.Contains(kid) && now - attemptAt >= (long)Cooldown.TotalMilliseconds;
        }

        /// <summary>
        /// The set, fetched when there is none or it is older than MaxAge, or when <paramref name="kid"/> is
        /// unknown and the cooldown has passed. Concurrent callers share one fetch.
        /// </summary>
        public async Task<Ofb.Jwks> GetAsync(string kid)
        {
            Task t = null;
            lock (gate)
            {
                if (pending != null)
                {
                    t = pending;
                }
                else if (Need(kid))
                {
                    attemptAt = clock();
                    Interlocked.Increment(ref fetches);
                    t = pending = FetchAsync();
                }
            }

            if (t != null)
            {
                try
                {
                    await t.ConfigureAwait(false);
                }
                finally
                {
                    lock (gate)
                    {
                        if (pending == t)
                        {
                            pending = null;
                        }
                    }
                }
            }

            return set;
        }

        /// <summary>The set for a compact JWS (by its header's kid).</summary>
        public Task<Ofb.Jwks> ForTokenAsync(string token) => GetAsync(KidOf(token));

        private async Task FetchAsync()
        {
            await Task.Yield(); // callers register as waiters before the request starts
            HttpResponseMessage r;
            using (var cts = new CancellationTokenSource(Timeout))
            {
                try
                {
                    var req = new HttpRequestMessage(HttpMethod.Get, uri);
                    req.Headers.Add("accept", "application/json");
                    r = await http.SendAsync(req, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (cts.IsCancellationRequested)
                {
                    throw new FetchException("timeout", "JWKS " + uri + ": no answer within " + (long)Timeout.TotalMilliseconds + " ms", e);
                }
                catch (HttpRequestException e)
                {
                    throw new FetchException("network", "JWKS " + uri + ": " + e.Message, e);
                }

                if ((int)r.StatusCode != 200)
                {
                    throw new FetchException("status", "JWKS " + uri + " answered HTTP " + (int)r.StatusCode, null);
                }

                string text;
                try
                {
                    text = await r.Content.ReadAsStringAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    throw new FetchException(cts.IsCancellationRequested ? "timeout" : "network", "JWKS " + uri + ": " + e.Message, e);
                }

                Load(text);
            }
        }

        private void Load(string text)
        {
            List<string> keys;
            try
            {
                keys = MiniJson.RawArrayMember(text, "keys");
            }
            catch (FormatException e)
            {
                throw new FetchException("malformed", "JWKS " + uri + ": not JSON (" + e.Message + ")", e);
            }

            if (keys == null)
            {
                throw new FetchException("malformed", "JWKS " + uri + ": no \"keys\" array", null);
            }

            var good = new List<string>();
            var goodKids = new HashSet<string>();
            var bad = new List<SkippedKey>();
            for (int i = 0; i < keys.Count; i++)
            {
                string kid = null;
                try
                {
                    var m = MiniJson.Parse(keys[i]) as Dictionary<string, object>;
                    object k;
                    if (m != null && m.TryGetValue("kid", out k))
                    {
                        kid = k as string;
                    }
                }
                catch (FormatException)
                {
                }

                try
                {
                    using (Ofb.Jwks.Parse("{\"keys\":[" + keys[i] + "]}"))
                    {
                    }

                    good.Add(keys[i]);
                    if (kid != null)
                    {
                        goodKids.Add(kid);
                    }
                }
                catch (SeloException e)
                {
                    bad.Add(new SkippedKey(i, kid, e.Message));
                }
            }

            set = Ofb.Jwks.Parse("{\"keys\":[" + string.Join(",", good) + "]}");
            kids = goodKids;
            Skipped = bad;
            fetchedAt = clock();
            if (OnSkippedKey != null)
            {
                foreach (var s in bad)
                {
                    OnSkippedKey(s);
                }
            }
        }

        /// <summary>The kid of a compact JWS header (null when unreadable); nothing is verified.</summary>
        public static string KidOf(string token)
        {
            try
            {
                var head = token.Trim().Split('.')[0].Replace('-', '+').Replace('_', '/');
                head += new string('=', (4 - head.Length % 4) % 4);
                var m = MiniJson.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(head))) as Dictionary<string, object>;
                object k;
                return m != null && m.TryGetValue("kid", out k) ? k as string : null;
            }
            catch (Exception)
            {
                return null;
            }
        }
    }

    /// <summary>A small JSON reader for the wrapper's own needs (objects as Dictionary, arrays as List).</summary>
    internal sealed class MiniJson
    {
        private readonly string s;
        private int i;

        private MiniJson(string s)
        {
            this.s = s;
        }

        internal static object Parse(string text)
        {
            var p = new MiniJson(text);
            p.Ws();
            var v = p.Value();
            p.Ws();
            if (p.i != text.Length)
            {
                throw new FormatException("JSON: trailing text at " + p.i);
            }

            return v;
        }

        /// <summary>The elements of the array member <paramref name="name"/> of a top-level object, as raw texts (null if absent).</summary>
        internal static List<string> RawArrayMember(string text, string name)
        {
            var p = new MiniJson(text);
            p.Ws();
            p.Expect('{');
            p.Ws();
            List<string> found = null;
            if (p.Peek() == '}')
            {
                return null;
            }

            while (true)
            {
                p.Ws();
                var key = p.Str();
                p.Ws();
                p.Expect(':');
                p.Ws();
                if (key == name && p.Peek() == '[')
                {
                    p.i++;
                    found = new List<string>();
                    p.Ws();
                    if (p.Peek() == ']')
                    {
                        p.i++;
                    }
                    else
                    {
                        while (true)
                        {
                            p.Ws();
                            int start = p.i;
                            p.Value();
                            found.Add(text.Substring(start, p.i - start));
                            p.Ws();
                            char c = p.Next();
                            if (c == ']')
                            {
                                break;
                            }

                            if (c != ',')
                            {
                                throw new FormatException("JSON: expected , or ] at " + (p.i - 1));
                            }
                        }
                    }
                }
                else
                {
                    p.Value();
                }

                p.Ws();
                char d = p.Next();
                if (d == '}')
                {
                    return found;
                }

                if (d != ',')
                {
                    throw new FormatException("JSON: expected , or } at " + (p.i - 1));
                }
            }
        }

        private object Value()
        {
            char c = Peek();
            switch (c)
            {
                case '{':
                    return Obj();
                case '[':
                    return Arr();
                case '"':
                    return Str();
                case 't':
                    return Lit("true", true);
                case 'f':
                    return Lit("false", false);
                case 'n':
                    return Lit("null", null);
                default:
                    return Num();
            }
        }

        private Dictionary<string, object> Obj()
        {
            Expect('{');
            var m = new Dictionary<string, object>();
            Ws();
            if (Peek() == '}')
            {
                i++;
                return m;
            }

            while (true)
            {
                Ws();
                var k = Str();
                Ws();
                Expect(':');
                Ws();
                m[k] = Value();
                Ws();
                char c = Next();
                if (c == '}')
                {
                    return m;
                }

                if (c != ',')
                {
                    throw new FormatException("JSON: expected , or } at " + (i - 1));
                }
            }
        }

        private List<object> Arr()
        {
            Expect('[');
            var l = new List<object>();
            Ws();
            if (Peek() == ']')
            {
                i++;
                return l;
            }

            while (true)
            {
                Ws();
                l.Add(Value());
                Ws();
                char c = Next();
                if (c == ']')
                {
                    return l;
                }

                if (c != ',')
                {
                    throw new FormatException("JSON: expected , or ] at " + (i - 1));
                }
            }
        }

        private string Str()
        {
            Expect('"');
            var b = new StringBuilder();
            while (true)
            {
                char c = Next();
                if (c == '"')
                {
                    return b.ToString();
                }

                if (c != '\\')
                {
                    b.Append(c);
                    continue;
                }

                char e = Next();
                switch (e)
                {
                    case '"':
                    case '\\':
                    case '/':
                        b.Append(e);
                        break;
                    case 'b':
                        b.Append('\b');
                        break;
                    case 'f':
                        b.Append('\f');
                        break;
                    case 'n':
                        b.Append('\n');
                        break;
                    case 'r':
                        b.Append('\r');
                        break;
                    case 't':
                        b.Append('\t');
                        break;
                    case 'u':
                        if (i + 4 > s.Length)
                        {
                            throw new FormatException("JSON: short \\u escape");
                        }

                        b.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default:
                        throw new FormatException("JSON: bad escape at " + (i - 1));
                }
            }
        }

        private object Num()
        {
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0)
            {
                i++;
            }

            if (start == i)
            {
                throw new FormatException("JSON: unexpected character at " + i);
            }

            return double.Parse(s.Substring(start, i - start), CultureInfo.InvariantCulture);
        }

        private object Lit(string word, object v)
        {
            if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0)
            {
                throw new FormatException("JSON: unexpected text at " + i);
            }

            i += word.Length;
            return v;
        }

        private void Ws()
        {
            while (i < s.Length && " \t\r\n".IndexOf(s[i]) >= 0)
            {
                i++;
            }
        }

        private char Peek()
        {
            if (i >= s.Length)
            {
                throw new FormatException("JSON: unexpected end");
            }

            return s[i];
        }

        private char Next()
        {
            char c = Peek();
            i++;
            return c;
        }

        private void Expect(char c)
        {
            if (Next() != c)
            {
                throw new FormatException("JSON: expected " + c + " at " + (i - 1));
            }
        }
    }
}
