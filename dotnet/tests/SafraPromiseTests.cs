namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Globalization;
    using System.Linq;
    using System.Net.Http;
    using System.Security.Cryptography;
    using System.Text;
    using System.Threading.Tasks;
    using NUnit.Framework;

    /// <summary>The vector boleto with another nossoNumero / seuNumero.</summary>
    public static class Boletos
    {
        public static string With(long nosso, string seu)
        {
            var template = Json.Text("safra/boleto-sample.json");
            var b = template.Replace("\"nossoNumero\": 123456789", "\"nossoNumero\": " + nosso.ToString(CultureInfo.InvariantCulture))
                .Replace("\"seuNumero\": \"0000004021\"", "\"seuNumero\": \"" + seu + "\"");
            Assert.IsTrue(b.Contains(nosso.ToString(CultureInfo.InvariantCulture)) && b.Contains(seu), "template changed");
            return b;
        }

        public static T Await<T>(Task<T> t)
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
    }

    /// <summary>
    /// Issue 19 through the C# binding: reply texts read by length (NUL and non-ASCII), the promise to reconcile
    /// kept as session state (unresolved registrations) against `selo sim safra`, bank-key pins.
    /// </summary>
    [TestFixture]
    public class SafraPromiseTests
    {
        private const long T0 = 1800000000;

        /// <summary>
        /// A psd050 reply whose every text carries a NUL (JSON \u0000) and non-ASCII letters, sealed with the
        /// in-process bank's own session key: the operation completes once, each field reads back exactly.
        /// </summary>
        [Test]
        public void ReplyTextsWithNulAndNonAsciiCompleteOnceAndReadBackExactly()
        {
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => T0))
            {
                var session = SafraSession.Create(string.Empty, "https://bank.test/psd", "CLIENTE01");
                session.SetClientKey(clientKey);
                using (var c = new SafraClient(session, bank, () => T0))
                {
                    Assert.AreEqual(SafraReplyKind.Authenticated, c.AuthenticateAsync().Result.Kind);
                    var key = bank.SessionKey(session.SessionId);
                    Assert.AreEqual(32, key.Length);
                    ulong id;
                    var req = session.PrepareNext(SafraOp.RegisterBoleto, Json.Text("safra/boleto-sample.json"), T0, out id);
                    StringAssert.EndsWith("/psd050", req.Url);
                    const string Json0 =
                        "{\"statusProcessamento\":{\"codigo\":0,\"mensagem\":\"ok\\u0000 ação\"}," +
                        "\"documento\":{\"nossoNumero\":\"123\\u0000ç\",\"seuNumero\":\"S\\u0000ú\",\"codigoBarras\":\"1\\u0000é\"}}";
                    var envelope = Safra.SealWithIv(key, Encoding.ASCII.GetBytes("ZZZZZZZZZZZZZZZZ"), Encoding.UTF8.GetBytes(Json0));
                    var resp = new HttpResponse(200, new List<KeyValuePair<string, string>> { new KeyValuePair<string, string>("content-type", "application/json") },
                        Encoding.UTF8.GetBytes("{\"data\":\"" + envelope + "\"}"));
                    SafraReply reply;
                    Assert.AreEqual(SafraStep.Done, session.HandleResponse(id, resp, T0, out reply));
                    Assert.IsNotNull(reply);
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, reply.Kind);
                    Assert.AreEqual("ok\0 ação", reply.Field("mensagem"));
                    Assert.AreEqual("123\0ç", reply.NossoNumero);
                    Assert.AreEqual("S\0ú", reply.Field("seu_numero"));
                    Assert.AreEqual("1\0é", reply.CodigoBarras);
                    Assert.AreEqual(6, Encoding.UTF8.GetByteCount(reply.NossoNumero), "read by length, NUL included");
                    StringAssert.Contains("\\u0000", reply.Json);
                    SafraReply again;
                    var e = Assert.Throws<SeloException>(() => session.HandleResponse(id, resp, T0, out again));
                    Assert.AreEqual("safra.session.unknown_request", e.Code);
                    // Never wedged: the next operation runs clean (the bank never stored this boleto: not found).
                    var q = c.QueryBoletoAsync("123456789", "0000004021").Result;
                    Assert.AreEqual(SafraReplyKind.BusinessError, q.Kind, q.Json);
                    Assert.IsNotNull(q.Codigo, q.Json);
                }
            }
        }

        /// <summary>
        /// The forgotten promise, against the simulator: store-then-502 and every reconciling psd052 failing ends
        /// in outcome_unknown; another operation and an export/import run in between; the same register later
        /// starts with psd052 and reconciles; the bank processed psd050 for it exactly once.
        /// </summary>
        [Test]
        public void ForgottenPromiseIsKeptAcrossOperationsAndExportImport()
        {
            using (var sim = SafraSimProcess.Start())
            using (var http = new HttpClient())
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            {
                const long Nosso = 310000001;
                const long Other = 310000002;
                const string Seu = "P000000001";
                var session = SafraSession.Create(string.Empty, sim.BaseUrl, "CLIENTE01");
                session.SetClientKey(clientKey);
                var c = SafraClient.OverHttp(session, http, TimeSpan.FromSeconds(20));
                Assert.AreEqual(SafraReplyKind.Authenticated, Boletos.Await(c.AuthenticateAsync()).Kind);

                // Reconcile fails 2 times: the psd050 is stored, its 502 is ambiguous, each psd052 answers a plain 500.
                sim.Inject("[{\"fault\":\"store-then-502\"},{\"fault\":\"500-plain\",\"service\":\"psd052\"},{\"fault\":\"500-plain\",\"service\":\"psd052\"}]");
                int from = c.Exchanges.Count;
                var e = Assert.Throws<SeloException>(() => Boletos.Await(c.RegisterBoletoAsync(Boletos.With(Nosso, Seu))));
                Assert.AreEqual("safra.boleto.outcome_unknown", e.Code, e.Message);
                StringAssert.Contains(Nosso.ToString(CultureInfo.InvariantCulture), e.Message);
                CollectionAssert.AreEqual(new[] { "psd050:502", "psd052:500" }, c.Exchanges.Skip(from).ToList());
                var open = session.UnresolvedRegistrations();
                Assert.AreEqual(1, open.Count);
                Assert.AreEqual((ulong)Nosso, open[0].NossoNumero);
                Assert.AreEqual(Seu, open[0].SeuNumero);
                Assert.Greater(open[0].Since, 1700000000L, "Unix seconds");

                // Another operation in between: a different boleto registers directly.
                from = c.Exchanges.Count;
                var other = Boletos.Await(c.RegisterBoletoAsync(Boletos.With(Other, "P000000002")));
                Assert.AreEqual(SafraReplyKind.BoletoRegistered, other.Kind);
                Assert.IsFalse(other.Reconciled);
                CollectionAssert.AreEqual(new[] { "psd050:200" }, c.Exchanges.Skip(from).ToList());

                // Export/import in between: the promise is session state.
                var blob = session.Export();
                c.Dispose();
                using (var imported = SafraSession.Import(blob))
                using (var c2 = SafraClient.OverHttp(imported, http, TimeSpan.FromSeconds(20)))
                {
                    Assert.AreEqual(SafraState.Authenticated, imported.State);
                    var kept = imported.UnresolvedRegistrations();
                    Assert.AreEqual(1, kept.Count);
                    Assert.AreEqual((ulong)Nosso, kept[0].NossoNumero);
                    Assert.AreEqual(open[0].Since, kept[0].Since);

                    // The second psd052 fails too: outcome unknown again, and no psd050 was sent.
                    e = Assert.Throws<SeloException>(() => Boletos.Await(c2.RegisterBoletoAsync(Boletos.With(Nosso, Seu))));
                    Assert.AreEqual("safra.boleto.outcome_unknown", e.Code, e.Message);
                    CollectionAssert.AreEqual(new[] { "psd052:500" }, c2.Exchanges.ToList());
                    Assert.AreEqual(1, imported.UnresolvedRegistrations().Count);

                    // Now psd052 answers: reconciled, never registered twice.
                    var reg = Boletos.Await(c2.RegisterBoletoAsync(Boletos.With(Nosso, Seu)));
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind, reg.Json);
                    Assert.IsTrue(reg.Reconciled, reg.Json);
                    CollectionAssert.AreEqual(new[] { "psd052:500", "psd052:200" }, c2.Exchanges.ToList());
                    Assert.AreEqual(0, imported.UnresolvedRegistrations().Count);
                    Assert.IsFalse(imported.ResolveRegistration((ulong)Nosso), "resolved already");
                }

                var state = sim.State();
                Assert.AreEqual(1, SafraSimProcess.Psd050Count(state, Nosso.ToString(CultureInfo.InvariantCulture)), "psd050 processed once");
                Assert.AreEqual(1, SafraSimProcess.Psd050Count(state, Other.ToString(CultureInfo.InvariantCulture)));
                Assert.AreEqual(0, state.L("duplicates"));
            }
        }

        private static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        /// <summary>One DER element at <paramref name="at"/>: its tag, where its content starts and ends.</summary>
        private static int[] Der(byte[] d, int at)
        {
            int tag = d[at], i = at + 1, len = d[i++];
            if (len >= 0x80)
            {
                int n = len & 0x7f;
                len = 0;
                for (int k = 0; k < n; k++)
                {
                    len = (len << 8) | d[i++];
                }
            }

            return new[] { tag, i, i + len };
        }

        private static byte[] Tlv(int tag, byte[] content)
        {
            var head = new List<byte> { (byte)tag };
            if (content.Length < 0x80)
            {
                head.Add((byte)content.Length);
            }
            else
            {
                var len = new List<byte>();
                for (int n = content.Length; n > 0; n >>= 8)
                {
                    len.Insert(0, (byte)(n & 0xff));
                }

                head.Add((byte)(0x80 | len.Count));
                head.AddRange(len);
            }

            return head.Concat(content).ToArray();
        }

        private static byte[] Slice(byte[] d, int from, int to) => d.Skip(from).Take(to - from).ToArray();

        /// <summary>
        /// The RFC 7469 pin of a PKCS#8 RSA private key PEM, computed here: the PEM's DER is walked (PrivateKeyInfo
        /// → AlgorithmIdentifier, RSAPrivateKey → modulus, publicExponent), the SubjectPublicKeyInfo DER is built
        /// from them, hashed with System.Security.Cryptography.SHA256 and base64url-encoded without padding.
        /// </summary>
        private static string PinOfPkcs8Pem(string pem, out byte[] spki)
        {
            Assert.IsTrue(pem.Contains("-----BEGIN PRIVATE KEY-----"), "a PKCS#8 PEM");
            var b64 = string.Concat(pem.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
            var der = Convert.FromBase64String(b64);
            var info = Der(der, 0);                  // PrivateKeyInfo SEQUENCE
            var version = Der(der, info[1]);         // INTEGER 0
            var alg = Der(der, version[2]);          // AlgorithmIdentifier SEQUENCE (rsaEncryption, NULL)
            var octets = Der(der, alg[2]);           // OCTET STRING holding RSAPrivateKey
            Assert.AreEqual(new[] { 0x30, 0x02, 0x30, 0x04 }, new[] { info[0], version[0], alg[0], octets[0] });
            var rsa = Der(der, octets[1]);           // RSAPrivateKey SEQUENCE
            var v0 = Der(der, rsa[1]);
            var n = Der(der, v0[2]);                 // modulus INTEGER
            var e = Der(der, n[2]);                  // publicExponent INTEGER
            var algTlv = Slice(der, version[2], alg[2]);   // the whole AlgorithmIdentifier TLV
            var rsaPublic = Tlv(0x30, Slice(der, v0[2], n[2]).Concat(Slice(der, n[2], e[2])).ToArray());
            spki = Tlv(0x30, algTlv.Concat(Tlv(0x03, new byte[] { 0 }.Concat(rsaPublic).ToArray())).ToArray());
            using (var sha = SHA256.Create())
            {
                return B64Url(sha.ComputeHash(spki));
            }
        }

        [Test]
        public void BankKeyPinsAgainstTheSimulator()
        {
            byte[] spki;
            var pin = PinOfPkcs8Pem(Json.Text("external/keys/rsa1024-bank.pem"), out spki);
            byte[] wrongSpki;
            var wrong = PinOfPkcs8Pem(Json.Text("external/keys/rsa1024-client.pem"), out wrongSpki);
            Assert.AreNotEqual(pin, wrong);
            // The DER built here is the library's own export of that key, byte for byte.
            using (var k = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var pub = k.PublicKey())
            {
                CollectionAssert.AreEqual(spki, pub.Encode("der-spki"));
            }

            using (var sim = SafraSimProcess.Start("rsa1024-bank.pem"))
            using (var http = new HttpClient())
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            {
                Assert.AreEqual(pin, sim.Pin, "the pin the simulator prints");
                Assert.AreEqual(pin, sim.State().S("bank_key_pin"), "the pin in /_control/state");

                // Pinned (base64url, and its standard base64 form): the handshake completes.
                var standard = Convert.ToBase64String(Json.B64(pin));
                foreach (var p in new[] { pin, standard })
                {
                    using (var s = SafraSession.Create("{\"bank_key_pins\":[\"" + wrong + "\",\"" + p + "\"]}", sim.BaseUrl, "CLIENTE01"))
                    using (var c = SafraClient.OverHttp(s, http, TimeSpan.FromSeconds(20)))
                    {
                        s.SetClientKey(clientKey);
                        Assert.AreEqual(SafraReplyKind.Authenticated, Boletos.Await(c.AuthenticateAsync()).Kind, p);
                    }
                }

                // Another key's pin: refused after stage 1, before stage 2 is sent.
                using (var s = SafraSession.Create("{\"bank_key_pins\":[\"" + wrong + "\"]}", sim.BaseUrl, "CLIENTE01"))
                using (var c = SafraClient.OverHttp(s, http, TimeSpan.FromSeconds(20)))
                {
                    s.SetClientKey(clientKey);
                    var e = Assert.Throws<SeloException>(() => Boletos.Await(c.AuthenticateAsync()));
                    Assert.AreEqual("safra.handshake.bank_key_not_pinned", e.Code, e.Message);
                    CollectionAssert.AreEqual(new[] { "psd001:200" }, c.Exchanges.ToList(), "stage 2 never sent");
                    Assert.AreNotEqual(SafraState.Authenticated, s.State);
                }
            }
        }
    }
}
