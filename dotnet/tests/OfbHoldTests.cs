namespace Selo.Tests
{
    using System;
    using System.Collections.Concurrent;
    using System.Collections.Generic;
    using System.IO;
    using System.Linq;
    using System.Net;
    using System.Net.Sockets;
    using System.Text;
    using System.Threading;
    using System.Threading.Tasks;
    using NUnit.Framework;

    /// <summary>
    /// Servers that hold (issue 12): replay stores fail closed, the remote JWK Set against a local HTTP
    /// server (port 0) counting fetches, body limits. Clocks are injected: no sleeps.
    /// </summary>
    [TestFixture]
    public class OfbHoldTests
    {
        private const string Aud = "https://rs.example/payments";
        private const string Secret = "redis://user:hunter2@10.1.2.3:6379";
        private static readonly int Seed = Environment.GetEnvironmentVariable("SELO_JWKS_SEED") != null
            ? int.Parse(Environment.GetEnvironmentVariable("SELO_JWKS_SEED")) : new Random().Next();

        private static PrivateKey key;
        private static string goodJwk;
        private static Ofb.Signer signer;

        private static void Init()
        {
            if (key != null)
            {
                return;
            }

            Console.WriteLine("OfbHoldTests: random seed " + Seed + " (SELO_JWKS_SEED=" + Seed + " replays it)");
            key = PrivateKey.FromPem(Json.Text("external/keys/rsa2048-ofb.pem"));
            using (var pub = key.PublicKey())
            {
                goodJwk = pub.ToJwk("cli");
            }

            signer = Ofb.Signer.Create(key, "cli", "org-a", string.Empty);
        }

        private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        private static HttpRequest Request(string token) =>
            new HttpRequest("POST", Aud, new List<KeyValuePair<string, string>> { new KeyValuePair<string, string>("Content-Type", "application/jwt") }, Encoding.UTF8.GetBytes(token));

        private static HttpRequest Fresh()
        {
            Init();
            return Request(signer.Sign("{\"data\":{}}", Aud, 0, Now()));
        }

        private static string B64u(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static HttpRequest WithKid(string kid) => Request(B64u("{\"alg\":\"PS256\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}") + "." + B64u("{}") + ".AAAA");

        private static Ofb.Jwks Jwks()
        {
            Init();
            return Ofb.Jwks.Parse("{\"keys\":[" + goodJwk + "]}");
        }

        private static OfbReplayStore Answer(string a) => (k, ttl, ct) => Task.FromResult(a);

        private static void AssertStoreFailed(OfbDecision d)
        {
            Assert.IsFalse(d.Accepted);
            Assert.AreEqual("ofb.replay.store_failed", d.ErrorCode);
            Assert.AreEqual(503, d.Rejection.Status);
            var body = Encoding.UTF8.GetString(d.Rejection.Body);
            StringAssert.Contains("ofb.replay.store_failed", body);
            Assert.IsFalse(body.Contains("10.1.2.3") || body.Contains("hunter2"), body);
        }

        [Test]
        public void StoreAnsweringNullOrGarbageIs503()
        {
            foreach (var a in new[] { null, "OK", "FRESH", string.Empty, "ERR " + Secret, "true" })
            {
                AssertStoreFailed(new OfbRequestVerifier(Jwks(), Answer(a), null).VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result);
            }

            // A store returning a null Task.
            AssertStoreFailed(new OfbRequestVerifier(Jwks(), (k, ttl, ct) => null, null).VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result);
        }

        [Test]
        public void StoreThrowingIs503WithoutItsText()
        {
            var seen = new List<Exception>();
            var v = new OfbRequestVerifier(Jwks(), (k, ttl, ct) => { throw new IOException("connect to " + Secret + " refused"); }, null) { OnStoreError = seen.Add };
            AssertStoreFailed(v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result);
            Assert.AreEqual(1, seen.Count);
            var faulted = new OfbRequestVerifier(Jwks(), async (k, ttl, ct) => { await Task.Yield(); throw new InvalidOperationException(Secret); }, null);
            AssertStoreFailed(faulted.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result);
        }

        [Test]
        public void RealReplayIs403AndFreshPasses()
        {
            var keys = new ConcurrentDictionary<string, long>();
            // SET NX as Redis answers it: true when set, false (nil) when the key existed.
            var v = new OfbRequestVerifier(Jwks(), (k, ttl, ct) => Task.FromResult(keys.TryAdd(k, ttl) ? "fresh" : "replayed"), null);
            var req = Fresh();
            var first = v.VerifyAsync(req, Aud, "org-a", "c", Now()).Result;
            Assert.IsTrue(first.Accepted);
            var again = v.VerifyAsync(req, Aud, "org-a", "c", Now()).Result;
            Assert.AreEqual("ofb.replay.jti", again.ErrorCode);
            Assert.AreEqual(403, again.Rejection.Status);
            Assert.IsTrue(v.VerifyAsync(req, Aud, "org-a", "other", Now()).Result.Accepted);
            // The store contract is the core's: a length-prefixed client id, the lower-case jti, a TTL
            // of the token's remaining acceptance window (iat + 60 s + 60 s skew, 1..86400).
            var jti = ((JObj)Json.Parse(first.VerifiedJson)).O("claims").S("jti");
            CollectionAssert.AreEquivalent(new[] { "selo:ofb:jti:1:c:" + jti, "selo:ofb:jti:5:other:" + jti }, keys.Keys.ToArray());
            Assert.IsTrue(keys.Values.All(t => t >= 1 && t <= 121), string.Join(",", keys.Values));
            var prefixed = new OfbRequestVerifier(Jwks(), (k, ttl, ct) => Task.FromResult(keys.TryAdd(k, ttl) ? "fresh" : "replayed"), null) { StoreKeyPrefix = "tenant7" };
            Assert.IsTrue(prefixed.VerifyAsync(req, Aud, "org-a", "c", Now()).Result.Accepted);
            Assert.IsTrue(keys.ContainsKey("tenant7:1:c:" + jti));
        }

        /// <summary>A minimal HTTP server on port 0 answering GET with <see cref="Doc"/>, counting requests.</summary>
        private sealed class JwksServer : IDisposable
        {
            private readonly TcpListener listener = new TcpListener(IPAddress.Loopback, 0);
            private readonly ManualResetEventSlim gate;
            private int fetches;

            public JwksServer(string doc, ManualResetEventSlim gate = null)
            {
                Doc = doc;
                this.gate = gate;
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                Assert.Greater(port, 0);
                Url = "http://127.0.0.1:" + port + "/jwks";
                Task.Run(Loop);
            }

            public string Doc { get; set; }

            public string Url { get; }

            public int Fetches => Volatile.Read(ref fetches);

            private async Task Loop()
            {
                while (true)
                {
                    TcpClient c;
                    try
                    {
                        c = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    var _ = Task.Run(() => Serve(c));
                }
            }

            private void Serve(TcpClient c)
            {
                using (c)
                using (var s = c.GetStream())
                {
                    var head = new StringBuilder();
                    var one = new byte[1];
                    while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && s.Read(one, 0, 1) == 1)
                    {
                        head.Append((char)one[0]);
                    }

                    Interlocked.Increment(ref fetches);
                    if (gate != null)
                    {
                        gate.Wait(20000);
                    }

                    var body = Encoding.UTF8.GetBytes(Doc);
                    var h = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + body.Length + "\r\nconnection: close\r\n\r\n");
                    s.Write(h, 0, h.Length);
                    s.Write(body, 0, body.Length);
                }
            }

            public void Dispose() => listener.Stop();
        }

        private static string TokenWithKid(string kid) => B64u("{\"alg\":\"PS256\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}") + "." + B64u("{}") + ".AAAA";

        private static void Use(OfbRemoteJwks r, string kid)
        {
            using (r.JwksForTokenAsync(TokenWithKid(kid)).Result)
            {
            }
        }

        /// <summary>
        /// Every fetch starts the unknown-kid cooldown (30 s), the first one included: 1,000 unknown kids at one
        /// instant make the first load only; then, over 1,000 random steps, a request with an unknown kid fetches
        /// exactly when no fetch started within the cooldown (checked after every request).
        /// </summary>
        [Test]
        public void ThousandRandomUnknownKidsCauseAtMostOneFetchPerCooldown()
        {
            Init();
            using (var s = new JwksServer("{\"keys\":[" + goodJwk + "]}"))
            {
                long clock = 1000000;
                var rng = new Random(Seed);
                using (var remote = new OfbRemoteJwks(s.Url, "{\"max_age_ms\":3600000}", null, () => Interlocked.Read(ref clock)))
                {
                    var v = new OfbRequestVerifier(remote, Answer("fresh"), null);
                    for (int i = 0; i < 1000; i++)
                    {
                        var d = v.VerifyAsync(WithKid("k" + rng.Next()), Aud, "org-a", "c", Now()).Result;
                        Assert.AreEqual("ofb.verify.kid_not_found", d.ErrorCode);
                    }

                    Assert.AreEqual(1, s.Fetches, "1,000 unknown kids at one instant: the first load only (it starts the cooldown)");
                    long start = clock;
                    var fetchedAt = new List<long> { clock };
                    for (int i = 0; i < 1000; i++)
                    {
                        long t = Interlocked.Add(ref clock, rng.Next(200));
                        if (t >= fetchedAt[fetchedAt.Count - 1] + 30000)
                        {
                            fetchedAt.Add(t);
                        }

                        var d = v.VerifyAsync(WithKid("r" + rng.Next()), Aud, "org-a", "c", Now()).Result;
                        Assert.AreEqual("ofb.verify.kid_not_found", d.ErrorCode);
                        Assert.AreEqual(fetchedAt.Count, s.Fetches, "t=" + (t - start) + " ms: fetches expected at " + string.Join(",", fetchedAt.Select(x => x - start)));
                    }

                    Assert.GreaterOrEqual(s.Fetches, 3, "unknown kids refetch once the cooldown has passed");
                    Assert.AreEqual(s.Fetches, remote.Stats.Fetches);
                    Assert.IsTrue(v.VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result.Accepted);
                }
            }
        }

        /// <summary>
        /// Every fetch starts the cooldown: the first load, a fetch for an unknown kid and a max-age refresh alike;
        /// a rotated kid is found by the first request after it.
        /// </summary>
        [Test]
        public void CooldownThenNewKidAndMaxAgeRefreshInTheBackground()
        {
            Init();
            using (var s = new JwksServer("{\"keys\":[" + goodJwk + "]}"))
            {
                long clock = 0;
                using (var r = new OfbRemoteJwks(s.Url, null, null, () => Interlocked.Read(ref clock)))
                {
                    Use(r, "cli");
                    Assert.AreEqual(1, s.Fetches);
                    var rotated = goodJwk.Replace("\"kid\":\"cli\"", "\"kid\":\"rotated\"");
                    Assert.AreNotEqual(goodJwk, rotated);
                    s.Doc = "{\"keys\":[" + goodJwk + "," + rotated + "]}";
                    clock = 29999;
                    Use(r, "rotated");
                    Assert.AreEqual(1, s.Fetches, "within the cooldown of the first load: no fetch");
                    clock = 30000;
                    Use(r, "rotated");
                    Assert.AreEqual(2, s.Fetches, "after it: one fetch");
                    Use(r, "rotated");
                    Assert.AreEqual(2, s.Fetches, "now known: cached");
                    clock = 30000 + 600000;
                    Use(r, "cli");
                    Assert.IsTrue(r.InFlight.Wait(20000));
                    Assert.AreEqual(3, s.Fetches, "max age passed: refreshed in the background");
                    var rotated2 = goodJwk.Replace("\"kid\":\"cli\"", "\"kid\":\"rotated-2\"");
                    s.Doc = "{\"keys\":[" + goodJwk + "," + rotated2 + "]}";
                    clock = 630000 + 29999;
                    Use(r, "rotated-2");
                    Assert.AreEqual(3, s.Fetches, "within the cooldown of the refresh: no fetch");
                    clock = 660000;
                    Use(r, "rotated-2");
                    Assert.AreEqual(4, s.Fetches, "after it: one fetch");
                    Use(r, "rotated-2");
                    Assert.AreEqual(4, s.Fetches, "now known: cached");
                }
            }
        }

        [Test]
        public void ConcurrentColdStartsShareOneFetch()
        {
            Init();
            var gate = new ManualResetEventSlim(false);
            try
            {
                using (var s = new JwksServer("{\"keys\":[" + goodJwk + "]}", gate))
                using (var r = new OfbRemoteJwks(s.Url, "{\"timeout_ms\":20000}", null, () => 0))
                {
                    // All callers start while the fetch is held by the server: they must join it.
                    var tasks = Enumerable.Range(0, 50).Select(i => r.JwksForTokenAsync(TokenWithKid("cli"))).ToArray();
                    gate.Set();
                    Task.WaitAll(tasks);
                    Assert.AreEqual(1, s.Fetches);
                    Assert.AreEqual(1, r.Stats.Fetches);
                    foreach (var t in tasks)
                    {
                        t.Result.Dispose();
                    }
                }
            }
            finally
            {
                gate.Set();
            }
        }

        [Test]
        public void ServerThatNeverAnswersTimesOutTyped()
        {
            var silent = new TcpListener(IPAddress.Loopback, 0);
            silent.Start();
            try
            {
                var url = "http://127.0.0.1:" + ((IPEndPoint)silent.LocalEndpoint).Port + "/jwks";
                using (var r = new OfbRemoteJwks(url, "{\"timeout_ms\":300}"))
                {
                    var e = Assert.Throws<AggregateException>(() => r.JwksForTokenAsync(TokenWithKid("x")).Wait());
                    var f = e.InnerException as SeloException;
                    Assert.IsNotNull(f, e.InnerException.ToString());
                    Assert.AreEqual("ofb.jwks.unavailable", f.Code);
                    Assert.AreEqual("timeout", r.LastFailure.Kind);
                    Assert.AreEqual("ofb.jwks.fetch", r.LastFailure.Error.Code);
                    StringAssert.Contains("300 ms", r.LastFailure.Error.Message);
                    Assert.AreEqual(1, r.Stats.Failures);
                }
            }
            finally
            {
                silent.Stop();
            }
        }

        [Test]
        public void MalformedKeyIsSkippedAndReported()
        {
            Init();
            var bad = "{\"kty\":\"RSA\",\"kid\":\"broken\",\"n\":\"!!!\",\"e\":\"AQAB\"}";
            using (var s = new JwksServer("{\"keys\":[" + bad + "," + goodJwk + ",{\"kid\":\"no-kty\"}]}"))
            {
                Assert.Throws<SeloException>(() => Ofb.Jwks.Parse("{\"keys\":[" + bad + "," + goodJwk + "]}"));
                var seen = new List<IReadOnlyList<string>>();
                using (var r = new OfbRemoteJwks(s.Url) { OnSkippedKeys = seen.Add })
                {
                    Assert.IsTrue(new OfbRequestVerifier(r, Answer("fresh"), null).VerifyAsync(Fresh(), Aud, "org-a", "c", Now()).Result.Accepted);
                    Assert.AreEqual(2, r.Stats.Skipped);
                    Assert.AreEqual(2, r.Skipped.Count);
                    StringAssert.Contains("key #0", r.Skipped[0]);
                    StringAssert.Contains("broken", r.Skipped[0]);
                    StringAssert.Contains("key #2", r.Skipped[1]);
                    r.InFlight.Wait(5000);
                    Assert.AreEqual(1, seen.Count);
                    Assert.AreEqual(2, seen[0].Count);
                }
            }
        }

        /// <summary>A stream of n bytes counting what was read.</summary>
        private sealed class Counting : Stream
        {
            private long left;

            public Counting(long n)
            {
                left = n;
            }

            public long ReadBytes { get; private set; }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n = (int)Math.Min(count, left);
                left -= n;
                ReadBytes += n;
                return n;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }

        [Test]
        public void OfbVerifierBodyLimit()
        {
            var v = new OfbRequestVerifier(Jwks(), Answer("fresh"), null) { MaxBodyBytes = 1000 };
            var declared = new Counting(10000000);
            Assert.AreEqual(413, v.VerifyAsync("POST", "application/jwt", declared, 10000000, Aud, "org-a", "c", Now()).Result.Rejection.Status);
            Assert.AreEqual(0, declared.ReadBytes);
            var streamed = new Counting(10000000);
            Assert.AreEqual(413, v.VerifyAsync("POST", "application/jwt", streamed, -1, Aud, "org-a", "c", Now()).Result.Rejection.Status);
            Assert.LessOrEqual(streamed.ReadBytes, 1001);
            var ok = Encoding.UTF8.GetBytes(signer.Sign("{\"data\":{}}", Aud, 0, Now()));
            Assert.IsTrue(new OfbRequestVerifier(Jwks(), Answer("fresh"), null).VerifyAsync("POST", "application/jwt", new MemoryStream(ok), ok.Length, Aud, "org-a", "c", Now()).Result.Accepted);
            Assert.AreEqual(1024 * 1024, new OfbRequestVerifier(Jwks(), Answer("fresh"), null).MaxBodyBytes);
        }

        [Test]
        public void BmpConfirmationBodyLimit()
        {
            using (var s = BmpSigner.Create(BmpSigner.GenerateKey(), string.Empty))
            {
                var none = new List<KeyValuePair<string, string>>();
                Func<string, CancellationToken, Task<byte[]>> unknown = (k, ct) => Task.FromResult<byte[]>(null);
                var declared = new Counting(5000);
                Assert.AreEqual(413, s.ConfirmAsync(none, declared, 5000, unknown, 100).Result.Response.Status);
                Assert.AreEqual(0, declared.ReadBytes);
                var streamed = new Counting(5000);
                var big = s.ConfirmAsync(none, streamed, -1, unknown, 100).Result.Response;
                Assert.AreEqual(413, big.Status);
                CollectionAssert.AreEqual(BodyLimit.TooLargeResponse(100).Body, big.Body, "the core's 413 body");
                Assert.LessOrEqual(streamed.ReadBytes, 101);
                Assert.AreNotEqual(413, s.ConfirmAsync(none, new MemoryStream(new byte[50]), 50, unknown, 100).Result.Response.Status);
            }
        }
    }
}
