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
    /// Fault soak: 200 complete flows (psd005 → psd050 → psd052) over HttpClient against ONE simulator
    /// (SELO_SIM). Each flow carries one fault from a fixed mix (every fault at every step it applies to,
    /// "reconcile fails N times" included), shuffled with a seed (SELO_SOAK_SEED replays a run). Per flow, the
    /// exchanges of the step the fault hit must be exactly the ones that fault must produce (re-handshake
    /// after expire-key, re-init after 480, reconcile after a stored-then-lost psd050, N × outcome_unknown
    /// then a reconciled register…), every other step one clean exchange. At the end the simulator counts
    /// exactly one processed psd050 per registered boleto and no duplicates. The flow count is fixed.
    /// </summary>
    [TestFixture]
    public class SafraSoakTests
    {
        private const int Flows = 200;
        private const int StallMs = 3000;
        private static readonly TimeSpan ClientTimeout = TimeSpan.FromMilliseconds(750);
        private static readonly string[] Steps = { "psd005", "psd050", "psd052" };

        /// <summary>One flow's fault: where it hits and, for "reconcile-fails", how many psd052 fail.</summary>
        private sealed class Plan
        {
            public string Fault;
            public int At;
            public int N;

            public override string ToString() => Fault + (N > 0 ? " x" + N : string.Empty) + " at " + Steps[At];
        }

        /// <summary>
        /// The mix: 200 flows, each fault a fixed number of times, spread over the steps it applies to. Stalls
        /// cost a client timeout each, so they are fewer.
        /// </summary>
        private static List<Plan> Mix(Random rnd)
        {
            var plans = new List<Plan>();
            Action<string, int, int[]> add = (fault, count, steps) =>
            {
                for (int i = 0; i < count; i++)
                {
                    plans.Add(new Plan { Fault = fault, At = steps[i % steps.Length], N = fault == "reconcile-fails" ? 1 + (i % 3) : 0 });
                }
            };
            var all = new[] { 0, 1, 2 };
            var register = new[] { 1 };
            add("none", 20, all);
            add("expire-key", 24, all);
            add("answer-480", 24, all);
            add("answer-550", 24, all);
            add("500-plain", 24, all);
            add("stall", 12, all);
            add("store-then-502", 20, register);
            add("store-then-drop", 20, register);
            add("reconcile-fails", 32, register);
            Assert.AreEqual(Flows, plans.Count);
            return plans.OrderBy(p => rnd.Next()).ToList();
        }

        private static string FaultJson(Plan p)
        {
            var s = Steps[p.At];
            switch (p.Fault)
            {
                case "stall": return "{\"fault\":\"stall\",\"ms\":" + StallMs + ",\"service\":\"" + s + "\"}";
                case "500-plain": return "{\"fault\":\"500-plain\",\"service\":\"" + s + "\"}";
                case "reconcile-fails":
                    return "[{\"fault\":\"store-then-502\"}" + string.Concat(Enumerable.Repeat(",{\"fault\":\"500-plain\",\"service\":\"psd052\"}", p.N)) + "]";
                default: return "{\"fault\":\"" + p.Fault + "\"}";
            }
        }

        /// <summary>What the step the fault hits must exchange (service:status, or service:how a transport failed).</summary>
        private static string[] Expected(Plan p)
        {
            var s = Steps[p.At];
            var reinit = new[] { "psd001:200", "psd001:200", "psd005:200" };
            switch (p.Fault)
            {
                case "none": return new[] { s + ":200" };
                // The bank forgot the key (500 + amc-criptografia) / the token limit (480): a new handshake and
                // authentication, then the call again (psd005 is itself the authentication).
                case "expire-key": return new[] { s + ":500" }.Concat(reinit).Concat(s == "psd005" ? new string[0] : new[] { s + ":200" }).ToArray();
                case "answer-480": return new[] { s + ":480" }.Concat(reinit).Concat(s == "psd005" ? new string[0] : new[] { s + ":200" }).ToArray();
                case "answer-550": return new[] { s + ":550" };
                // Not processed, no reply: resendable calls are sent again; psd050 is queried first (not found), then sent once more.
                case "stall": return s == "psd050" ? new[] { "psd050:timeout", "psd052:550", "psd050:200" } : new[] { s + ":timeout", s + ":200" };
                case "500-plain": return s == "psd050" ? new[] { "psd050:500", "psd052:550", "psd050:200" } : new[] { s + ":500", s + ":200" };
                // Stored, reply lost: psd052 finds it (reconciled), never a second psd050.
                case "store-then-502": return new[] { "psd050:502", "psd052:200" };
                case "store-then-drop": return new[] { "psd050:reset", "psd052:200" };
                // The last register after N outcome_unknown: it starts with psd052, which finds the boleto.
                case "reconcile-fails": return new[] { "psd052:200" };
                default: throw new ArgumentException(p.Fault);
            }
        }

        [Test]
        public void FaultSoak()
        {
            var env = Environment.GetEnvironmentVariable("SELO_SOAK_SEED");
            int seed = string.IsNullOrWhiteSpace(env) ? new Random().Next() : int.Parse(env.Trim(), CultureInfo.InvariantCulture);
            Console.WriteLine("soak seed: " + seed + " (SELO_SOAK_SEED=" + seed + " replays it)");
            var plans = Mix(new Random(seed));
            var watch = Stopwatch.StartNew();
            using (var sim = SafraSimProcess.Start())
            using (var http = new HttpClient())
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            {
                var session = SafraSession.Create(string.Empty, sim.BaseUrl, "CLIENTE01");
                session.SetClientKey(clientKey);
                int ok = 0, business = 0, unknown = 0;
                var okNosso = new List<string>();
                using (var c = SafraClient.OverHttp(session, http, ClientTimeout))
                {
                    Assert.AreEqual(SafraReplyKind.Authenticated, Boletos.Await(c.AuthenticateAsync()).Kind);
                    var warmSeu = 999999.ToString("D10", CultureInfo.InvariantCulture);
                    var warm = Boletos.Await(c.RegisterBoletoAsync(Boletos.With(100000000L, warmSeu)));
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, warm.Kind, warm.Json);
                    okNosso.Add(warm.NossoNumero);

                    for (int i = 0; i < Flows; i++)
                    {
                        var plan = plans[i];
                        long nosso = 200000000L + i;
                        var seu = i.ToString("D10", CultureInfo.InvariantCulture);
                        var boleto = Boletos.With(nosso, seu);
                        var what = "flow " + i + " (" + plan + ", seed " + seed + ")";
                        SafraReply reg = null, last = null;
                        for (int step = 0; step < Steps.Length; step++)
                        {
                            bool hit = step == plan.At && plan.Fault != "none";
                            if (hit)
                            {
                                sim.Inject(FaultJson(plan));
                            }

                            if (hit && plan.Fault == "reconcile-fails")
                            {
                                // N registers end in outcome_unknown: the first loses the stored psd050's reply
                                // and its psd052; each later one starts with psd052, which fails.
                                for (int k = 0; k < plan.N; k++)
                                {
                                    int before = c.Exchanges.Count;
                                    try
                                    {
                                        Boletos.Await(c.RegisterBoletoAsync(boleto));
                                        Assert.Fail(what + ": attempt " + (k + 1) + " must end in outcome_unknown");
                                    }
                                    catch (SeloException e)
                                    {
                                        Assert.AreEqual("safra.boleto.outcome_unknown", e.Code, what + ": " + e.Message);
                                        StringAssert.Contains(nosso.ToString(CultureInfo.InvariantCulture), e.Message, what);
                                    }

                                    unknown++;
                                    CollectionAssert.AreEqual(k == 0 ? new[] { "psd050:502", "psd052:500" } : new[] { "psd052:500" },
                                        c.Exchanges.Skip(before).ToList(), what + ", attempt " + (k + 1));
                                    var open = c.Session.UnresolvedRegistrations();
                                    Assert.IsTrue(open.Any(u => u.NossoNumero == (ulong)nosso), what + ": unresolved " + string.Join(", ", open));
                                }
                            }

                            int from = c.Exchanges.Count;
                            try
                            {
                                if (step == 0)
                                {
                                    last = Boletos.Await(c.AuthenticateAsync());
                                }
                                else if (step == 1)
                                {
                                    last = reg = Boletos.Await(c.RegisterBoletoAsync(boleto));
                                }
                                else
                                {
                                    last = Boletos.Await(c.QueryBoletoAsync(reg.NossoNumero, seu));
                                }
                            }
                            catch (Exception e)
                            {
                                Assert.Fail(what + ", " + Steps[step] + ": " + e + " after " + string.Join(",", c.Exchanges.Skip(from)));
                            }

                            var seen = c.Exchanges.Skip(from).ToList();
                            CollectionAssert.AreEqual(hit ? Expected(plan) : new[] { Steps[step] + ":200" }, seen,
                                what + ", " + Steps[step] + ": " + string.Join(",", seen));
                            if (last.Kind == SafraReplyKind.BusinessError)
                            {
                                break;
                            }
                        }

                        if (plan.Fault == "answer-550")
                        {
                            business++;
                            Assert.AreEqual(SafraReplyKind.BusinessError, last.Kind, what + ": " + last.Json);
                            Assert.IsNotNull(last.Codigo, last.Json);
                        }
                        else
                        {
                            ok++;
                            Assert.AreEqual(SafraReplyKind.BoletoQueried, last.Kind, what + ": " + last.Json);
                            Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind, what);
                            Assert.AreEqual(nosso.ToString(CultureInfo.InvariantCulture), SafraSimProcess.Strip(reg.NossoNumero), what);
                            bool lost = plan.Fault.StartsWith("store-then-", StringComparison.Ordinal) || plan.Fault == "reconcile-fails";
                            Assert.AreEqual(lost, reg.Reconciled, what + ": reconciled exactly when a stored psd050's reply was lost: " + reg.Json);
                            okNosso.Add(reg.NossoNumero);
                        }

                        Assert.AreEqual(0, c.Session.UnresolvedRegistrations().Count, what + ": nothing left unresolved");

                        // Never wedged: a clean operation right after every flow.
                        bool mine = reg != null && reg.Kind == SafraReplyKind.BoletoRegistered;
                        var clean = Boletos.Await(c.QueryBoletoAsync(mine ? reg.NossoNumero : warm.NossoNumero, mine ? seu : warmSeu));
                        Assert.AreEqual(SafraReplyKind.BoletoQueried, clean.Kind, what + ": clean follow-up " + clean.Json);
                    }
                }

                var state = sim.State();
                foreach (var n in okNosso)
                {
                    Assert.AreEqual(1, SafraSimProcess.Psd050Count(state, n), "psd050 processed for nossoNumero " + n + " (seed " + seed + ")");
                }

                long duplicates = state.L("duplicates");
                Assert.AreEqual(0, duplicates, "boletos registered twice (seed " + seed + ")");
                Assert.AreEqual(Flows, ok + business);
                Assert.AreEqual(plans.Where(p => p.Fault == "reconcile-fails").Sum(p => p.N), unknown);
                Console.WriteLine("soak: " + Flows + " flows, " + ok + " ok, " + business + " business errors (answer-550), " + unknown +
                    " outcome_unknown (reconcile fails N times), " + duplicates + " duplicates; " + watch.ElapsedMilliseconds + " ms");
            }
        }
    }
}
