namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Diagnostics;
    using System.Globalization;
    using System.Linq;
    using System.Net.Http;
    using System.Text;
    using System.Threading.Tasks;
    using NUnit.Framework;

    /// <summary>
    /// Failure paths against the core's bank role in-process: the transport loses replies,
    /// times out or cannot connect exactly where a test says; the session decides.
    /// </summary>
    [TestFixture]
    public class SafraFailurePathTests
    {
        private const long T0 = 1800000000;
        private const string Nosso = "123456789";

        private enum Act { StoreThenReset, TimeoutUnprocessed, ConnectRefused }

        private sealed class Scripted : ISafraTransport
        {
            private readonly SafraBank bank;
            public readonly Queue<KeyValuePair<string, Act>> Script = new Queue<KeyValuePair<string, Act>>();
            public int Psd050Processed;

            public Scripted(SafraBank bank)
            {
                this.bank = bank;
            }

            public void Then(string service, Act act) => Script.Enqueue(new KeyValuePair<string, Act>(service, act));

            public Task<HttpResponse> SendAsync(HttpRequest r)
            {
                var service = r.Url.Substring(r.Url.LastIndexOf('/') + 1);
                if (Script.Count > 0 && Script.Peek().Key == service)
                {
                    var act = Script.Dequeue().Value;
                    switch (act)
                    {
                        case Act.StoreThenReset:
                            Assert.AreEqual(200, bank.Handle(r, T0).Status);
                            Psd050Processed += service == "psd050" ? 1 : 0;
                            throw new System.IO.IOException("Connection reset by peer");
                        case Act.TimeoutUnprocessed:
                            throw new TaskCanceledException("request timed out");
                        default:
                            throw new HttpRequestException("connect failed",
                                new System.Net.WebException("Connection refused", System.Net.WebExceptionStatus.ConnectFailure));
                    }
                }

                var resp = bank.Handle(r, T0);
                Psd050Processed += service == "psd050" ? 1 : 0;
                return Task.FromResult(resp);
            }
        }

        private static void WithClient(Action<SafraClient, Scripted> body)
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                var session = SafraSession.Create(string.Empty, "https://bank.test/psd", "CLIENTE01");
                session.SetClientKey(clientKey);
                var t = new Scripted(bank);
                using (var c = new SafraClient(session, t, () => T0))
                {
                    Assert.AreEqual(SafraReplyKind.Authenticated, c.AuthenticateAsync().Result.Kind);
                    body(c, t);
                }
            }
        }

        private static SeloException Fails(Task t)
        {
            var e = Assert.Throws<AggregateException>(() => t.Wait());
            Assert.IsInstanceOf<SeloException>(e.InnerException, e.ToString());
            return (SeloException)e.InnerException;
        }

        [Test]
        public void OnlyPsd050IsNotResendable()
        {
            WithClient((c, t) =>
            {
                ulong id;
                var reg = c.Session.PrepareNext(SafraOp.RegisterBoleto, Json.Text("safra/boleto-sample.json"), T0, out id);
                StringAssert.EndsWith("/psd050", reg.Url);
                Assert.IsFalse(reg.Resendable);
                var q = c.Session.PrepareNext(SafraOp.QueryBoleto, "{\"documento\":{\"nossoNumero\":\"" + Nosso + "\",\"seuNumero\":\"0000004021\"}}", T0, out id);
                StringAssert.EndsWith("/psd052", q.Url);
                Assert.IsTrue(q.Resendable);
            });
        }

        [Test]
        public void LostReplyOfPsd050IsReconciledNotResent()
        {
            WithClient((c, t) =>
            {
                int from = c.Exchanges.Count;
                t.Then("psd050", Act.StoreThenReset);
                var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                Assert.IsTrue(reg.Reconciled, reg.Json);
                Assert.AreEqual(Nosso, reg.NossoNumero.TrimStart('0'));
                CollectionAssert.AreEqual(new[] { "psd050:reset", "psd052:200" }, c.Exchanges.Skip(from).ToList());
                Assert.AreEqual(1, t.Psd050Processed);
                var q = c.QueryBoletoAsync(reg.NossoNumero, "0000004021").Result;
                Assert.AreEqual(SafraReplyKind.BoletoQueried, q.Kind);
                Assert.IsFalse(q.Reconciled);
            });
        }

        [Test]
        public void Psd050TimedOutUnprocessedIsQueriedThenRegisteredOnce()
        {
            WithClient((c, t) =>
            {
                int from = c.Exchanges.Count;
                t.Then("psd050", Act.TimeoutUnprocessed);
                var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                Assert.IsFalse(reg.Reconciled, reg.Json);
                CollectionAssert.AreEqual(new[] { "psd050:timeout", "psd052:550", "psd050:200" }, c.Exchanges.Skip(from).ToList());
                Assert.AreEqual(1, t.Psd050Processed);
            });
        }

        [Test]
        public void AmbiguousReconcileQueryIsOutcomeUnknownAndTheSessionGoesOn()
        {
            WithClient((c, t) =>
            {
                int from = c.Exchanges.Count;
                t.Then("psd050", Act.TimeoutUnprocessed);
                t.Then("psd052", Act.TimeoutUnprocessed);
                var e = Fails(c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")));
                Assert.AreEqual("safra.boleto.outcome_unknown", e.Code);
                StringAssert.Contains(Nosso, e.Message);
                CollectionAssert.AreEqual(new[] { "psd050:timeout", "psd052:timeout" }, c.Exchanges.Skip(from).ToList());
                Assert.AreEqual(0, t.Psd050Processed);
                Assert.AreEqual(1, c.Session.UnresolvedRegistrations().Count);
                // A psd052 that answers for this boleto (not found) settles the promise…
                Assert.AreEqual(SafraReplyKind.BusinessError, c.QueryBoletoAsync(Nosso, "0000004021").Result.Kind);
                Assert.AreEqual(0, c.Session.UnresolvedRegistrations().Count);
                // …so the register sends psd050 directly.
                from = c.Exchanges.Count;
                var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                Assert.IsFalse(reg.Reconciled);
                CollectionAssert.AreEqual(new[] { "psd050:200" }, c.Exchanges.Skip(from).ToList());
                Assert.AreEqual(1, t.Psd050Processed);
            });
        }

        [Test]
        public void UnresolvedRegistrationIsListedCarriedAndResolvable()
        {
            WithClient((c, t) =>
            {
                Assert.AreEqual(0, c.Session.UnresolvedRegistrations().Count);
                t.Then("psd050", Act.TimeoutUnprocessed);
                t.Then("psd052", Act.TimeoutUnprocessed);
                Assert.AreEqual("safra.boleto.outcome_unknown", Fails(c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json"))).Code);
                var open = c.Session.UnresolvedRegistrations();
                Assert.AreEqual(1, open.Count);
                Assert.AreEqual(123456789UL, open[0].NossoNumero);
                Assert.AreEqual("0000004021", open[0].SeuNumero);
                Assert.AreEqual(T0, open[0].Since);

                // Carried by export/import; kept across an unrelated operation.
                using (var copy = SafraSession.Import(c.Session.Export()))
                {
                    var kept = copy.UnresolvedRegistrations();
                    Assert.AreEqual(1, kept.Count);
                    Assert.AreEqual(123456789UL, kept[0].NossoNumero);
                }

                Assert.AreEqual(SafraReplyKind.BusinessError, c.QueryBoletoAsync("987654321", "0000000001").Result.Kind);
                Assert.AreEqual(1, c.Session.UnresolvedRegistrations().Count);

                // Resolved by the host: forgotten, and the next register sends psd050 directly.
                Assert.IsFalse(c.Session.ResolveRegistration(987654321UL));
                Assert.IsTrue(c.Session.ResolveRegistration(123456789UL));
                Assert.IsFalse(c.Session.ResolveRegistration(123456789UL));
                Assert.AreEqual(0, c.Session.UnresolvedRegistrations().Count);
                int from = c.Exchanges.Count;
                var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                CollectionAssert.AreEqual(new[] { "psd050:200" }, c.Exchanges.Skip(from).ToList());
                Assert.AreEqual(1, t.Psd050Processed);
                c.Session.Dispose();
                Assert.AreEqual("ffi.closed", Assert.Throws<SeloException>(() => c.Session.UnresolvedRegistrations()).Code);
                Assert.AreEqual("ffi.closed", Assert.Throws<SeloException>(() => c.Session.ResolveRegistration(1)).Code);
            });
        }

        [Test]
        public void ConnectFailureIsSentAgainWithoutAQuery()
        {
            WithClient((c, t) =>
            {
                int from = c.Exchanges.Count;
                t.Then("psd050", Act.ConnectRefused);
                var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                CollectionAssert.AreEqual(new[] { "psd050:connect", "psd050:200" }, c.Exchanges.Skip(from).ToList());
            });
        }

        [Test]
        public void EndlessConnectFailuresEndInTooManyRecoveriesThenAFreshOperation()
        {
            WithClient((c, t) =>
            {
                for (int i = 0; i < 50; i++)
                {
                    t.Then("psd052", Act.ConnectRefused);
                }

                Assert.AreEqual("safra.session.too_many_recoveries", Fails(c.QueryBoletoAsync(Nosso, "0000004021")).Code);
                t.Script.Clear();
                Assert.AreEqual(SafraReplyKind.BusinessError, c.QueryBoletoAsync(Nosso, "0000004021").Result.Kind);
            });
        }

        [Test]
        public void FailuresAreClassifiedByWhatTheHttpStackThrew()
        {
            Assert.AreEqual(SafraTransportFailure.Connect, SafraClient.FailureOf(new HttpRequestException("x",
                new System.Net.WebException("refused", System.Net.WebExceptionStatus.ConnectFailure))));
            Assert.AreEqual(SafraTransportFailure.Connect, SafraClient.FailureOf(new HttpRequestException("x",
                new System.Net.WebException("dns", System.Net.WebExceptionStatus.NameResolutionFailure))));
            Assert.AreEqual(SafraTransportFailure.Connect, SafraClient.FailureOf(
                new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));
            Assert.AreEqual(SafraTransportFailure.Timeout, SafraClient.FailureOf(new TaskCanceledException()));
            Assert.AreEqual(SafraTransportFailure.Reset, SafraClient.FailureOf(new HttpRequestException("x",
                new System.Net.WebException("closed", System.Net.WebExceptionStatus.ReceiveFailure))));
            Assert.AreEqual(SafraTransportFailure.Reset, SafraClient.FailureOf(new System.IO.IOException("reset")));
            Assert.AreEqual(SafraTransportFailure.Other, SafraClient.FailureOf(new InvalidOperationException("?")));
            Assert.AreEqual(SafraTransportFailure.Timeout, SafraClient.FailureOf(
                new SafraTransportException(SafraTransportFailure.Timeout, "custom", null)));
        }
    }

    /// <summary>
    /// Fault soak: 200 complete flows (psd005 → psd050 → psd052) over HttpClient against ONE
    /// simulator (SELO_SIM), a fault drawn at random (seeded; SELO_SOAK_SEED replays) just before
    /// a random step. Every flow ends in success or a typed error, no boleto is registered twice,
    /// and the session runs a clean operation after every flow.
    /// </summary>
    [TestFixture]
    public class SafraSoakTests
    {
        private const int Flows = 200;
        private const int StallMs = 450;
        private static readonly TimeSpan ClientTimeout = TimeSpan.FromMilliseconds(250);
        private static readonly string[] Faults =
        {
            "none", "expire-key", "answer-480", "store-then-502", "store-then-drop", "stall", "answer-550", "500-plain",
        };

        private static readonly string[] Steps = { "psd005", "psd050", "psd052" };
        private static readonly string[] Typed = { "safra.boleto.outcome_unknown", "safra.session.too_many_recoveries" };

        private static string FaultJson(string fault, string service)
        {
            switch (fault)
            {
                case "stall": return "{\"fault\":\"stall\",\"ms\":" + StallMs + ",\"service\":\"" + service + "\"}";
                case "500-plain": return "{\"fault\":\"500-plain\",\"service\":\"" + service + "\"}";
                default: return "{\"fault\":\"" + fault + "\"}";
            }
        }

        private static string Boleto(string template, long nosso, int flow)
        {
            var seu = flow.ToString("D10", CultureInfo.InvariantCulture);
            var b = template.Replace("\"nossoNumero\": 123456789", "\"nossoNumero\": " + nosso)
                .Replace("\"seuNumero\": \"0000004021\"", "\"seuNumero\": \"" + seu + "\"");
            Assert.IsTrue(b.Contains(nosso.ToString(CultureInfo.InvariantCulture)) && b.Contains(seu), "template changed");
            return b;
        }

        private static string Strip(string n)
        {
            var s = n.TrimStart('0');
            return s.Length == 0 ? "0" : s;
        }

        private static T Await<T>(Task<T> t)
        {
            try
            {
                return t.Result;
            }
            catch (AggregateException e) when (e.InnerExceptions.Count == 1)
            {
                throw e.InnerException;
            }
        }

        [Test]
        public void FaultSoak()
        {
            var sim = Environment.GetEnvironmentVariable("SELO_SIM");
            Assert.IsFalse(string.IsNullOrEmpty(sim), "SELO_SIM is not set: the path of the selo CLI (scripts/test-ffi sets it)");
            var env = Environment.GetEnvironmentVariable("SELO_SOAK_SEED");
            int seed = string.IsNullOrWhiteSpace(env) ? new Random().Next() : int.Parse(env.Trim(), CultureInfo.InvariantCulture);
            Console.WriteLine("soak seed: " + seed + " (SELO_SOAK_SEED=" + seed + " replays it)");
            var rnd = new Random(seed);
            var template = Json.Text("safra/boleto-sample.json");
            var psi = new ProcessStartInfo(sim, "sim safra --port 0 --token-lifetime 300 --bank-key \"" +
                System.IO.Path.Combine(Json.VectorsRoot, "external/keys/rsa1024-bank.pem") + "\"")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
            };
            var watch = Stopwatch.StartNew();
            using (var p = Process.Start(psi))
            {
                try
                {
                    var first = p.StandardOutput.ReadLine();
                    Assert.IsTrue(first != null && first.StartsWith("listening on http://127.0.0.1:", StringComparison.Ordinal), first);
                    var baseUrl = first.Substring("listening on ".Length).Trim();
                    if (!baseUrl.EndsWith("/", StringComparison.Ordinal))
                    {
                        baseUrl += "/";
                    }

                    using (var control = new HttpClient())
                    using (var http = new HttpClient())
                    using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
                    {
                        Action<string> inject = json =>
                        {
                            using (var r = control.PostAsync(baseUrl + "_control/fault", new StringContent(json, Encoding.UTF8, "application/json")).Result)
                            {
                                Assert.AreEqual(200, (int)r.StatusCode / 100 * 100, json + " -> " + r.Content.ReadAsStringAsync().Result);
                            }
                        };
                        var session = SafraSession.Create(string.Empty, baseUrl, "CLIENTE01");
                        session.SetClientKey(clientKey);
                        int ok = 0, typed = 0;
                        var okNosso = new List<string>();
                        var typedBy = new SortedDictionary<string, int>(StringComparer.Ordinal);
                        Action<string> countTyped = k => typedBy[k] = (typedBy.ContainsKey(k) ? typedBy[k] : 0) + 1;
                        using (var c = SafraClient.OverHttp(session, http, ClientTimeout))
                        {
                            Assert.AreEqual(SafraReplyKind.Authenticated, Await(c.AuthenticateAsync()).Kind);
                            var warm = Await(c.RegisterBoletoAsync(Boleto(template, 100000000L, 999999)));
                            Assert.AreEqual(SafraReplyKind.BoletoRegistered, warm.Kind, warm.Json);
                            okNosso.Add(warm.NossoNumero);
                            var warmSeu = 999999.ToString("D10", CultureInfo.InvariantCulture);

                            for (int i = 0; i < Flows; i++)
                            {
                                var fault = Faults[rnd.Next(Faults.Length)];
                                int at = rnd.Next(Steps.Length);
                                if (fault.StartsWith("store-then-", StringComparison.Ordinal))
                                {
                                    at = 1;
                                }

                                long nosso = 200000000L + i;
                                var seu = i.ToString("D10", CultureInfo.InvariantCulture);
                                var what = "flow " + i + " (" + fault + " before " + Steps[at] + ", seed " + seed + ")";
                                int from = c.Exchanges.Count;
                                SafraReply reg = null, last = null;
                                string error = null;
                                try
                                {
                                    for (int step = 0; step < Steps.Length; step++)
                                    {
                                        if (step == at && fault != "none")
                                        {
                                            inject(FaultJson(fault, Steps[at]));
                                        }

                                        if (step == 0)
                                        {
                                            last = Await(c.AuthenticateAsync());
                                        }
                                        else if (step == 1)
                                        {
                                            last = reg = Await(c.RegisterBoletoAsync(Boleto(template, nosso, i)));
                                        }
                                        else
                                        {
                                            last = Await(c.QueryBoletoAsync(reg.NossoNumero, seu));
                                        }

                                        if (last.Kind == SafraReplyKind.BusinessError)
                                        {
                                            break;
                                        }
                                    }
                                }
                                catch (SeloException e)
                                {
                                    error = e.Code;
                                    Assert.IsTrue(Typed.Contains(e.Code), what + ": unexpected error " + e.Message);
                                }
                                catch (Exception e)
                                {
                                    Assert.Fail(what + ": not a typed error: " + e);
                                }

                                var ex = c.Exchanges.Skip(from).ToList();
                                bool transportFailed = ex.Any(x => !char.IsDigit(x[x.Length - 1]));
                                if (error != null)
                                {
                                    typed++;
                                    countTyped(error);
                                    Assert.IsTrue(transportFailed || ex.Any(x => x.EndsWith(":500", StringComparison.Ordinal) || x.EndsWith(":502", StringComparison.Ordinal)), what + ": " + error + " " + string.Join(",", ex));
                                }
                                else if (last.Kind == SafraReplyKind.BusinessError)
                                {
                                    typed++;
                                    countTyped("550 business error");
                                    Assert.AreEqual("answer-550", fault, what + ": " + last.Json);
                                    Assert.IsNotNull(last.Codigo, last.Json);
                                }
                                else
                                {
                                    ok++;
                                    Assert.AreEqual(SafraReplyKind.BoletoQueried, last.Kind, what);
                                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind, what);
                                    Assert.AreEqual(nosso.ToString(CultureInfo.InvariantCulture), Strip(reg.NossoNumero), what);
                                    if (fault.StartsWith("store-then-", StringComparison.Ordinal))
                                    {
                                        Assert.IsTrue(reg.Reconciled, what + ": the lost psd050 was stored, so psd052 must find it: " + reg.Json + " " + string.Join(",", ex));
                                    }
                                    else if (!transportFailed)
                                    {
                                        Assert.IsFalse(reg.Reconciled, what + ": reconciled without an ambiguous psd050");
                                    }

                                    okNosso.Add(reg.NossoNumero);
                                }

                                // Never wedged: a clean operation right after every flow.
                                bool mine = error == null && reg != null && reg.Kind == SafraReplyKind.BoletoRegistered;
                                var clean = Await(c.QueryBoletoAsync(mine ? reg.NossoNumero : warm.NossoNumero, mine ? seu : warmSeu));
                                Assert.AreEqual(SafraReplyKind.BoletoQueried, clean.Kind, what + ": clean follow-up " + clean.Json);
                            }
                        }

                        var stateText = control.GetStringAsync(baseUrl + "_control/state").Result;
                        var state = ((JObj)Json.Parse(stateText)).O("protocol");
                        Assert.IsTrue(state != null && state.Has("duplicates") && state.Has("psd050_counts"), stateText);
                        long duplicates = state.L("duplicates");
                        var counts = state.O("psd050_counts");
                        foreach (var n in okNosso)
                        {
                            long seen = counts.Members.Where(m => Strip(m.Key) == Strip(n)).Sum(m => long.Parse(((JNum)m.Value).Text, CultureInfo.InvariantCulture));
                            Assert.AreEqual(1, seen, "psd050 processed for nossoNumero " + n + " (seed " + seed + ")");
                        }

                        Assert.AreEqual(0, duplicates, "boletos registered twice (seed " + seed + ")");
                        Assert.AreEqual(Flows, ok + typed);
                        Console.WriteLine("soak: " + Flows + " flows, " + ok + " ok, " + typed + " typed errors, " + duplicates + " duplicates");
                        Console.WriteLine("(the soak ran in " + watch.ElapsedMilliseconds + " ms; typed errors by kind: " +
                            string.Join(", ", typedBy.Select(kv => kv.Key + " x" + kv.Value)) + ")");
                        Assert.IsTrue(ok > Flows / 2, "most flows must succeed: " + ok + " of " + Flows + " (seed " + seed + ")");
                    }
                }
                finally
                {
                    if (!p.HasExited)
                    {
                        p.Kill();
                    }

                    p.WaitForExit();
                }
            }
        }
    }
}
