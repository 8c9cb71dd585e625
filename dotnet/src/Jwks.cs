namespace Selo
{
    using System;
    using System.Collections.Generic;
    using System.IO;
    using System.Net.Http;
    using System.Threading;
    using System.Threading.Tasks;

    /// <summary>What to do with the token about to be verified (see <see cref="JwksCache.Decide"/>).</summary>
    public enum JwksDecisionKind
    {
        /// <summary>Verify now with <see cref="JwksCache.Jwks"/>; with a ticket, also start that fetch in the background (never wait for it).</summary>
        Use = 0,

        /// <summary>Perform fetch <see cref="JwksDecision.Ticket"/> now, hand its result back, then decide again.</summary>
        Fetch = 1,

        /// <summary>A fetch is in flight: wait for it, at most until <see cref="JwksDecision.UntilMs"/>, then decide again.</summary>
        Wait = 2,
    }

    /// <summary>How a fetch ended without a complete response (SeloFetchFailure).</summary>
    public enum JwksFetchFailure
    {
        /// <summary>The one deadline of the fetch passed (connect, headers or body).</summary>
        Timeout = 0,

        /// <summary>The connection failed or broke.</summary>
        Network = 1,

        /// <summary>The body went past the byte limit: reading stopped.</summary>
        TooLarge = 2,

        /// <summary>The HTTP client or TLS refused it (certificate, protocol).</summary>
        Refused = 3,
    }

    /// <summary>A decision of the core's remote-JWKS policy.</summary>
    public struct JwksDecision
    {
        public JwksDecision(JwksDecisionKind kind, ulong ticket, long untilMs)
        {
            Kind = kind;
            Ticket = ticket;
            UntilMs = untilMs;
        }

        public JwksDecisionKind Kind { get; }

        /// <summary>The fetch to perform (Fetch, or a background refresh with Use); 0 = none.</summary>
        public ulong Ticket { get; }

        /// <summary>Wait: when the fetch in flight is given up (ms, the caller's clock).</summary>
        public long UntilMs { get; }

        /// <summary>A Use that starts a background refresh.</summary>
        public bool Refresh => Kind == JwksDecisionKind.Use && Ticket != 0;

        public override string ToString() => Kind + (Ticket != 0 ? " #" + Ticket : string.Empty) + (Kind == JwksDecisionKind.Wait ? " until " + UntilMs : string.Empty);
    }

    /// <summary>Counters of a <see cref="JwksCache"/>.</summary>
    public sealed class JwksStats
    {
        public JwksStats(long fetches, long failures, long refused, long skipped)
        {
            Fetches = fetches;
            Failures = failures;
            Refused = refused;
            Skipped = skipped;
        }

        /// <summary>Fetches started.</summary>
        public long Fetches { get; }

        /// <summary>Fetches that failed (including abandoned ones).</summary>
        public long Failures { get; }

        /// <summary>Decisions refused with <c>ofb.jwks.unavailable</c>.</summary>
        public long Refused { get; }

        /// <summary>Keys of the current set that did not parse (skipped).</summary>
        public long Skipped { get; }

        public override string ToString() => "fetches " + Fetches + ", failures " + Failures + ", refused " + Refused + ", skipped " + Skipped;
    }

    /// <summary>
    /// The core's remote JWK Set policy (SPEC §3.3a), sans-I/O: <see cref="Decide"/> before verifying a token,
    /// perform the fetches it names and hand back <see cref="Fetched"/> or <see cref="Failed"/>. Every
    /// decision — max age, cooldown for unknown kids, single flight, backoff, stale-if-error, byte limit,
    /// what counts as a JWK Set — is the core's. <see cref="OfbRemoteJwks"/> does the I/O over HttpClient.
    /// Calls are serialised (a lock per object; never held during a fetch).
    /// </summary>
    public sealed class JwksCache : Handle
    {
        internal readonly JwksCacheHandle Safe;

        private JwksCache(JwksCacheHandle h) : base(h)
        {
            Safe = h;
        }

        /// <summary>
        /// A cache for the set at <paramref name="url"/> (https, or http to a loopback host unless the policy says
        /// allow_http). <paramref name="policyJson"/>: snake_case, ms (max_age_ms, cooldown_ms, timeout_ms,
        /// backoff_initial_ms, backoff_max_ms, stale_grace_ms, max_bytes, allow_http); null or "" = defaults.
        /// A refused URL or policy is <c>ofb.jwks.url</c>.
        /// </summary>
        public static JwksCache Create(string url, string policyJson)
        {
            JwksCacheHandle o;
            Ffi.Check(Native.selo_jwks_cache_new(Utf8.Z(url), Utf8.Z(policyJson ?? string.Empty), out o));
            return new JwksCache(o);
        }

        /// <summary>
        /// The decision for compact JWS <paramref name="token"/> (its header's kid read by the core; null: no kid) at
        /// <paramref name="nowMs"/>. Throws <c>ofb.jwks.unavailable</c> (HTTP 503) when no usable set exists and no
        /// fetch may start now.
        /// </summary>
        public JwksDecision Decide(long nowMs, string token) => Decide(nowMs, Utf8.Z(token));

        internal JwksDecision Decide(long nowMs, byte[] tokenZ)
        {
            lock (this)
            {
                return Call(() =>
                {
                    Native.SeloJwksDecision d;
                    Ffi.Check(Native.selo_jwks_cache_decide(Safe, nowMs, tokenZ, out d));
                    return new JwksDecision((JwksDecisionKind)d.Kind, d.Ticket, d.UntilMs);
                }, this);
            }
        }

        /// <summary>
        /// Fetch <paramref name="ticket"/> answered <paramref name="status"/> with <paramref name="body"/> (at most
        /// <see cref="MaxBytes"/>). Throws <c>ofb.jwks.fetch</c> when it was not a JWK Set (a status other than 200,
        /// a redirect, not JSON…) — recorded by the core with the backoff it starts. Keys that do not parse are
        /// skipped (<see cref="Skipped"/>).
        /// </summary>
        public void Fetched(ulong ticket, long nowMs, int status, byte[] body)
        {
            lock (this)
            {
                Call(() => Ffi.Check(Native.selo_jwks_cache_fetched(Safe, ticket, nowMs, (ushort)Math.Max(0, Math.Min(status, 65535)), body, Ffi.Len(body))), this);
            }
        }

        /// <summary>Fetch <paramref name="ticket"/> ended without a complete response; returns the error the core recorded (<c>ofb.jwks.fetch</c>).</summary>
        public SeloException Failed(ulong ticket, long nowMs, JwksFetchFailure failure, string detail)
        {
            lock (this)
            {
                return Call(() =>
                {
                    int status = Native.selo_jwks_cache_failed(Safe, ticket, nowMs, (uint)failure, Utf8.Z(detail));
                    return status == 0 ? new SeloException("ofb.jwks.fetch", "fetch failed", 13) : Ffi.Error(status);
                }, this);
            }
        }

        /// <summary>The set to verify with after a Use decision (a new handle sharing the cache's keys: dispose it); <c>ofb.jwks.unavailable</c> when there is none.</summary>
        public Ofb.Jwks Jwks()
        {
            lock (this)
            {
                return Call(() =>
                {
                    JwksHandle o;
                    Ffi.Check(Native.selo_jwks_cache_jwks(Safe, out o));
                    return new Ofb.Jwks(o);
                }, this);
            }
        }

        /// <summary>The URL every fetch GETs.</summary>
        public string Url
        {
            get { lock (this) return Call(() => Utf8.Read(Native.selo_jwks_cache_url(Safe)), this); }
        }

        /// <summary>The one deadline of a whole fetch (ms).</summary>
        public long TimeoutMs
        {
            get { lock (this) return Call(() => (long)Native.selo_jwks_cache_timeout_ms(Safe), this); }
        }

        /// <summary>The most bytes of a fetch's body to read.</summary>
        public long MaxBytes
        {
            get { lock (this) return Call(() => (long)Native.selo_jwks_cache_max_bytes(Safe).ToUInt64(), this); }
        }

        /// <summary>The counters (fetches, failures, refused decisions, skipped keys).</summary>
        public JwksStats Stats
        {
            get
            {
                lock (this)
                {
                    return Call(() =>
                    {
                        ulong f, fl, r, s;
                        Ffi.Check(Native.selo_jwks_cache_stats(Safe, out f, out fl, out r, out s));
                        return new JwksStats((long)f, (long)fl, (long)r, (long)s);
                    }, this);
                }
            }
        }

        /// <summary>Why each skipped key of the current set was skipped (its index, kid, code and message, as the core words it).</summary>
        public IReadOnlyList<string> Skipped()
        {
            lock (this)
            {
                return Call(() =>
                {
                    ulong f, fl, r, n;
                    Ffi.Check(Native.selo_jwks_cache_stats(Safe, out f, out fl, out r, out n));
                    var l = new List<string>();
                    for (ulong i = 0; i < n; i++)
                    {
                        IntPtr o;
                        Ffi.Check(Native.selo_jwks_cache_skipped_at(Safe, new UIntPtr(i), out o));
                        l.Add(Ffi.TakeString(o));
                    }

                    return (IReadOnlyList<string>)l.AsReadOnly();
                }, this);
            }
        }
    }

    /// <summary>A fetch of a remote JWK Set that did not give a set: how it ended and the core's error.</summary>
    public sealed class JwksFetchFailed
    {
        public JwksFetchFailed(string kind, SeloException error)
        {
            Kind = kind;
            Error = error;
        }

        /// <summary>"timeout", "network", "too-large", "refused" (no complete response), or "rejected" (the core refused the response: status, redirect, not a JWK Set).</summary>
        public string Kind { get; }

        /// <summary>The core's <c>ofb.jwks.fetch</c> error (its message is for your log).</summary>
        public SeloException Error { get; }

        public override string ToString() => Kind + ": " + Error.Message;
    }

    /// <summary>
    /// A remote JWK Set: the core's <see cref="JwksCache"/> policy with HttpClient doing the I/O, async all the way.
    /// Redirects are not followed; the body is read incrementally and reading stops past the policy's max_bytes
    /// ("too-large"); one deadline covers the whole fetch, connect to last byte ("timeout"). One fetch is in flight at
    /// a time and the requests that must wait for it share it (at most until the core's deadline); a request whose
    /// kid is known never waits (an old set is refreshed in the background). No lock is held across an await.
    /// The clock (Unix ms) is injectable.
    /// </summary>
    public sealed class OfbRemoteJwks : IDisposable
    {
        private readonly object gate = new object();
        private readonly HttpClient http;
        private readonly Func<long> clock;
        private readonly Uri uri;
        private Task flight;
        private JwksFetchFailed lastFailure;

        /// <param name="url">The JWK Set URL (https, or http to loopback unless the policy allows http).</param>
        /// <param name="policyJson">The core's JwksPolicy JSON (null = defaults: max age 10 min, cooldown 30 s, timeout 5 s, 512 KiB…).</param>
        /// <param name="handler">
        /// The HTTP handler (proxies, certificates); an <see cref="HttpClientHandler"/> gets AllowAutoRedirect = false.
        /// Any other handler must not follow redirects itself. Null: a new HttpClientHandler.
        /// </param>
        /// <param name="clockMillis">Unix milliseconds (null: the system clock).</param>
        public OfbRemoteJwks(string url, string policyJson = null, HttpMessageHandler handler = null, Func<long> clockMillis = null)
        {
            Cache = JwksCache.Create(url, policyJson);
            uri = new Uri(url);
            var h = handler ?? new HttpClientHandler();
            var hch = h as HttpClientHandler;
            if (hch != null)
            {
                hch.AllowAutoRedirect = false;
            }

            http = new HttpClient(h, handler == null) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            clock = clockMillis ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }

        /// <summary>The core's policy object (counters, skipped keys, the table-driven API).</summary>
        public JwksCache Cache { get; }

        /// <summary>Fetches started, failed, refused decisions, skipped keys.</summary>
        public JwksStats Stats => Cache.Stats;

        /// <summary>Keys of the current set that did not parse (the others are used).</summary>
        public IReadOnlyList<string> Skipped => Cache.Skipped();

        /// <summary>The last fetch that gave no set (null after a good one).</summary>
        public JwksFetchFailed LastFailure
        {
            get { lock (gate) return lastFailure; }
        }

        /// <summary>Sees each fetch that gave no set (logging; keep it short: requests waiting for the fetch wait for it too).</summary>
        public Action<JwksFetchFailed> OnFetchFailed { get; set; }

        /// <summary>Sees the skipped keys after a good fetch that skipped some.</summary>
        public Action<IReadOnlyList<string>> OnSkippedKeys { get; set; }

        /// <summary>The fetch in flight (a completed task when there is none): tests and graceful shutdowns await it.</summary>
        public Task InFlight
        {
            get { lock (gate) return flight ?? Task.FromResult(true); }
        }

        /// <summary>
        /// The set to verify compact JWS <paramref name="token"/> with (dispose it after verifying). Throws
        /// <see cref="SeloException"/> <c>ofb.jwks.unavailable</c> (HTTP 503) when there is no usable set.
        /// </summary>
        public Task<Ofb.Jwks> JwksForTokenAsync(string token, CancellationToken cancellationToken = default(CancellationToken)) =>
            JwksForTokenZAsync(Utf8.Z(token ?? string.Empty), cancellationToken);

        /// <summary>As <see cref="JwksForTokenAsync(string, CancellationToken)"/> for a request body holding the token.</summary>
        public Task<Ofb.Jwks> JwksForTokenAsync(byte[] tokenBytes, CancellationToken cancellationToken = default(CancellationToken))
        {
            var z = new byte[(tokenBytes == null ? 0 : tokenBytes.Length) + 1];
            if (tokenBytes != null)
            {
                Buffer.BlockCopy(tokenBytes, 0, z, 0, tokenBytes.Length);
            }

            return JwksForTokenZAsync(z, cancellationToken);
        }

        private async Task<Ofb.Jwks> JwksForTokenZAsync(byte[] tokenZ, CancellationToken cancellationToken)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Task wait;
                int delayMs;
                lock (gate)
                {
                    long now = clock();
                    JwksDecision d;
                    try
                    {
                        d = Cache.Decide(now, tokenZ);
                    }
                    catch (SeloException e) when (e.Status == 2 && tokenZ != null)
                    {
                        // Not UTF-8: no readable kid (verification refuses the token itself).
                        tokenZ = null;
                        d = Cache.Decide(now, tokenZ);
                    }

                    switch (d.Kind)
                    {
                        case JwksDecisionKind.Use:
                            if (d.Ticket != 0)
                            {
                                _ = StartLocked(d.Ticket); // a background refresh: this request never waits for it
                            }

                            return Cache.Jwks();
                        case JwksDecisionKind.Fetch:
                            wait = StartLocked(d.Ticket);
                            delayMs = Timeout.Infinite; // the fetch has its own deadline
                            break;
                        default:
                            // The fetch in flight is ours (the core says Wait only while one is).
                            wait = flight ?? Task.FromResult(true);
                            delayMs = (int)Math.Max(25, Math.Min(int.MaxValue, d.UntilMs - now));
                            break;
                    }
                }

                await WaitAsync(wait, delayMs, cancellationToken).ConfigureAwait(false);
            }
        }

        private static async Task WaitAsync(Task task, int delayMs, CancellationToken cancellationToken)
        {
            if (!task.IsCompleted)
            {
                using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    await Task.WhenAny(task, Task.Delay(delayMs, stop.Token)).ConfigureAwait(false);
                    stop.Cancel();
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        /// <summary>Starts fetch <paramref name="ticket"/> (under the gate); the task ends once its result is handed to the core.</summary>
        private Task StartLocked(ulong ticket)
        {
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            flight = done.Task;
            long timeoutMs = Cache.TimeoutMs;
            long maxBytes = Cache.MaxBytes;
            Task.Run(() => RunAsync(ticket, timeoutMs, maxBytes, done));
            return done.Task;
        }

        private async Task RunAsync(ulong ticket, long timeoutMs, long maxBytes, TaskCompletionSource<bool> done)
        {
            JwksFetchFailed failed = null;
            IReadOnlyList<string> skipped = null;
            try
            {
                var r = await GetAsync(timeoutMs, maxBytes).ConfigureAwait(false);
                lock (gate)
                {
                    if (r.Body != null)
                    {
                        try
                        {
                            Cache.Fetched(ticket, clock(), r.Status, r.Body);
                            skipped = Cache.Stats.Skipped > 0 ? Cache.Skipped() : null;
                        }
                        catch (SeloException e) when (e.Code == "ofb.jwks.fetch")
                        {
                            failed = new JwksFetchFailed("rejected", e);
                        }
                    }
                    else
                    {
                        failed = new JwksFetchFailed(Wire(r.Failure), Cache.Failed(ticket, clock(), r.Failure, r.Detail));
                    }

                    lastFailure = failed;
                    if (flight == done.Task)
                    {
                        flight = null;
                    }
                }
            }
            catch (Exception e)
            {
                lock (gate)
                {
                    try
                    {
                        failed = new JwksFetchFailed("network", Cache.Failed(ticket, clock(), JwksFetchFailure.Network, e.GetType().Name));
                        lastFailure = failed;
                    }
                    catch (SeloException)
                    {
                        // Disposed: nobody is left to tell.
                    }

                    if (flight == done.Task)
                    {
                        flight = null;
                    }
                }
            }
            finally
            {
                // The hooks run before the flight's task completes (outside the gate): whoever awaits
                // InFlight has seen them.
                try
                {
                    if (failed != null)
                    {
                        OnFetchFailed?.Invoke(failed);
                    }
                    else if (skipped != null)
                    {
                        OnSkippedKeys?.Invoke(skipped);
                    }
                }
                catch (Exception)
                {
                    // A logging hook never breaks the fetch.
                }

                done.TrySetResult(true);
            }
        }

        private static string Wire(JwksFetchFailure f)
        {
            switch (f)
            {
                case JwksFetchFailure.Timeout: return "timeout";
                case JwksFetchFailure.TooLarge: return "too-large";
                case JwksFetchFailure.Refused: return "refused";
                default: return "network";
            }
        }

        private struct Outcome
        {
            public int Status;
            public byte[] Body;
            public JwksFetchFailure Failure;
            public string Detail;
        }

        /// <summary>
        /// One GET: no redirect followed, headers first (ResponseHeadersRead), the body read with ReadAsync up to
        /// maxBytes + 1, ONE deadline for all of it. Returns the complete response or how it failed.
        /// </summary>
        private async Task<Outcome> GetAsync(long timeoutMs, long maxBytes)
        {
            using (var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(1, timeoutMs))))
            {
                var token = deadline.Token;
                HttpResponseMessage resp = null;
                try
                {
                    using (var req = new HttpRequestMessage(HttpMethod.Get, uri))
                    {
                        req.Headers.TryAddWithoutValidation("accept", "application/json");
                        resp = await Bounded(http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, token), token).ConfigureAwait(false);
                        long? declared = resp.Content == null ? null : resp.Content.Headers.ContentLength;
                        if (declared.HasValue && declared.Value > maxBytes)
                        {
                            return new Outcome { Failure = JwksFetchFailure.TooLarge, Detail = "content-length " + declared.Value };
                        }

                        var body = new MemoryStream();
                        if (resp.Content != null)
                        {
                            var stream = await Bounded(resp.Content.ReadAsStreamAsync(), token).ConfigureAwait(false);
                            var buf = new byte[16384];
                            while (true)
                            {
                                int want = (int)Math.Min(buf.Length, maxBytes + 1 - body.Length);
                                int n = await Bounded(stream.ReadAsync(buf, 0, want, token), token).ConfigureAwait(false);
                                if (n <= 0)
                                {
                                    break;
                                }

                                body.Write(buf, 0, n);
                                if (body.Length > maxBytes)
                                {
                                    return new Outcome { Failure = JwksFetchFailure.TooLarge, Detail = "over " + maxBytes + " bytes" };
                                }
                            }
                        }

                        return new Outcome { Status = (int)resp.StatusCode, Body = body.ToArray() };
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return new Outcome { Failure = JwksFetchFailure.Timeout, Detail = "deadline of " + timeoutMs + " ms" };
                }
                catch (Exception e)
                {
                    return new Outcome { Failure = Classify(e), Detail = e.GetType().Name + ": " + e.Message };
                }
                finally
                {
                    // Closes the connection of a response not read to its end (too large, deadline).
                    resp?.Dispose();
                }
            }
        }

        /// <summary>
        /// Awaits <paramref name="task"/> but gives up when <paramref name="token"/> fires, even if the task ignores it;
        /// what an abandoned task produces later is disposed (a response, a stream) and its failure observed.
        /// </summary>
        private static async Task<T> Bounded<T>(Task<T> task, CancellationToken token)
        {
            if (!task.IsCompleted)
            {
                var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (token.Register(() => cancelled.TrySetResult(true)))
                {
                    if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                    {
                        _ = task.ContinueWith(
                            t =>
                            {
                                if (t.IsFaulted)
                                {
                                    var observed = t.Exception;
                                }
                                else if (t.Status == TaskStatus.RanToCompletion)
                                {
                                    (t.Result as IDisposable)?.Dispose();
                                }
                            },
                            TaskContinuationOptions.ExecuteSynchronously);
                        throw new OperationCanceledException(token);
                    }
                }
            }

            return await task.ConfigureAwait(false);
        }

        private static JwksFetchFailure Classify(Exception e)
        {
            for (var c = e; c != null; c = c.InnerException)
            {
                if (c is System.Security.Authentication.AuthenticationException)
                {
                    return JwksFetchFailure.Refused;
                }

                var we = c as System.Net.WebException;
                if (we != null && (we.Status == System.Net.WebExceptionStatus.TrustFailure || we.Status == System.Net.WebExceptionStatus.SecureChannelFailure
                    || we.Status == System.Net.WebExceptionStatus.ServerProtocolViolation))
                {
                    return JwksFetchFailure.Refused;
                }

                if (c is OperationCanceledException || c is TimeoutException)
                {
                    return JwksFetchFailure.Timeout;
                }
            }

            if (e is HttpRequestException || e is IOException || e is System.Net.WebException || e is System.Net.Sockets.SocketException || e is ObjectDisposedException)
            {
                return JwksFetchFailure.Network;
            }

            return JwksFetchFailure.Refused;
        }

        /// <summary>Frees the cache and the HttpClient (a fetch in flight ends unreported).</summary>
        public void Dispose()
        {
            http.Dispose();
            Cache.Dispose();
        }
    }
}
