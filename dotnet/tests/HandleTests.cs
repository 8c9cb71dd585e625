namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Linq;
    using System.Runtime.CompilerServices;
    using System.Threading;
    using NUnit.Framework;

    /// <summary>
    /// Handles are SafeHandles (src/Handles.cs): Dispose racing with calls on
    /// other threads, Dispose from inside a call, Dispose twice, and handles
    /// freed by the finalizer. Reaches the internal release counters through
    /// InternalsVisibleTo("Selo.Tests").
    /// </summary>
    [TestFixture]
    public class HandleTests
    {
        private const int Threads = 4;
        private const int Rounds = 20;

        private static string ClientPem => Json.Text("external/keys/rsa1024-client.pem");

        private static void AssertClosed(string typeName, TestDelegate call)
        {
            var e = Assert.Throws<SeloException>(call, typeName);
            Assert.AreEqual("ffi.closed", e.Code, typeName);
            Assert.AreEqual(4, e.Status, typeName);
            Assert.AreEqual("ffi.closed: " + typeName + " is disposed", e.Message, typeName);
        }

        /// <summary>
        /// Threads call op on one object until it is closed while another thread
        /// disposes it once some calls succeeded. Every call succeeds or throws
        /// ffi.closed (no crash, no ObjectDisposedException, no ffi.handle from a
        /// freed pointer); the native free runs exactly once. Returns the calls
        /// that succeeded.
        /// </summary>
        private static int Race(Handle target, NativeHandle safe, Action op)
        {
            int ok = 0, closed = 0;
            var unexpected = new List<Exception>();
            var start = new ManualResetEventSlim(false);
            var workers = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
            {
                start.Wait();
                while (true)
                {
                    try
                    {
                        op();
                        Interlocked.Increment(ref ok);
                    }
                    catch (SeloException e) when (e.Code == "ffi.closed")
                    {
                        Interlocked.Increment(ref closed);
                        return;
                    }
                    catch (Exception e)
                    {
                        lock (unexpected) unexpected.Add(e);
                        return;
                    }
                }
            })).ToList();
            workers.ForEach(t => t.Start());
            start.Set();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref ok) < Threads * 25 && DateTime.UtcNow < deadline && workers.Any(t => t.IsAlive))
            {
                Thread.Yield();
            }

            target.Dispose();
            foreach (var t in workers)
            {
                Assert.IsTrue(t.Join(TimeSpan.FromSeconds(30)), "a caller never saw ffi.closed");
            }

            Assert.IsEmpty(unexpected, string.Join("\n", unexpected.Select(e => e.ToString())));
            Assert.AreEqual(Threads, closed, "every caller ends on ffi.closed");
            Assert.GreaterOrEqual(ok, Threads * 25, "calls before Dispose succeed");
            Assert.IsTrue(target.IsClosed);
            Assert.AreEqual(1, safe.Frees, "freed once, when the last call returned");
            return ok;
        }

        [Test]
        public void DisposeRacingCallsOnOneKey()
        {
            var pem = ClientPem;
            for (int round = 0; round < Rounds; round++)
            {
                var key = PrivateKey.FromPem(pem);
                byte[] spki;
                using (var pub = key.PublicKey())
                {
                    spki = pub.Encode("der-spki");
                }

                Race(key, key.Safe, () =>
                {
                    Assert.AreEqual(1024, key.Bits);
                    using (var pub = key.PublicKey())
                    {
                        CollectionAssert.AreEqual(spki, pub.Encode("der-spki"));
                    }
                });
                AssertClosed("PrivateKey", () => { var b = key.Bits; });
                AssertClosed("PrivateKey", () => key.PublicKey());
            }
        }

        [Test]
        public void DisposeRacingCallsOnOneSession()
        {
            for (int round = 0; round < Rounds; round++)
            {
                var session = SafraSession.Create(string.Empty, "https://safra.invalid", "CLIENTE01");
                var blob = session.Export();
                Race(session, session.Safe, () =>
                {
                    Assert.AreEqual(SafraState.New, session.State);
                    CollectionAssert.AreEqual(blob, session.Export());
                });
                AssertClosed("SafraSession", () => { var s = session.State; });
                AssertClosed("SafraSession", () => session.Export());
            }
        }

        /// <summary>
        /// Dispose from the lookup callback, i.e. while selo_bmp_confirm is running on
        /// the signer: the handle is closed at once, but freed only when the call returns
        /// (which still answers with the signer's HMAC).
        /// </summary>
        [Test]
        public void DisposeDuringANativeCallDefersTheFree()
        {
            var v = Json.Load("bmp/confirm.json");
            var original = Json.U(v.S("original"));
            var ikey = v.S("idempotency_key");
            var headers = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("Content-Type", "application/json"),
                new KeyValuePair<string, string>("IdempotencyKey", ikey),
            };
            var s = BmpSigner.Create(v.S("key"), string.Empty);
            bool calledBack = false, closedInside = false;
            int freesInside = -1;
            string diff;
            var r = s.Confirm(headers, original, k =>
            {
                calledBack = true;
                s.Dispose();
                closedInside = s.IsClosed;
                freesInside = s.Safe.Frees;
                return original;
            }, out diff);
            Assert.IsTrue(calledBack, "the lookup ran");
            Assert.IsTrue(closedInside, "Dispose closes at once");
            Assert.AreEqual(0, freesInside, "but does not free while the call runs");
            Assert.AreEqual(1, s.Safe.Frees, "freed when the call returned");
            Assert.AreEqual(200, r.Status);
            Assert.AreEqual(v.A("cases").Cast<JObj>().First().S("hmac"), r.Header("hmac"));
            Assert.IsNull(diff);
            AssertClosed("BmpSigner", () => s.Hmac(original));
        }

        [Test]
        public void DisposeTwiceAndEveryTypeReportsClosed()
        {
            var key = PrivateKey.FromPem(ClientPem);
            var pub = key.PublicKey();
            var der = pub.Encode("der-spki");
            var ofbKey = PrivateKey.FromPem(Json.Text("external/keys/rsa2048-ofb.pem"));
            string jwk;
            using (var ofbPub = ofbKey.PublicKey())
            {
                jwk = ofbPub.ToJwk("k1");
            }

            var session = SafraSession.Create(string.Empty, "https://safra.invalid", "CLIENTE01");
            var bank = SafraBank.Create(string.Empty, key, 600, () => 1700000000);
            var bmp = BmpSigner.Create(BmpSigner.GenerateKey(), string.Empty);
            var jwks = Ofb.Jwks.Parse("{\"keys\":[" + jwk + "]}");
            var signer = Ofb.Signer.Create(ofbKey, "k1", "org", string.Empty);
            var cache = Ofb.JtiCache.Create(16, true);
            var token = signer.Sign("{\"a\":1}", "aud", 1700000300, 1700000000);
            Assert.IsNotNull(Ofb.Verify(token, jwks, "aud", "org", string.Empty, 1700000000));

            var all = new Dictionary<string, Handle>
            {
                { "PublicKey", pub }, { "SafraSession", session }, { "SafraBank", bank }, { "BmpSigner", bmp },
                { "Jwks", jwks }, { "Signer", signer }, { "JtiCache", cache }, { "PrivateKey", key }, { "PrivateKey (OFB)", ofbKey },
            };
            foreach (var h in all.Values)
            {
                Assert.IsFalse(h.IsClosed);
                h.Dispose();
                h.Dispose();
                Assert.IsTrue(h.IsClosed);
                Assert.AreEqual(1, h.SafeBase.Frees, h.GetType().Name + " freed exactly once");
            }

            AssertClosed("PrivateKey", () => { var b = key.Bits; });
            AssertClosed("PublicKey", () => pub.Encode("der-spki"));
            AssertClosed("PublicKey", () => pub.ToJwk("k1"));
            AssertClosed("SafraSession", () => session.SetSeed(new byte[32]));
            AssertClosed("SafraBank", () => bank.Inject(SafraFault.ExpireKey));
            AssertClosed("BmpSigner", () => bmp.Verify(der, "00"));
            AssertClosed("Signer", () => signer.Sign("{}", "aud", 0, 1700000000));
            AssertClosed("JtiCache", () => cache.Check("c", "j", 1700000000));
            AssertClosed("Jwks", () => Ofb.Verify(token, jwks, "aud", "org", string.Empty, 1700000000));

            // A disposed argument of a call on a live handle, and of a static function.
            using (var live = SafraSession.Create(string.Empty, "https://safra.invalid", "CLIENTE01"))
            {
                AssertClosed("PrivateKey", () => live.SetClientKey(key));
                Assert.AreEqual(SafraState.New, live.State);
            }

            AssertClosed("PrivateKey", () => Safra.Stage1Jwk(key, "sid", "der-spki"));
            AssertClosed("PrivateKey", () => Ofb.Signer.Create(ofbKey, "k1", "org", string.Empty));
            AssertClosed("PrivateKey", () => SafraBank.Create(string.Empty, key, 600, () => 1700000000));
            using (var live = Ofb.Jwks.Parse("{\"keys\":[" + jwk + "]}"))
            {
                var req = new HttpRequest("POST", "https://rs.example/x", new List<KeyValuePair<string, string>>(), new byte[0]);
                AssertClosed("JtiCache", () => OfbServer.Verify(req, live, "aud", "org", "c", string.Empty, cache, 1700000000));
            }
        }

        /// <summary>
        /// The path of a Dispose that lands between Call's disposed check and the
        /// marshaller's AddRef (too narrow to hit on purpose from threads): the
        /// SafeHandle is freed while the wrapper still looks open. The marshaller's
        /// ObjectDisposedException comes out as ffi.closed, naming the right handle.
        /// </summary>
        [Test]
        public void HandleFreedUnderACallIsFfiClosed()
        {
            var key = PrivateKey.FromPem(ClientPem);
            key.SafeBase.Dispose();
            Assert.IsFalse(key.IsClosed);
            Assert.AreEqual(1, key.SafeBase.Frees);
            AssertClosed("PrivateKey", () => { var b = key.Bits; });
            using (var session = SafraSession.Create(string.Empty, "https://safra.invalid", "CLIENTE01"))
            {
                AssertClosed("PrivateKey", () => session.SetClientKey(key));
                Assert.AreEqual(SafraState.New, session.State);
            }

            key.Dispose();
            Assert.AreEqual(1, key.SafeBase.Frees);
            AssertClosed("PrivateKey", () => { var b = key.Bits; });
        }

        /// <summary>
        /// Objects never disposed: once collected, the SafeHandle finalizer frees
        /// them (counted per type by NativeHandle.ReleaseHandle).
        /// </summary>
        [Test]
        public void UndisposedHandlesAreFreedByTheFinalizer()
        {
            const int n = 32;
            var pem = ClientPem;
            byte[] der;
            using (var k = PrivateKey.FromPem(pem))
            using (var p = k.PublicKey())
            {
                der = p.Encode("der-spki");
            }

            Collect();
            long publicBefore = NativeHandle.Releases(typeof(PublicKeyHandle));
            long privateBefore = NativeHandle.Releases(typeof(PrivateKeyHandle));
            long sessionBefore = NativeHandle.Releases(typeof(SafraSessionHandle));

            // Made on a thread that then ends: nothing on a live stack points at them.
            var refs = new List<WeakReference>();
            var maker = new Thread(() => Make(refs, n, der, pem));
            maker.Start();
            maker.Join();
            Assert.AreEqual(3 * n, refs.Count);

            for (int i = 0; i < 20 && refs.Any(r => r.IsAlive); i++)
            {
                Collect();
            }

            Collect();
            Assert.AreEqual(0, refs.Count(r => r.IsAlive), "the undisposed objects were collected");
            Assert.GreaterOrEqual(NativeHandle.Releases(typeof(PublicKeyHandle)) - publicBefore, n, "PublicKey handles freed");
            Assert.GreaterOrEqual(NativeHandle.Releases(typeof(PrivateKeyHandle)) - privateBefore, n, "PrivateKey handles freed");
            Assert.GreaterOrEqual(NativeHandle.Releases(typeof(SafraSessionHandle)) - sessionBefore, n, "SafraSession handles freed");
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Make(List<WeakReference> refs, int n, byte[] der, string pem)
        {
            for (int i = 0; i < n; i++)
            {
                var pub = PublicKey.Import(der);
                CollectionAssert.AreEqual(der, pub.Encode("der-spki"));
                refs.Add(new WeakReference(pub));
                var key = PrivateKey.FromPem(pem);
                Assert.AreEqual(1024, key.Bits);
                refs.Add(new WeakReference(key));
                refs.Add(new WeakReference(SafraSession.Create(string.Empty, "https://safra.invalid", "CLIENTE01")));
            }
        }

        private static void Collect()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
    }
}
