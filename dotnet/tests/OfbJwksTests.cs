namespace Selo.Tests
{
    using System;
    using System.Collections.Concurrent;
    using System.Collections.Generic;
    using System.Diagnostics;
    using System.IO;
    using System.Linq;
    using System.Net;
    using System.Net.Sockets;
    using System.Text;
    using System.Threading;
    using System.Threading.Tasks;
    using NUnit.Framework;

    /// <summary>
    /// An HTTP server on 127.0.0.1 (System.Net.HttpListener, a free port) whose handler the test writes; it counts
    /// requests. Disposing stops it and cancels <see cref="Stopping"/> for handlers still running.
    /// </summary>
    public sealed class LocalHttp : IDisposable
    {
        private readonly HttpListener listener;
        private readonly Func<HttpListenerContext, Task> handler;
        private readonly CancellationTokenSource stopping = new CancellationTokenSource();
        private int hits;

        public LocalHttp(Func<HttpListenerContext, Task> handler)
        {
            this.handler = handler;
            for (int attempt = 0; ; attempt++)
            {
                var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                int port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                var l = new HttpListener();
                l.Prefixes.Add("http://127.0.0.1:" + port + "/");
                try
                {
                    l.Start();
                    listener = l;
                    Origin = "http://127.0.0.1:" + port;
                    break;
                }
                catch (HttpListenerException) when (attempt < 10)
                {
                    // The port was taken in between: another one.
                }
            }

            Task.Run(Loop);
        }

        public string Origin { get; }

        public string Url => Origin + "/jwks";

        public int Hits => Volatile.Read(ref hits);

        public CancellationToken Stopping => stopping.Token;

        /// <summary>Waits (at most 20 s) until at least <paramref name="n"/> requests arrived.</summary>
        public bool WaitHits(int n)
        {
            var w = Stopwatch.StartNew();
            while (Hits < n)
            {
                if (w.ElapsedMilliseconds > 20000)
                {
                    return false;
                }

                Thread.Sleep(2);
            }

            return true;
        }

        private async Task Loop()
        {
            while (true)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    return;
                }

                Interlocked.Increment(ref hits);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await handler(ctx).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // The client went away (too large, deadline): expected.
                        try
                        {
                            ctx.Response.Abort();
                        }
                        catch (Exception)
                        {
                        }
                    }
                });
            }
        }

        public static async Task Send(HttpListenerContext ctx, int status, string contentType, string body)
        {
            var b = Encoding.UTF8.GetBytes(body);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = contentType;
            ctx.Response.ContentLength64 = b.Length;
            await ctx.Response.OutputStream.WriteAsync(b, 0, b.Length).ConfigureAwait(false);
            ctx.Response.Close();
        }

        public void Dispose()
        {
            stopping.Cancel();
            try
            {
                listener.Stop();
                listener.Close();
            }
            catch (Exception)
            {
            }
        }
    }

    /// <summary>
    /// Issue 20 through the C# binding: the shared remote-JWKS policy table, hostile tokens against the server
    /// helper with a remote JWKS, JWK Set servers that misbehave (real HttpListener servers on 127.0.0.1),
    /// request bodies read asynchronously only, every error body from the core.
    /// </summary>
    [TestFixture]
    public class OfbJwksTests
    {
        private const string Aud = "https://rs.example/payments";
        private const string Secret = "redis://user:hunter2@10.1.2.3:6379";

        private static PrivateKey key;
        private static string goodJwk;
        private static Ofb.Signer signer;

        private static void Init()
        {
            if (key != null)
            {
                return;
            }

            key = PrivateKey.FromPem(Json.Text("external/keys/rsa2048-ofb.pem"));
            using (var pub = key.PublicKey())
            {
                goodJwk = pub.ToJwk("cli");
            }

            signer = Ofb.Signer.Create(key, "cli", "org-a", string.Empty);
        }

        private static string Doc => "{\"keys\":[" + goodJwk + "]}";

        private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        private static HttpRequest Request(string token) =>
            new HttpRequest("POST", Aud, new List<KeyValuePair<string, string>> { new KeyValuePair<string, string>("Content-Type", "application/jwt") }, Encoding.UTF8.GetBytes(token));

        private static HttpRequest Fresh()
        {
            Init();
            return Request(signer.Sign("{\"data\":{}}", Aud, 0, Now()));
        }

        private static HttpRequest SignedWithKid(string kid)
        {
            Init();
            using (var s = Ofb.Signer.Create(key, kid, "org-a", string.Empty))
            {
                return Request(s.Sign("{\"data\":{}}", Aud, 0, Now()));
            }
        }

        private static string B64u(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static string B64u(string s) => B64u(Encoding.UTF8.GetBytes(s));

        /// <summary>A replay store as Redis SET NX EX answers it, over a dictionary.</summary>
        private static OfbReplayStore Memory(ConcurrentDictionary<string, long> keys) =>
            (k, ttl, ct) => Task.FromResult(keys.TryAdd(k, ttl) ? "fresh" : "replayed");

        private static OfbReplayStore Answer(string answer) => (k, ttl, ct) => Task.FromResult(answer);

        // ---------------------------------------------------------------- the shared policy table

        private static string TableToken(object kid) =>
            kid is string ? B64u("{\"alg\":\"PS256\",\"kid\":" + Json.Write(kid) + "}") + ".e30.AA" : "not-a-jws";

        private static byte[] TableBody(JObj table, JObj fetched)
        {
            if (fetched.Has("body"))
            {
                return Encoding.UTF8.GetBytes(fetched.S("body"));
            }

            var keys = fetched.A("kids").Select(kid =>
            {
                var k = new JObj();
                k.Members.AddRange(table.O("key").Members.Where(m => m.Key != "kid"));
                k.Members.Add(new KeyValuePair<string, object>("kid", kid));
                return Json.Write(k);
            });
            return Encoding.UTF8.GetBytes("{\"keys\":[" + string.Join(",", keys) + "]}");
        }

        private static JwksFetchFailure FailureOf(string wire)
        {
            switch (wire)
            {
                case "timeout": return JwksFetchFailure.Timeout;
                case "network": return JwksFetchFailure.Network;
                case "too-large": return JwksFetchFailure.TooLarge;
                case "refused": return JwksFetchFailure.Refused;
                default: throw new ArgumentException("unknown failure " + wire);
            }
        }

        /// <summary>tests/vectors/ofb/jwks-policy.json, every scenario, through JwksCache (mirrors core/tests/ofb_jwks_policy.rs).</summary>
        [Test]
        public void EveryScenarioOfTheSharedPolicyTable()
        {
            var table = Json.Load("ofb/jwks-policy.json");
            int steps = 0;
            foreach (JObj sc in table.A("scenarios"))
            {
                var name = sc.S("name");
                var policy = sc.Has("policy") ? Json.Write(sc.O("policy")) : null;
                using (var cache = JwksCache.Create(table.S("url"), policy))
                {
                    Assert.AreEqual(table.S("url"), cache.Url);
                    ulong ticket = 0;
                    int i = 0;
                    foreach (JObj st in sc.A("steps"))
                    {
                        var at = name + ", step " + i++;
                        long t = st.L("t");
                        var expect = st.O("expect");
                        steps++;
                        if (st.Has("decide"))
                        {
                            var want = expect.S("kind");
                            JwksDecision d;
                            try
                            {
                                d = cache.Decide(t, TableToken(st["decide"]));
                            }
                            catch (SeloException e)
                            {
                                Assert.AreEqual("refuse", want, at + ": " + e.Message);
                                Assert.AreEqual(expect.S("code"), e.Code, at);
                                Assert.AreEqual(503, OfbServer.ErrorResponse(e.Code, e.Detail).Status, at);
                                continue;
                            }

                            Assert.AreNotEqual("refuse", want, at + ": " + d);
                            Assert.AreEqual(want, d.Kind.ToString().ToLowerInvariant(), at);
                            switch (d.Kind)
                            {
                                case JwksDecisionKind.Use:
                                    Assert.AreEqual((bool)expect["refresh"], d.Refresh, at);
                                    if (d.Refresh)
                                    {
                                        ticket = d.Ticket;
                                    }

                                    break;
                                case JwksDecisionKind.Fetch:
                                    Assert.AreNotEqual(0UL, d.Ticket, at);
                                    ticket = d.Ticket;
                                    break;
                                default:
                                    Assert.Greater(d.UntilMs, 0, at);
                                    break;
                            }
                        }
                        else if (st.Has("fetched"))
                        {
                            var f = st.O("fetched");
                            Assert.AreNotEqual(0UL, ticket, at);
                            SeloException err = null;
                            try
                            {
                                cache.Fetched(ticket, t, (int)f.L("status"), TableBody(table, f));
                            }
                            catch (SeloException e)
                            {
                                err = e;
                            }

                            if (expect.Has("code"))
                            {
                                Assert.IsNotNull(err, at);
                                Assert.AreEqual(expect.S("code"), err.Code, at);
                                if (expect.Has("message_contains"))
                                {
                                    StringAssert.Contains(expect.S("message_contains"), err.Message, at);
                                }
                            }
                            else
                            {
                                Assert.IsNull(err, at + ": " + err);
                                long skipped = expect.Has("skipped") ? expect.L("skipped") : 0;
                                Assert.AreEqual(skipped, cache.Stats.Skipped, at);
                                Assert.AreEqual(skipped, cache.Skipped().Count, at);
                            }
                        }
                        else if (st.Has("failed"))
                        {
                            Assert.AreNotEqual(0UL, ticket, at);
                            var e = cache.Failed(ticket, t, FailureOf(st.S("failed")), "the host's words");
                            Assert.AreEqual(expect.S("code"), e.Code, at);
                        }
                        else if (st.Has("stats"))
                        {
                            var want = st.O("stats");
                            var got = cache.Stats;
                            Assert.AreEqual(new[] { want.L("fetches"), want.L("failures"), want.L("refused") }, new[] { got.Fetches, got.Failures, got.Refused }, at);
                        }
                        else
                        {
                            Assert.Fail(at + ": unknown step " + Json.Write(st));
                        }
                    }
                }
            }

            Assert.GreaterOrEqual(steps, 60);
            // The defaults, and what construction refuses.
            using (var c = JwksCache.Create("https://k.example/jwks", null))
            {
                Assert.AreEqual(5000, c.TimeoutMs);
                Assert.AreEqual(512 * 1024, c.MaxBytes);
                Assert.AreEqual("ofb.jwks.unavailable", Assert.Throws<SeloException>(() => c.Jwks()).Code);
            }

            Assert.AreEqual("ofb.jwks.url", Assert.Throws<SeloException>(() => JwksCache.Create("http://keys.example.org/jwks", null)).Code);
            Assert.AreEqual("ofb.jwks.url", Assert.Throws<SeloException>(() => JwksCache.Create("https://k.example/jwks", "{\"max_agee\":1}")).Code);
            Assert.AreEqual("ofb.jwks.url", Assert.Throws<SeloException>(() => new OfbRemoteJwks("http://keys.example.org/jwks")).Code);
        }

        // ---------------------------------------------------------------- hostile tokens

        /// <summary>
        /// The server helper with a remote JWKS gets a 700 000-deep header (it used to kill the .NET process: the
        /// wrapper's own JSON reader recursed on it), ~1 MiB of nested objects, a header of 10 000 members: each is
        /// refused with a stable code, and the next valid request verifies.
        /// </summary>
        [Test]
        public void HostileTokensAreRefusedAndTheNextValidRequestVerifies()
        {
            Init();
            using (var server = new LocalHttp(ctx => LocalHttp.Send(ctx, 200, "application/json", Doc)))
            using (var remote = new OfbRemoteJwks(server.Url))
            {
                var v = new OfbRequestVerifier(remote, Memory(new ConcurrentDictionary<string, long>()), null);
                var deep = B64u(new string('[', 700000)) + ".e30.AA";
                var nested = B64u("{\"alg\":\"PS256\",\"kid\":\"cli\",\"typ\":\"JWT\"}") + "." +
                    B64u(string.Concat(Enumerable.Repeat("{\"a\":", 130000)) + "1" + new string('}', 130000)) + ".AA";
                var wide = B64u("{\"alg\":\"PS256\"," + string.Join(",", Enumerable.Range(0, 10000).Select(i => "\"m" + i + "\":" + i)) + "}") + ".e30.AA";
                Assert.Greater(nested.Length, 1000000);
                Assert.Less(nested.Length, (int)BodyLimit.DefaultMaxBytes, "under the body limit: the parser sees it");
                var watch = Stopwatch.StartNew();
                foreach (var c in new[] { new[] { "700 000-deep header", deep }, new[] { "1 MiB of nested objects", nested }, new[] { "10 000-member header", wide } })
                {
                    var d = v.VerifyAsync(Request(c[1]), Aud, "org-a", "c", Now()).Result;
                    Assert.IsFalse(d.Accepted, c[0]);
                    Assert.AreEqual("ofb.verify.malformed", d.ErrorCode, c[0]);
                    Assert.AreEqual(400, d.Rejection.Status, c[0]);
                    // And straight to the cache: no crash, a decision.
                    using (remote.JwksForTokenAsync(c[1]).Result)
                    {
                    }
                }

                Assert.Less(watch.ElapsedMilliseconds, 30000);
                Assert.IsTrue(v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result.Accepted);
                Assert.AreEqual(1, server.Hits, "one fetch served them all");
            }
        }

        // ---------------------------------------------------------------- JWK Set servers that misbehave

        private static long ManagedBytes() => GC.GetTotalMemory(false);

        private static long WorkingSet()
        {
            using (var p = Process.GetCurrentProcess())
            {
                p.Refresh();
                return p.WorkingSet64;
            }
        }

        /// <summary>
        /// A JWK Set of 64 MiB, chunked (no length) and with its length declared: refused as too large after at most
        /// max_bytes + 1 bytes read; the process's memory stays bounded (managed heap sampled during the fetch,
        /// working set before/after) and the server could not push the whole body.
        /// </summary>
        [Test]
        public void SixtyFourMebibyteJwksIsRefusedWithBoundedMemory()
        {
            const long Size = 64L * 1024 * 1024;
            foreach (bool chunked in new[] { true, false })
            {
                long sent = 0;
                var chunk = new byte[64 * 1024];
                for (int i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = (byte)' ';
                }

                using (var server = new LocalHttp(async ctx =>
                {
                    ctx.Response.StatusCode = 200;
                    ctx.Response.ContentType = "application/json";
                    if (chunked)
                    {
                        ctx.Response.SendChunked = true;
                    }
                    else
                    {
                        ctx.Response.ContentLength64 = Size;
                    }

                    var o = ctx.Response.OutputStream;
                    await o.WriteAsync(Encoding.ASCII.GetBytes("{\"keys\":["), 0, 9).ConfigureAwait(false);
                    for (long n = 9; n < Size; n += chunk.Length)
                    {
                        await o.WriteAsync(chunk, 0, chunk.Length).ConfigureAwait(false);
                        Interlocked.Add(ref sent, chunk.Length);
                    }

                    ctx.Response.Close();
                }))
                using (var remote = new OfbRemoteJwks(server.Url, "{\"timeout_ms\":20000}"))
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    long heap0 = GC.GetTotalMemory(true), ws0 = WorkingSet(), peak = heap0;
                    var done = false;
                    var sampler = Task.Run(() =>
                    {
                        while (!Volatile.Read(ref done))
                        {
                            long m = ManagedBytes();
                            if (m > Interlocked.Read(ref peak))
                            {
                                Interlocked.Exchange(ref peak, m);
                            }

                            Thread.Sleep(1);
                        }
                    });
                    var watch = Stopwatch.StartNew();
                    var e = Assert.Throws<AggregateException>(() => remote.JwksForTokenAsync("x").Wait());
                    Volatile.Write(ref done, true);
                    sampler.Wait();
                    long ws1 = WorkingSet();
                    var what = chunked ? "chunked" : "content-length";
                    Assert.AreEqual("ofb.jwks.unavailable", ((SeloException)e.InnerException).Code, what);
                    Assert.AreEqual("too-large", remote.LastFailure.Kind, what + ": " + remote.LastFailure);
                    Assert.AreEqual(1, remote.Stats.Failures, what);
                    Assert.Less(Interlocked.Read(ref sent), Size / 2, what + ": the client stopped reading");
                    Assert.Less(peak - heap0, 16L * 1024 * 1024, what + ": managed heap growth during the fetch");
                    Assert.Less(ws1 - ws0, 48L * 1024 * 1024, what + ": working set growth");
                    Assert.Less(watch.ElapsedMilliseconds, 20000, what);
                    Console.WriteLine("64 MiB JWKS (" + what + "): refused in " + watch.ElapsedMilliseconds + " ms; heap +" + ((peak - heap0) >> 10) +
                        " KiB at most, working set +" + ((ws1 - ws0) >> 10) + " KiB, server pushed " + (Interlocked.Read(ref sent) >> 10) + " KiB");
                }
            }
        }

        /// <summary>A JWK Set trickling one byte every 200 ms: the fetch's one deadline ends it ("timeout").</summary>
        [Test]
        public void TricklingJwksTimesOutWithinTheDeadline()
        {
            int sent = 0;
            using (var server = new LocalHttp(async ctx =>
            {
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/json";
                ctx.Response.ContentLength64 = 4096;
                var o = ctx.Response.OutputStream;
                for (int i = 0; i < 4096; i++)
                {
                    await o.WriteAsync(new[] { (byte)' ' }, 0, 1).ConfigureAwait(false);
                    await o.FlushAsync().ConfigureAwait(false);
                    Interlocked.Increment(ref sent);
                    await Task.Delay(200).ConfigureAwait(false);
                }
            }))
            using (var remote = new OfbRemoteJwks(server.Url, "{\"timeout_ms\":1500}"))
            {
                var watch = Stopwatch.StartNew();
                var task = remote.JwksForTokenAsync("x");
                Assert.AreSame(task, Task.WhenAny(task, Task.Delay(15000)).Result, "no answer within 15 s: the deadline does not cover the body");
                var e = Assert.Throws<AggregateException>(() => task.Wait());
                long ms = watch.ElapsedMilliseconds;
                Assert.AreEqual("ofb.jwks.unavailable", ((SeloException)e.InnerException).Code);
                Assert.AreEqual("timeout", remote.LastFailure.Kind, remote.LastFailure.ToString());
                StringAssert.Contains("1500 ms", remote.LastFailure.Error.Message);
                Assert.GreaterOrEqual(ms, 1400, "the deadline, not an early give-up");
                Assert.Less(ms, 1500 + 8000, "one deadline for the whole fetch (generous margin for a loaded machine)");
                Assert.Less(Volatile.Read(ref sent), 100, "the body was never read to its end");
            }
        }

        /// <summary>A JWK Set URL that redirects to another port: not followed (the other server sees nothing).</summary>
        [Test]
        public void RedirectIsNotFollowed()
        {
            Init();
            using (var target = new LocalHttp(ctx => LocalHttp.Send(ctx, 200, "application/json", Doc)))
            using (var server = new LocalHttp(ctx =>
            {
                ctx.Response.Redirect(target.Url);
                ctx.Response.Close();
                return Task.FromResult(0);
            }))
            using (var remote = new OfbRemoteJwks(server.Url))
            {
                var v = new OfbRequestVerifier(remote, Answer("fresh"), null);
                var d = v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result;
                Assert.IsFalse(d.Accepted);
                Assert.AreEqual("ofb.jwks.unavailable", d.ErrorCode);
                Assert.AreEqual(503, d.Rejection.Status);
                Assert.AreEqual("rejected", remote.LastFailure.Kind);
                StringAssert.Contains("redirects are not followed", remote.LastFailure.Error.Message);
                Assert.AreEqual(1, server.Hits);
                Assert.AreEqual(0, target.Hits, "the redirect was not followed");
            }
        }

        /// <summary>
        /// A JWK Set server that goes down after max_age (policy: max_age 1 s, grace 5 s, backoff 200 ms doubling;
        /// injected clock): the stale set keeps verifying until the grace ends, requests never wait for the
        /// refresh, and fetch attempts follow the backoff — counted at the server.
        /// </summary>
        [Test]
        public void DownAfterMaxAgeStaleSetServesUntilGraceAndRetriesBackOff()
        {
            Init();
            long clock = 0;
            bool down = false;
            var attempts = new List<long>();
            var release = new SemaphoreSlim(0);
            using (var server = new LocalHttp(async ctx =>
            {
                lock (attempts)
                {
                    attempts.Add(Interlocked.Read(ref clock));
                }

                if (!Volatile.Read(ref down))
                {
                    await LocalHttp.Send(ctx, 200, "application/json", Doc).ConfigureAwait(false);
                    return;
                }

                // Down: held until the test lets go, then 503.
                await release.WaitAsync(20000).ConfigureAwait(false);
                await LocalHttp.Send(ctx, 503, "text/plain", "down for maintenance").ConfigureAwait(false);
            }))
            using (var remote = new OfbRemoteJwks(server.Url,
                "{\"max_age_ms\":1000,\"stale_grace_ms\":5000,\"backoff_initial_ms\":200,\"backoff_max_ms\":60000}", null, () => Interlocked.Read(ref clock)))
            {
                var v = new OfbRequestVerifier(remote, Memory(new ConcurrentDictionary<string, long>()), null);
                Assert.IsTrue(v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result.Accepted);
                Assert.AreEqual(1, server.Hits);
                Volatile.Write(ref down, true);
                var refreshedAt = new List<long>();
                for (long t = 100; t < 6000; t += 100)
                {
                    Interlocked.Exchange(ref clock, t);
                    var d = v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result;
                    Assert.IsTrue(d.Accepted, "t=" + t + ": the stale set keeps verifying: " + d.ErrorCode);
                    var flight = remote.InFlight;
                    if (!flight.IsCompleted)
                    {
                        // The request was answered while its refresh is still held by the server: it never waited.
                        refreshedAt.Add(t);
                        Assert.IsTrue(server.WaitHits(1 + refreshedAt.Count), "t=" + t);
                        release.Release();
                        Assert.IsTrue(flight.Wait(20000), "t=" + t);
                        Assert.AreEqual("rejected", remote.LastFailure.Kind, "t=" + t + ": " + remote.LastFailure);
                        StringAssert.Contains("HTTP 503", remote.LastFailure.Error.Message);
                    }
                }

                // 1000: max age; then each failure waits 200, 400, 800, 1600 ms before the next attempt.
                CollectionAssert.AreEqual(new long[] { 1000, 1200, 1600, 2400, 4000 }, refreshedAt);
                Interlocked.Exchange(ref clock, 6000);
                var refused = v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result;
                Assert.AreEqual("ofb.jwks.unavailable", refused.ErrorCode, "the grace is over");
                Assert.AreEqual(503, refused.Rejection.Status);
                StringAssert.Contains("JWKS_UNAVAILABLE", Encoding.UTF8.GetString(refused.Rejection.Body));
                lock (attempts)
                {
                    CollectionAssert.AreEqual(new long[] { 0, 1000, 1200, 1600, 2400, 4000 }, attempts, "fetch attempts seen by the server");
                }

                var stats = remote.Stats;
                Assert.AreEqual(new long[] { 6, 5, 1 }, new[] { stats.Fetches, stats.Failures, stats.Refused }, stats.ToString());
            }
        }

        /// <summary>A gate handlers await (no thread blocked while it is closed).</summary>
        private sealed class AsyncGate
        {
            private TaskCompletionSource<bool> open = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

            public Task WaitAsync()
            {
                lock (this)
                {
                    return open.Task;
                }
            }

            public void Set()
            {
                lock (this)
                {
                    open.TrySetResult(true);
                }
            }

            public void Reset()
            {
                lock (this)
                {
                    if (open.Task.IsCompleted)
                    {
                        open = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
        }

        /// <summary>
        /// Every fetch starts the unknown-kid cooldown, the cold one included: 100 concurrent requests with 100 new
        /// kids on a cold cache make exactly one fetch; the waiters verify against that set (their kid in it:
        /// accepted; not in it: ofb.verify.kid_not_found) and never fetch again for their kids; new kids within the
        /// cooldown fetch nothing; the first one after it fetches exactly once more (the server counts).
        /// </summary>
        [Test]
        public void HundredConcurrentNewKidsCauseOneFetchPerCooldown()
        {
            Init();
            long clock = 1000; // the policy's clock, frozen while the requests run
            var kids = Enumerable.Range(0, 100).Select(i => "new-" + i).ToArray();
            var published = new HashSet<string>(kids.Where((k, i) => i % 2 == 0)); // the set has half of the new kids
            string doc = SetOf(published);
            var gate = new AsyncGate(); // closed: the one fetch answers once every request has decided
            using (var server = new LocalHttp(async ctx =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                await LocalHttp.Send(ctx, 200, "application/json", Volatile.Read(ref doc)).ConfigureAwait(false);
            }))
            using (var remote = new OfbRemoteJwks(server.Url, "{\"timeout_ms\":20000}", null, () => Interlocked.Read(ref clock)))
            {
                var v = new OfbRequestVerifier(remote, Memory(new ConcurrentDictionary<string, long>()), null);
                var requests = kids.Select(SignedWithKid).ToArray();
                // Each call decides before it first awaits: one fetches, the 99 others wait for that fetch.
                var tasks = requests.Select(r => v.VerifyAsync(r, Aud, "org-a", "c", Now())).ToArray();
                Assert.IsTrue(server.WaitHits(1), "the one fetch");
                gate.Set();
                Assert.IsTrue(Task.WaitAll(tasks, 30000));
                for (int i = 0; i < kids.Length; i++)
                {
                    var d = tasks[i].Result;
                    if (published.Contains(kids[i]))
                    {
                        Assert.IsTrue(d.Accepted, kids[i] + ": " + d.ErrorCode);
                    }
                    else
                    {
                        Assert.AreEqual("ofb.verify.kid_not_found", d.ErrorCode, kids[i]);
                        Assert.AreEqual(400, d.Rejection.Status);
                    }
                }

                Assert.AreEqual(1, server.Hits, "100 new kids on a cold cache: one fetch");
                Assert.AreEqual(new long[] { 1, 0, 0 }, new[] { remote.Stats.Fetches, remote.Stats.Failures, remote.Stats.Refused });

                // The issuer publishes one more kid; new kids within the cooldown fetch nothing.
                Volatile.Write(ref doc, SetOf(published.Concat(new[] { "late" })));
                Interlocked.Exchange(ref clock, 1000 + 29999);
                var within = new[] { SignedWithKid("late") }
                    .Concat(Enumerable.Range(0, 99).Select(i => Request(TokenWithKid("r-" + i + "-" + Guid.NewGuid()))))
                    .Select(r => v.VerifyAsync(r, Aud, "org-a", "c", Now())).ToArray();
                Assert.IsTrue(Task.WaitAll(within, 30000));
                foreach (var t in within)
                {
                    Assert.AreEqual("ofb.verify.kid_not_found", t.Result.ErrorCode);
                    Assert.AreEqual(400, t.Result.Rejection.Status);
                }

                Assert.AreEqual(1, server.Hits, "new kids within the cooldown: no fetch");

                Interlocked.Exchange(ref clock, 1000 + 30000);
                var late = v.VerifyAsync(SignedWithKid("late"), Aud, "org-a", "c", Now()).Result;
                Assert.IsTrue(late.Accepted, late.ErrorCode);
                Assert.AreEqual(2, server.Hits, "the first new kid after the cooldown: exactly one fetch");
                Assert.AreEqual(2, remote.Stats.Fetches);
                Assert.AreEqual("ofb.verify.kid_not_found", v.VerifyAsync(Request(TokenWithKid("after-" + Guid.NewGuid())), Aud, "org-a", "c", Now()).Result.ErrorCode);
                Assert.AreEqual(2, server.Hits, "that fetch started a new cooldown");
                Assert.IsTrue(v.VerifyAsync(SignedWithKid(kids[0]), Aud, "org-a", "c", Now()).Result.Accepted);
                Assert.AreEqual(2, server.Hits);
            }
        }

        /// <summary>A set with the test key under each of <paramref name="kids"/>.</summary>
        private static string SetOf(IEnumerable<string> kids)
        {
            using (var pub = key.PublicKey())
            {
                return "{\"keys\":[" + string.Join(",", kids.Select(k => pub.ToJwk(k))) + "]}";
            }
        }

        private static string TokenWithKid(string kid) => B64u("{\"alg\":\"PS256\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}") + "." + B64u("{}") + ".AAAA";

        // ---------------------------------------------------------------- bodies read asynchronously only

        /// <summary>A request stream like ASP.NET Core's (AllowSynchronousIO false): synchronous reads throw.</summary>
        private sealed class AsyncOnlyStream : Stream
        {
            private readonly Stream inner;

            public AsyncOnlyStream(byte[] data)
            {
                inner = new MemoryStream(data);
            }

            public AsyncOnlyStream(Stream inner)
            {
                this.inner = inner;
            }

            public int AsyncReads { get; private set; }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count) =>
                throw new InvalidOperationException("Synchronous operations are disallowed. Call ReadAsync or set AllowSynchronousIO to true instead.");

            public override int ReadByte() =>
                throw new InvalidOperationException("Synchronous operations are disallowed. Call ReadAsync or set AllowSynchronousIO to true instead.");

            public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback callback, object state) =>
                throw new InvalidOperationException("Synchronous operations are disallowed (BeginRead).");

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                await Task.Yield();
                AsyncReads++;
                return inner.Read(buffer, offset, count);
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }

        /// <summary>An endless stream of spaces, counting what was read.</summary>
        private sealed class Endless : Stream
        {
            public long ReadBytes;

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count)
            {
                for (int i = 0; i < count; i++)
                {
                    buffer[offset + i] = (byte)' ';
                }

                ReadBytes += count;
                return count;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }

        [Test]
        public void BodiesAreReadAsynchronouslyOnlyAndErrorBodiesComeFromTheCore()
        {
            Init();
            using (var jwks = Ofb.Jwks.Parse(Doc))
            {
                // The verifier over a stream that refuses synchronous reads.
                var v = new OfbRequestVerifier(jwks, Memory(new ConcurrentDictionary<string, long>()), null) { MaxBodyBytes = 64 * 1024 };
                var token = Encoding.UTF8.GetBytes(signer.Sign("{\"data\":{}}", Aud, 0, Now()));
                var body = new AsyncOnlyStream(token);
                Assert.IsTrue(v.VerifyAsync("POST", "application/jwt", body, token.Length, Aud, "org-a", "c", Now()).Result.Accepted);
                Assert.Greater(body.AsyncReads, 0);
                Assert.IsTrue(v.VerifyAsync("POST", "application/jwt", new AsyncOnlyStream(Encoding.UTF8.GetBytes(signer.Sign("{\"data\":{}}", Aud, 0, Now()))), -1,
                    Aud, "org-a", "c", Now()).Result.Accepted, "no declared length");

                // Over the limit while streaming: the core's 413, reading stopped.
                var endless = new Endless();
                var big = v.VerifyAsync("POST", "application/jwt", new AsyncOnlyStream(endless), -1, Aud, "org-a", "c", Now()).Result;
                Assert.AreEqual(413, big.Rejection.Status);
                Assert.AreEqual("http.body_too_large", big.ErrorCode);
                CollectionAssert.AreEqual(BodyLimit.TooLargeResponse(64 * 1024).Body, big.Rejection.Body);
                StringAssert.Contains("http.body_too_large", Encoding.UTF8.GetString(big.Rejection.Body));
                Assert.LessOrEqual(endless.ReadBytes, 64 * 1024 + 8192);

                // A store that fails: the core's 503, without the store's words.
                var seen = new List<Exception>();
                var failing = new OfbRequestVerifier(jwks, (k, ttl, ct) => { throw new IOException("connect to " + Secret + " refused"); }, null) { OnStoreError = seen.Add };
                var d = failing.VerifyAsync("POST", "application/jwt", new AsyncOnlyStream(Encoding.UTF8.GetBytes(signer.Sign("{\"data\":{}}", Aud, 0, Now()))), -1,
                    Aud, "org-a", "c", Now()).Result;
                Assert.AreEqual(503, d.Rejection.Status);
                Assert.AreEqual("ofb.replay.store_failed", d.ErrorCode);
                var text = Encoding.UTF8.GetString(d.Rejection.Body);
                Assert.IsFalse(text.Contains("hunter2") || text.Contains("10.1.2.3"), text);
                Assert.AreEqual(1, seen.Count);
            }

            // The BMP confirmation helper over the same kind of stream.
            var x = Json.Load("bmp/confirm.json");
            using (var s = BmpSigner.Create(x.S("key"), string.Empty))
            {
                var ikey = x.S("idempotency_key");
                var original = Json.U(x.S("original"));
                var headers = new List<KeyValuePair<string, string>>
                {
                    new KeyValuePair<string, string>("Content-Type", "application/json"),
                    new KeyValuePair<string, string>("IdempotencyKey", ikey),
                };
                var asked = new List<string>();
                Func<string, CancellationToken, Task<byte[]>> lookup = async (k, ct) =>
                {
                    await Task.Yield();
                    asked.Add(k);
                    return k == ikey ? original : null;
                };
                var ok = s.ConfirmAsync(headers, new AsyncOnlyStream(original), original.Length, lookup).Result;
                Assert.AreEqual(200, ok.Response.Status);
                Assert.AreEqual(s.Hmac(original), ok.Response.Header("hmac"));
                Assert.IsNull(ok.Difference);
                CollectionAssert.AreEqual(new[] { ikey }, asked, "one lookup, for the key the core read");

                var changed = JObjWith(x, "amount changed");
                var differs = s.ConfirmAsync(headers, new AsyncOnlyStream(Json.U(changed)), -1, lookup).Result;
                Assert.AreEqual(409, differs.Response.Status);
                Assert.IsNotNull(differs.Difference);

                var unknown = s.ConfirmAsync(headers, new AsyncOnlyStream(original), -1, (k, ct) => Task.FromResult<byte[]>(null)).Result;
                Assert.AreEqual(404, unknown.Response.Status);

                // The store fails (synchronously or not): the core's fixed 500, never the exception's text.
                var errors = new List<Exception>();
                foreach (var broken in new Func<string, CancellationToken, Task<byte[]>>[]
                {
                    (k, ct) => { throw new IOException("store at " + Secret + " down"); },
                    async (k, ct) => { await Task.Yield(); throw new InvalidOperationException(Secret); },
                })
                {
                    var r = s.ConfirmAsync(headers, new AsyncOnlyStream(original), -1, broken, BodyLimit.DefaultMaxBytes, errors.Add).Result;
                    Assert.AreEqual(500, r.Response.Status);
                    var t = Encoding.UTF8.GetString(r.Response.Body);
                    StringAssert.Contains("bmp.confirm.internal", t);
                    Assert.IsFalse(t.Contains("hunter2") || t.Contains("10.1.2.3"), t);
                    CollectionAssert.AreEqual(BmpSigner.ConfirmInternalResponse().Body, r.Response.Body);
                }

                Assert.AreEqual(2, errors.Count);
            }
        }

        private static string JObjWith(JObj vectors, string what) =>
            vectors.A("cases").Cast<JObj>().First(c => c.S("what") == what).S("received");
    }
}
