namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Diagnostics;
    using System.Linq;
    using System.Threading;
    using System.Threading.Tasks;
    using NUnit.Framework;

    /// <summary>The in-process bank behind a delay: every call takes <c>delayMs</c>, so calls really overlap.</summary>
    public sealed class DelayedBank : ISafraTransport
    {
        private readonly SafraBank bank;
        private readonly Func<long> clock;
        private int inFlight;

        public DelayedBank(SafraBank bank, Func<long> clock, int delayMs)
        {
            this.bank = bank;
            this.clock = clock;
            DelayMs = delayMs;
        }

        public int DelayMs { get; set; }

        /// <summary>The most requests the bank had at once.</summary>
        public int MaxInFlight { get; private set; }

        public async Task<HttpResponse> SendAsync(HttpRequest request)
        {
            var n = Interlocked.Increment(ref inFlight);
            lock (this) MaxInFlight = Math.Max(MaxInFlight, n);
            try
            {
                await Task.Delay(DelayMs).ConfigureAwait(false);
                return bank.Handle(request, clock());
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }

    /// <summary>SPEC §5 in C#: one SafraClient, many tasks; several clients sharing one session (MemorySafraShare).</summary>
    [TestFixture]
    public class SafraConcurrencyTests
    {
        private const long T0 = 1800000000;

        private static int Count(SafraClient c, string exchange) => c.Exchanges.Count(e => e == exchange);

        private static SafraClient Client(SafraBank bank, PrivateKey clientKey, int delayMs, out DelayedBank transport)
        {
            var session = SafraSession.Create(string.Empty, "https://bank.test/psd", "CLIENTE01");
            session.SetClientKey(clientKey);
            transport = new DelayedBank(bank, () => T0, delayMs);
            return new SafraClient(session, transport, () => T0);
        }

        private static void RegisterAll(SafraClient c, long first, int n, int inFlight)
        {
            using (var gate = new SemaphoreSlim(inFlight))
            {
                var tasks = Enumerable.Range(0, n).Select(async i =>
                {
                    await gate.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        return await c.RegisterBoletoAsync(Boletos.With(first + i, "S" + (first + i))).ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }).ToArray();
                foreach (var t in tasks)
                {
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, Boletos.Await(t).Kind);
                }
            }
        }

        [Test]
        public void SixteenConcurrentTasksMakeOneHandshake()
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                DelayedBank t;
                using (var c = Client(bank, clientKey, 10, out t))
                {
                    RegisterAll(c, 9000000, 64, 16);
                    Assert.AreEqual(2, Count(c, "psd001:200"), string.Join(",", c.Exchanges));
                    Assert.AreEqual(1, Count(c, "psd005:200"), string.Join(",", c.Exchanges));
                    Assert.AreEqual(64, Count(c, "psd050:200"));
                    Assert.IsTrue(t.MaxInFlight > 1, "calls overlapped: " + t.MaxInFlight);
                    Assert.AreEqual(0UL, c.Session.InFlight);
                }
            }
        }

        [Test]
        public void SixteenInFlightTakeAFractionOfTheTimeOfOne()
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                DelayedBank t;
                using (var c = Client(bank, clientKey, 0, out t))
                {
                    Boletos.Await(c.AuthenticateAsync());
                    t.DelayMs = 50;
                    var sw = Stopwatch.StartNew();
                    RegisterAll(c, 9100000, 16, 1);
                    var one = sw.ElapsedMilliseconds;
                    sw.Restart();
                    RegisterAll(c, 9200000, 16, 16);
                    var sixteen = sw.ElapsedMilliseconds;
                    Console.WriteLine("dotnet concurrency: 16 registrations at 50 ms: 1 in flight " + one + " ms, 16 in flight " + sixteen + " ms");
                    Assert.IsTrue(one >= 16 * 50, "the delay applied: " + one);
                    Assert.IsTrue(sixteen <= 0.3 * one, "16 in flight " + sixteen + " ms, 1 in flight " + one + " ms");
                }
            }
        }

        [Test]
        public void TheSameBoletoTwiceAtOnceIsInFlightAndACancelledTokenCancelsTheOperation()
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                DelayedBank t;
                using (var c = Client(bank, clientKey, 0, out t))
                {
                    Boletos.Await(c.AuthenticateAsync());
                    t.DelayMs = 300;
                    var b = Boletos.With(9300000, "S9300000");
                    var first = c.RegisterBoletoAsync(b);
                    var e = Assert.Throws<SeloException>(() => Boletos.Await(c.RegisterBoletoAsync(b)));
                    Assert.AreEqual("safra.boleto.in_flight", e.Code);
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, Boletos.Await(first).Kind);

                    using (var cts = new CancellationTokenSource())
                    {
                        var q = c.QueryBoletoAsync("9300000", "S9300000", cts.Token);
                        Assert.AreEqual(1UL, c.Session.InFlight);
                        cts.Cancel();
                        Assert.Throws<OperationCanceledException>(() =>
                        {
                            try
                            {
                                Boletos.Await(q);
                            }
                            catch (TaskCanceledException x)
                            {
                                throw new OperationCanceledException(x.Message, x);
                            }
                        });
                        Assert.AreEqual(0UL, c.Session.InFlight, "the cancelled operation ended");
                    }
                }
            }
        }

        [Test]
        public void TwoClientsSharingOneMemorySafraShareMakeOneHandshakeBetweenThem()
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                var share = new MemorySafraShare("dotnet-fleet", Enumerable.Repeat((byte)7, 32).ToArray());
                DelayedBank ta, tb;
                using (var a = Client(bank, clientKey, 10, out ta).Shared(share))
                using (var b = Client(bank, clientKey, 10, out tb).Shared(share))
                {
                    var ra = Task.Run(() => RegisterAll(a, 9400000, 24, 8));
                    var rb = Task.Run(() => RegisterAll(b, 9500000, 24, 8));
                    Task.WaitAll(ra, rb);
                    var all = a.Exchanges.Concat(b.Exchanges).ToList();
                    Assert.AreEqual(2, all.Count(x => x == "psd001:200"), string.Join(",", all));
                    Assert.AreEqual(1, all.Count(x => x == "psd005:200"), string.Join(",", all));
                    Assert.AreEqual(48, all.Count(x => x == "psd050:200"));
                    Assert.AreEqual(1UL, a.ShareStats.Handshakes + b.ShareStats.Handshakes, a.ShareStats + " " + b.ShareStats);
                    Assert.AreEqual(1UL, a.ShareStats.Adopted + b.ShareStats.Adopted, a.ShareStats + " " + b.ShareStats);
                    Assert.AreEqual(a.Session.SessionId, b.Session.SessionId);
                    Assert.IsFalse(a.HoldsLease || b.HoldsLease, "released");
                    // At rest: a sealed record and the fence; never the session id (nor the key or token).
                    var rest = share.Snapshot();
                    Assert.IsTrue(rest["selo:{safra:dotnet-fleet}:record"].StartsWith("selo1.1.", StringComparison.Ordinal));
                    Assert.IsFalse(rest.Values.Any(v => v.Contains(a.Session.SessionId)));

                    // The bank forgets the key: one re-handshake between them.
                    bank.Inject(SafraFault.ExpireKey);
                    var before = a.Exchanges.Count(x => x == "psd005:200") + b.Exchanges.Count(x => x == "psd005:200");
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, Boletos.Await(b.RegisterBoletoAsync(Boletos.With(9600001, "S1"))).Kind);
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, Boletos.Await(a.RegisterBoletoAsync(Boletos.With(9600002, "S2"))).Kind);
                    var after = a.Exchanges.Count(x => x == "psd005:200") + b.Exchanges.Count(x => x == "psd005:200");
                    Assert.AreEqual(before + 1, after, string.Join(",", a.Exchanges) + " / " + string.Join(",", b.Exchanges));
                    Assert.AreEqual(a.Session.SessionId, b.Session.SessionId);

                    // The store down: a typed error without secrets, counted; nothing sent.
                    share.Up = false;
                    var sent = ta.MaxInFlight;
                    using (var c = Client(bank, clientKey, 0, out ta).Shared(share))
                    {
                        var e = Assert.Throws<SeloException>(() => Boletos.Await(c.RegisterBoletoAsync(Boletos.With(9600003, "S3"))));
                        Assert.AreEqual("shared.store_unavailable", e.Code);
                        Assert.IsFalse(e.Message.Contains("selo:{safra"), e.Message);
                        Assert.AreEqual(1UL, c.ShareStats.StoreErrors);
                        Assert.AreEqual(0, c.Exchanges.Count);
                    }

                    share.Up = true;
                }
            }
        }

        [Test]
        public void MemoryJtiStoreAndBmpPendingAreSharedByTheirHelpers()
        {
            var jti = new MemoryJtiStore();
            Assert.AreEqual("fresh", jti.CheckAndInsertAsync("k", 60, CancellationToken.None).Result);
            Assert.AreEqual("replayed", jti.CheckAndInsertAsync("k", 60, CancellationToken.None).Result);
            OfbReplayStore asDelegate = jti.CheckAndInsertAsync;
            Assert.AreEqual("replayed", asDelegate("k", 60, CancellationToken.None).Result);

            var pending = new MemoryBmpPending();
            var body = System.Text.Encoding.UTF8.GetBytes("{\"a\":1}");
            Assert.IsTrue(pending.Record("idem-1", body));
            Assert.IsTrue(pending.Record("idem-1", body), "the same bytes: a retry");
            Assert.IsFalse(pending.Record("idem-1", System.Text.Encoding.UTF8.GetBytes("{\"a\":2}")));
            CollectionAssert.AreEqual(body, pending.Lookup("idem-1"));
            Assert.IsTrue(MemoryBmpPending.StoreKey("idem-1").StartsWith("selo:bmp:pending:{6:idem-1}", StringComparison.Ordinal), MemoryBmpPending.StoreKey("idem-1"));
            pending.Settle("idem-1");
            Assert.IsNull(pending.Lookup("idem-1"));
        }

        /// <summary>dotnet/README.md's "Many calls, many instances" example, compiled with mcs and run verbatim.</summary>
        [Test]
        public void TheReadmeExampleRunsVerbatim()
        {
            var readme = System.IO.File.ReadAllText(System.IO.Path.Combine(Json.VectorsRoot, "..", "..", "dotnet", "README.md"));
            var m = System.Text.RegularExpressions.Regex.Match(readme, "<!-- dotnet-example: ManyInstances.cs -->\\s*```csharp\\n(.*?)\\n```",
                System.Text.RegularExpressions.RegexOptions.Singleline);
            Assert.IsTrue(m.Success, "dotnet/README.md has the ManyInstances.cs block");
            var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "selo-dotnet-example-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(dir);
            try
            {
                var selo = typeof(SafraClient).Assembly.Location;
                var libDir = System.IO.Path.GetDirectoryName(selo);
                System.IO.File.Copy(selo, System.IO.Path.Combine(dir, "Selo.dll"));
                System.IO.File.WriteAllText(System.IO.Path.Combine(dir, "ManyInstances.cs"), m.Groups[1].Value + "\n");
                Assert.AreEqual(0, Run(dir, "mcs", "-nologo -r:Selo.dll -r:System.Net.Http -out:ManyInstances.exe ManyInstances.cs", null, null));
                using (var sim = SafraSimProcess.Start())
                {
                    string output;
                    var rc = Run(dir, "mono", "ManyInstances.exe", sim.BaseUrl, libDir, out output);
                    Assert.AreEqual(0, rc, output);
                    StringAssert.Contains("32 registered, handshakes: 1", output);
                }
            }
            finally
            {
                System.IO.Directory.Delete(dir, true);
            }
        }

        private static int Run(string dir, string file, string args, string safraUrl, string libDir)
        {
            string output;
            var rc = Run(dir, file, args, safraUrl, libDir, out output);
            Console.WriteLine(output);
            return rc;
        }

        private static int Run(string dir, string file, string args, string safraUrl, string libDir, out string output)
        {
            var psi = new ProcessStartInfo(file, args)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = dir,
            };
            if (safraUrl != null)
            {
                psi.EnvironmentVariables["SELO_SAFRA_URL"] = safraUrl;
            }

            if (libDir != null)
            {
                psi.EnvironmentVariables["LD_LIBRARY_PATH"] = libDir + ":" + (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? string.Empty);
            }

            using (var p = Process.Start(psi))
            {
                var err = p.StandardError.ReadToEndAsync();
                output = p.StandardOutput.ReadToEnd();
                Assert.IsTrue(p.WaitForExit(60000), file + " did not finish");
                output += err.Result;
                return p.ExitCode;
            }
        }
    }
}
