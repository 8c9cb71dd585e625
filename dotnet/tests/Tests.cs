namespace Selo.Tests
{
    using System;
    using System.Collections.Generic;
    using System.Linq;
    using System.Threading.Tasks;
    using NUnit.Framework;

    [TestFixture]
    public class ErrorCodeTests
    {
        [Test]
        public void CSharpListEqualsTheLibrarys()
        {
            CollectionAssert.AreEqual(ErrorCodes.All.ToList(), Library.ErrorCodes().ToList());
            CollectionAssert.AreEqual(ErrorCodes.Ffi.ToList(), Library.FfiErrorCodes().ToList());
            CollectionAssert.AreEqual(ErrorCodes.Host.ToList(), Library.HostErrorCodes().ToList());
            Assert.AreEqual("0.2.0", Library.Version);
        }

        /// <summary>
        /// Every code this wrapper raises: string literals that are a dotted code (or start a
        /// message with "code: "), and the first literal argument of <c>new SeloException(…)</c> /
        /// <c>base(…)</c> (which also catches an undotted code). dotnet/src is found from
        /// SELO_VECTORS (repo/tests/vectors); the generated ErrorCodes.cs is left out.
        /// </summary>
        public static SortedDictionary<string, string> CodesInCSharpSources()
        {
            var src = System.IO.Path.Combine(Json.VectorsRoot, "..", "..", "dotnet", "src");
            var patterns = new[]
            {
                new System.Text.RegularExpressions.Regex("\"([a-z]+(?:\\.[a-z0-9_]+)+)(?:\"|: )"),
                new System.Text.RegularExpressions.Regex("(?:new SeloException|base)\\(\"([a-z][a-z0-9_.]*)\""),
            };
            var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var f in System.IO.Directory.GetFiles(src, "*.cs").OrderBy(f => f, StringComparer.Ordinal))
            {
                if (System.IO.Path.GetFileName(f) == "ErrorCodes.cs")
                {
                    continue;
                }

                var text = System.IO.File.ReadAllText(f);
                foreach (var p in patterns)
                {
                    foreach (System.Text.RegularExpressions.Match m in p.Matches(text))
                    {
                        if (!found.ContainsKey(m.Groups[1].Value))
                        {
                            found[m.Groups[1].Value] = System.IO.Path.GetFileName(f);
                        }
                    }
                }
            }

            return found;
        }

        [Test]
        public void EveryCodeTheCSharpSourcesRaiseIsInATable()
        {
            var found = CodesInCSharpSources();
            // The scan sees the wrapper's own codes (so it would see a new one).
            foreach (var c in new[] { "ofb.jwks.fetch", "http.body_too_large", "ffi.closed", "ffi.unknown" })
            {
                Assert.IsTrue(found.ContainsKey(c), "scan missed " + c);
            }

            var known = new HashSet<string>(ErrorCodes.All.Concat(ErrorCodes.Ffi).Concat(ErrorCodes.Host));
            var unlisted = found.Where(e => !known.Contains(e.Key)).Select(e => e.Key + " (" + e.Value + ")").ToList();
            CollectionAssert.AreEqual(new List<string>(), unlisted,
                "codes raised in C# but in no table: add them to HOST_CODES in core/src/error.rs");
        }

        [Test]
        public void NullsAndDisposedHandlesAreErrorsWithCodes()
        {
            var e = Assert.Throws<SeloException>(() => Br.ValidateCpf(null));
            Assert.AreEqual("ffi.null_argument", e.Code);
            Assert.AreEqual(1, e.Status);
            var k = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem"));
            k.Dispose();
            k.Dispose();
            Assert.AreEqual("ffi.closed", Assert.Throws<SeloException>(() => { var b = k.Bits; }).Code);
            Assert.AreEqual("key.import.bad_der", Assert.Throws<SeloException>(() => PrivateKey.Import(new byte[] { 1, 2, 3 })).Code);
        }

        [Test]
        public void Utf8CrossesIntact()
        {
            var boleto = Json.Text("safra/boleto-sample.json").Replace("José da Silva", "Joãozinho Ção");
            Safra.ValidateBoleto(boleto);
            var e = Assert.Throws<SeloException>(() => Safra.ValidateBoleto(boleto.Replace("Joãozinho Ção", new string('ã', 41))));
            Assert.AreEqual("safra.boleto.too_long", e.Code);
        }
    }

    [TestFixture]
    public class SafraVectorTests
    {
        [Test]
        public void Stage1AndBankReply()
        {
            var v = Json.Load("external/safra/stage1.json");
            using (var k = PrivateKey.FromPem(v.S("client_private_pkcs8_pem")))
            {
                foreach (var m in v.O("jwk_by_key_format").Members)
                {
                    Assert.AreEqual((string)m.Value, Safra.Stage1Jwk(k, v.S("session_id"), m.Key), m.Key);
                }
            }

            using (var bank = Safra.ParseStage1Reply(Json.U("{\"jwk\":\"" + v.S("bank_reply_jwk") + "\"}")))
            {
                CollectionAssert.AreEqual(Json.B64(v.S("bank_public_spki_der_b64")), bank.Encode("der-spki"));
            }
        }

        [Test]
        public void Stage2UnderEveryPaddingAndMessage()
        {
            var v = Json.Load("external/safra/stage2.json");
            Assert.AreEqual(16, v.A("cases").Count);
            using (var client = PrivateKey.FromPem(v.S("client_private_pkcs8_pem")))
            using (var bank = PublicKey.Import(Json.B64(v.S("bank_public_spki_der_b64"))))
            {
                foreach (JObj c in v.A("cases"))
                {
                    foreach (var sig in new[] { new[] { "bank_sig_over_key_b64", "raw-key" }, new[] { "bank_sig_over_key_base64_text_b64", "key-base64-text" } })
                    {
                        var body = Json.U("{\"jwk\":\"" + c.S("enc_jwk_b64") + "." + v.S(sig[0]) + "\"}");
                        foreach (var choice in new[] { new[] { c.S("padding"), sig[1] }, new[] { "auto", "auto" } })
                        {
                            string winners;
                            var key = Safra.ParseStage2Reply(body, client, bank, choice[0], choice[1], out winners);
                            CollectionAssert.AreEqual(Json.B64(v.S("aes_key_b64")), key);
                            StringAssert.Contains("\"padding\":\"" + c.S("padding") + "\"", winners);
                        }

                        string w2;
                        var wrong = sig[1] == "raw-key" ? "plaintext" : "raw-key";
                        var e = Assert.Throws<SeloException>(() => Safra.ParseStage2Reply(body, client, bank, c.S("padding"), wrong, out w2));
                        Assert.AreEqual("safra.handshake.bad_signature", e.Code);
                    }
                }
            }
        }

        [Test]
        public void EnvelopesAndToken()
        {
            var v = Json.Load("external/safra/envelope.json");
            foreach (JObj c in v.A("seal_and_open"))
            {
                var key = Json.B64(c.S("key_b64"));
                Assert.AreEqual(c.S("envelope"), Safra.SealWithIv(key, Json.U(c.S("iv_text")), Json.U(c.S("plaintext"))));
                CollectionAssert.AreEqual(Json.U(c.S("plaintext")), Safra.Open(key, c.S("envelope")));
            }

            foreach (JObj c in v.A("open_only_counter_carry"))
            {
                var key = Json.B64(c.S("key_b64"));
                var pt = Safra.Open(key, c.S("envelope"));
                CollectionAssert.AreEqual(Json.B64(c.S("plaintext_b64")), pt);
                Assert.AreEqual(c.S("envelope"), Safra.SealWithIv(key, Json.B64(c.S("iv_b64")), pt));
            }

            var t = Json.Load("external/safra/token.json");
            var s = (JObj)Json.Parse(Safra.TokenSchedule(t.S("token"), t.L("t0"), string.Empty));
            Assert.AreEqual(t.L("renew_at"), s.L("renew_at"));
            Assert.AreEqual(t.L("expires_at"), s.L("expires_at"));
            Assert.AreEqual(t.L("lifetime"), s.L("lifetime"));
        }

        [Test]
        public void WholeFlowTranscriptByteForByte()
        {
            var v = Json.Load("safra/generated.json");
            var t = v.O("transcript");
            long now = t.L("now");
            var seed = Enumerable.Repeat((byte)t.L("client_rng_seed_byte"), 32).ToArray();
            var steps = t.A("steps");
            int step = 0;
            using (var s = SafraSession.Create(Json.Write(t.O("profile")), t.S("base_url"), t.S("cliente")))
            using (var key = PrivateKey.FromPem(v.S("client_private_pkcs8_pem")))
            {
                s.SetClientKey(key);
                s.SetSeed(seed);
                foreach (string op in t.A("operations"))
                {
                    var o = op == "authenticate" ? SafraOp.Authenticate : op == "renew" ? SafraOp.Renew : op == "register" ? SafraOp.RegisterBoleto : SafraOp.QueryBoleto;
                    var payload = o == SafraOp.RegisterBoleto ? Json.Text("safra/boleto-sample.json")
                        : o == SafraOp.QueryBoleto ? "{\"documento\":{\"nossoNumero\":\"000000123456789\",\"seuNumero\":\"0000004021\"}}" : string.Empty;
                    while (true)
                    {
                        var st = (JObj)steps[step++];
                        var want = st.O("request");
                        ulong id;
                        var req = s.PrepareNext(o, payload, now, out id);
                        Assert.AreEqual(want.S("url"), req.Url);
                        var wh = want.A("headers").Cast<List<object>>().Select(h => (string)h[0] + ": " + (string)h[1]).ToList();
                        CollectionAssert.AreEqual(wh, req.Headers.Select(h => h.Key + ": " + h.Value).ToList());
                        CollectionAssert.AreEqual(Json.U(want.S("body")), req.Body);
                        var r = st.O("response");
                        var rh = r.A("headers").Cast<List<object>>().Select(h => new KeyValuePair<string, string>((string)h[0], (string)h[1])).ToList();
                        SafraReply reply;
                        var next = s.HandleResponse(id, new HttpResponse((int)r.L("status"), rh, Json.U(r.S("body"))), now, out reply);
                        if (next == SafraStep.Done)
                        {
                            Assert.IsNotNull(reply);
                            break;
                        }

                        Assert.AreEqual(SafraStep.Continue, next);
                    }
                }

                Assert.AreEqual(steps.Count, step);
                Assert.AreEqual(SafraState.Authenticated, s.State);
            }
        }
    }

    [TestFixture]
    public class SafraFlowTests
    {
        private const long T0 = 1800000000;

        [Test]
        public void WholeFlowRenewalRehandshakeAnd480()
        {
            long now = T0;
            using (var bankKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-bank.pem")))
            using (var clientKey = PrivateKey.FromPem(Json.Text("external/keys/rsa1024-client.pem")))
            using (var bank = SafraBank.Create(string.Empty, bankKey, 600, () => now))
            {
                var session = SafraSession.Create(string.Empty, "http://bank.invalid/psd", "CLIENTE01");
                session.SetClientKey(clientKey);
                using (var c = new SafraClient(session, bank, () => now))
                {
                    var auth = c.AuthenticateAsync().Result;
                    Assert.AreEqual(SafraReplyKind.Authenticated, auth.Kind);
                    Assert.AreEqual(T0 + 540, auth.RenewAt);
                    CollectionAssert.AreEqual(new[] { "psd001:200", "psd001:200", "psd005:200" }, c.Exchanges.ToList());

                    var reg = c.RegisterBoletoAsync(Json.Text("safra/boleto-sample.json")).Result;
                    Assert.AreEqual(SafraReplyKind.BoletoRegistered, reg.Kind);
                    Assert.AreEqual(44, reg.CodigoBarras.Length);

                    now = T0 + 545;
                    Assert.AreEqual(SafraReplyKind.BoletoQueried, c.QueryBoletoAsync(reg.NossoNumero, "0000004021").Result.Kind);
                    CollectionAssert.AreEqual(new[] { "psd007:200", "psd052:200" }, c.Exchanges.Skip(c.Exchanges.Count - 2).ToList());

                    bank.Inject(SafraFault.ExpireKey);
                    var sid = c.Session.SessionId;
                    Assert.AreEqual(SafraReplyKind.BoletoQueried, c.QueryBoletoAsync(reg.NossoNumero, "0000004021").Result.Kind);
                    CollectionAssert.AreEqual(new[] { "psd052:500", "psd001:200", "psd001:200", "psd005:200", "psd052:200" }, c.Exchanges.Skip(c.Exchanges.Count - 5).ToList());
                    Assert.AreNotEqual(sid, c.Session.SessionId);

                    bank.Inject(SafraFault.Answer480);
                    Assert.AreEqual(SafraReplyKind.BoletoQueried, c.QueryBoletoAsync(reg.NossoNumero, "0000004021").Result.Kind);
                    CollectionAssert.AreEqual(new[] { "psd052:480", "psd001:200", "psd001:200", "psd005:200", "psd052:200" }, c.Exchanges.Skip(c.Exchanges.Count - 5).ToList());

                    bank.Inject(SafraFault.Answer550);
                    Assert.AreEqual(SafraReplyKind.BusinessError, c.QueryBoletoAsync(reg.NossoNumero, "0000004021").Result.Kind);

                    var ex = Assert.Throws<AggregateException>(() => c.RegisterBoletoAsync("{\"agencia\":1}").Wait());
                    Assert.AreEqual("safra.boleto.missing_field", ((SeloException)ex.InnerException).Code);

                    using (var other = SafraSession.Import(c.Session.Export()))
                    {
                        Assert.AreEqual(SafraState.Authenticated, other.State);
                    }

                    for (int i = 0; i < 10; i++)
                    {
                        bank.Inject(SafraFault.ExpireKey);
                    }

                    ex = Assert.Throws<AggregateException>(() => c.QueryBoletoAsync("1", "2").Wait());
                    Assert.AreEqual("safra.session.too_many_recoveries", ((SeloException)ex.InnerException).Code);
                }
            }
        }
    }

    [TestFixture]
    public class BmpTests
    {
        [Test]
        public void HmacVectors()
        {
            var v = Json.Load("external/bmp/hmac.json");
            using (var hex = BmpSigner.Create(v.S("key"), string.Empty))
            using (var b64 = BmpSigner.Create(v.S("key"), "{\"mac_encoding\":\"base64\"}"))
            {
                foreach (JObj c in v.A("cases"))
                {
                    var body = Json.U(c.S("body"));
                    Assert.AreEqual(c.S("hmac_hex"), hex.Hmac(body));
                    Assert.AreEqual(c.S("hmac_base64"), b64.Hmac(body));
                    hex.Verify(body, c.S("hmac_hex"));
                    body[0] ^= 1;
                    Assert.AreEqual("bmp.mac.mismatch", Assert.Throws<SeloException>(() => hex.Verify(body, c.S("hmac_hex"))).Code);
                }
            }

            Assert.AreEqual(128, BmpSigner.GenerateKey().Length);
        }

        [Test]
        public void MoneyWithDecimal()
        {
            foreach (JObj c in Json.Load("external/bmp/money.json").A("cases"))
            {
                if (c.Has("cents"))
                {
                    Assert.AreEqual(c.S("json"), Money.FromCents(c.L("cents")));
                    Assert.AreEqual(c.S("json"), Money.ToJson(c.L("cents") / 100m));
                }
                else if (c.Has("error"))
                {
                    Assert.AreEqual(c.S("error"), Assert.Throws<SeloException>(() => Money.ToJson(c.S("decimal"))).Code);
                }
                else
                {
                    Assert.AreEqual(c.S("json"), Money.ToJson(decimal.Parse(c.S("decimal"), System.Globalization.CultureInfo.InvariantCulture)));
                    Assert.AreEqual(decimal.Parse(c.S("json"), System.Globalization.CultureInfo.InvariantCulture), Money.Parse(c.S("decimal")));
                }
            }

            Assert.AreEqual("bmp.money.precision", Assert.Throws<SeloException>(() => Money.ToJson(1.001m)).Code);
            Assert.AreEqual("bmp.money.negative", Assert.Throws<SeloException>(() => Money.ToJson(-1m)).Code);
            Assert.IsTrue(Money.DecimalEquals("100.0", "100.00"));
        }

        [Test]
        public void CanonicalAndSignatures()
        {
            var v = Json.Load("bmp/canonical.json");
            var profile = "{\"money_fields\":" + Json.Write(v.A("money_fields")) + "}";
            using (var s = BmpSigner.Create(v.S("key"), profile))
            {
                foreach (JObj c in v.A("cases"))
                {
                    if (c.Has("error"))
                    {
                        Assert.AreEqual(c.S("error"), Assert.Throws<SeloException>(() => BmpSigner.Canonical(Json.U(c.S("input")), profile)).Code);
                    }
                    else
                    {
                        var body = BmpSigner.Canonical(Json.U(c.S("input")), profile);
                        CollectionAssert.AreEqual(Json.U(c.S("body")), body);
                        Assert.AreEqual(c.S("hmac_hex"), s.Hmac(body));
                    }
                }
            }

            var sv = Json.Load("bmp/signatures.json");
            var encodings = new[] { new[] { string.Empty, "hmac_hex" }, new[] { "{\"mac_encoding\":\"uppercase-hex\"}", "hmac_upper_hex" }, new[] { "{\"mac_encoding\":\"base64\"}", "hmac_base64" } };
            foreach (var enc in encodings)
            {
                using (var s = BmpSigner.Create(sv.S("key"), enc[0]))
                {
                    foreach (JObj c in sv.A("cases"))
                    {
                        var url = "https://bmp.example" + c.S("endpoint");
                        var r = s.SignBytes(url, Json.U(c.S("body")), c.S("idempotency_key"));
                        Assert.AreEqual(c.S(enc[1]), r.Header("hmac"));
                        Assert.AreEqual(c.S("idempotency_key"), r.Header("IdempotencyKey"));
                        CollectionAssert.AreEqual(r.Body, s.SignJson(url, Json.U(c.S("body"))).Body);
                    }
                }
            }
        }

        private static List<KeyValuePair<string, string>> Headers(string ikey) => new List<KeyValuePair<string, string>>
        {
            new KeyValuePair<string, string>("Content-Type", "application/json"),
            new KeyValuePair<string, string>("IdempotencyKey", ikey),
        };

        [Test]
        public void ConfirmationVectors()
        {
            var x = Json.Load("external/bmp/confirm.json");
            using (var s = BmpSigner.Create(x.S("key"), string.Empty))
            {
                foreach (JObj c in x.A("cases"))
                {
                    var ikey = ((JObj)Json.Parse(c.S("received"))).S("idempotencyKey");
                    var original = c.IsNull("original") ? null : Json.U(c.S("original"));
                    string diff;
                    var r = s.Confirm(Headers(ikey), Json.U(c.S("received")), k => k == ikey ? original : null, out diff);
                    Assert.AreEqual(c["status"] is JNum ? (int)c.L("status") : 409, r.Status);
                    if (c.Has("hmac_hex"))
                    {
                        Assert.AreEqual(c.S("hmac_hex"), r.Header("hmac"));
                    }

                    if (c.Has("first_difference"))
                    {
                        Assert.AreEqual(c.S("first_difference"), diff);
                    }
                }
            }

            var v = Json.Load("bmp/confirm.json");
            using (var s = BmpSigner.Create(v.S("key"), string.Empty))
            {
                var original = Json.U(v.S("original"));
                foreach (JObj c in v.A("cases"))
                {
                    string diff;
                    var r = s.Confirm(Headers(v.S("idempotency_key")), Json.U(c.S("received")), k => k == v.S("idempotency_key") ? original : null, out diff);
                    Assert.AreEqual((int)c.L("status"), r.Status, c.S("what"));
                    if (c.IsNull("hmac"))
                    {
                        StringAssert.Contains(c.S("code"), System.Text.Encoding.UTF8.GetString(r.Body));
                        Assert.AreEqual(c.S("first_difference"), diff);
                    }
                    else
                    {
                        Assert.AreEqual(c.S("hmac"), r.Header("hmac"));
                        Assert.IsNull(diff);
                    }
                }

                string d;
                Assert.Throws<InvalidOperationException>(() => s.Confirm(Headers(v.S("idempotency_key")), original, k => { throw new InvalidOperationException("store down"); }, out d));
            }
        }
    }

    [TestFixture]
    public class BrTests
    {
        [Test]
        public void Identifiers()
        {
            var v = Json.Load("external/br/identifiers.json");
            foreach (JObj c in v.A("cpf"))
            {
                Assert.AreEqual((bool)c["valid"], Br.IsValidCpf(c.S("value")), c.S("value"));
            }

            foreach (var set in new[] { "cnpj", "cnpj_alphanumeric" })
            {
                foreach (JObj c in v.A(set))
                {
                    Assert.AreEqual((bool)c["valid"], Br.IsValidCnpj(c.S("value")), c.S("value"));
                    if (c.Has("formatted"))
                    {
                        Assert.AreEqual(c.S("formatted"), Br.FormatCnpj(c.S("value")));
                    }
                }
            }

            foreach (JObj c in v.A("boleto_bancario"))
            {
                if ((bool)c["valid"])
                {
                    Assert.AreEqual(c.S("codigo_barras"), Br.LinhaToBarcode(c.S("linha_digitavel")));
                    Assert.AreEqual(c.S("linha_digitavel"), Br.BarcodeToLinha(c.S("codigo_barras")));
                    Assert.AreEqual(c.L("amount_cents"), ((JObj)Json.Parse(Br.ParseBoleto(c.S("linha_digitavel")))).L("amount_cents"));
                }
                else
                {
                    StringAssert.StartsWith("br.boleto.", Assert.Throws<SeloException>(() => Br.LinhaToBarcode(c.S("linha_digitavel"))).Code);
                }
            }

            foreach (JObj c in v.A("pix_keys"))
            {
                if ((bool)c["valid"])
                {
                    Assert.AreEqual(Json.Write(c.O("info")), Br.DetectPixKey(c.S("key")));
                }
                else
                {
                    Assert.AreEqual("br.pix_key.invalid", Assert.Throws<SeloException>(() => Br.DetectPixKey(c.S("key"))).Code);
                }
            }
        }
    }

    [TestFixture]
    public class OfbTests
    {
        private static readonly Dictionary<string, string> Stage = new Dictionary<string, string>
        {
            { "iat", "ofb.claims.iat" }, { "aud", "ofb.claims.aud" }, { "iss", "ofb.claims.iss" }, { "jti", "ofb.claims.jti" },
            { "typ", "ofb.verify.typ" }, { "kid", "ofb.verify.kid" }, { "signature", "ofb.verify.bad_signature" }, { "alg", "ofb.verify.alg_not_allowed" },
        };

        [Test]
        public void VerifyVectors()
        {
            var x = Json.Load("external/ofb/jws.json");
            var profile = "{\"iat_future_skew\":" + x["iat_future_skew"] + ",\"iat_max_age\":" + x["iat_max_age"] + "}";
            using (var jwks = Ofb.Jwks.Parse(Json.Write(x.O("jwks"))))
            {
                foreach (JObj c in x.A("cases"))
                {
                    if (c.S("expect") == "ok")
                    {
                        StringAssert.Contains(x.S("expected_iss"), Ofb.Verify(c.S("token"), jwks, x.S("expected_aud"), x.S("expected_iss"), profile, x.L("now")));
                    }
                    else
                    {
                        var e = Assert.Throws<SeloException>(() => Ofb.Verify(c.S("token"), jwks, x.S("expected_aud"), x.S("expected_iss"), profile, x.L("now")), c.S("name"));
                        StringAssert.StartsWith(Stage[c.S("expect")], e.Code, c.S("name"));
                    }
                }
            }

            var v = Json.Load("ofb/verify.json");
            using (var jwks = Ofb.Jwks.Parse(Json.Write(v.O("jwks"))))
            {
                foreach (JObj c in v.A("cases"))
                {
                    var p = c.Has("profile") && !c.IsNull("profile") ? Json.Write(c.O("profile")) : string.Empty;
                    if (c.S("expect") == "ok")
                    {
                        Assert.IsNotNull(Ofb.Verify(c.S("token"), jwks, v.S("expected_aud"), v.S("expected_iss"), p, v.L("now")));
                    }
                    else
                    {
                        Assert.AreEqual(c.S("expect"), Assert.Throws<SeloException>(() => Ofb.Verify(c.S("token"), jwks, v.S("expected_aud"), v.S("expected_iss"), p, v.L("now"))).Code, c.S("name"));
                    }
                }
            }
        }

        [Test]
        public void SignVectorsAndReplay()
        {
            var v = Json.Load("ofb/sign.json");
            using (var key = PrivateKey.FromPem(Json.Text(v.S("key"))))
            {
                foreach (JObj c in v.A("cases"))
                {
                    var p = c.O("params");
                    using (var s = Ofb.Signer.Create(key, p.S("kid"), p.S("iss"), Json.Write(c.O("profile"))))
                    {
                        s.SetSeed(Json.B64(c.S("seed")));
                        var exp = p.IsNull("exp") ? 0 : p.L("exp");
                        Assert.AreEqual(c.S("token"), s.Sign(Json.Write(c.O("payload")), p.S("aud"), exp, c.L("now")), c.S("name"));
                    }
                }

                using (var cache = Ofb.JtiCache.Create(10, false))
                {
                    cache.Check("client", "j1", 1000);
                    Assert.AreEqual("ofb.replay.jti", Assert.Throws<SeloException>(() => cache.Check("client", "j1", 1001)).Code);
                    cache.Check("other", "j1", 1001);
                }
            }
        }
    }
}
