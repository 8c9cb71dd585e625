package dev.selo;

import static dev.selo.Vectors.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OfbTest {
  static final Map<String, String> STAGE = Map.of("iat", "ofb.claims.iat", "aud", "ofb.claims.aud", "iss",
      "ofb.claims.iss", "jti", "ofb.claims.jti", "typ", "ofb.verify.typ", "kid", "ofb.verify.kid", "signature",
      "ofb.verify.bad_signature", "alg", "ofb.verify.alg_not_allowed");

  @Test
  void externalVectorsStopWhereExpected() {
    JsonObject v = Vectors.json("external/ofb/jws.json");
    String profile = "{\"iat_future_skew\":" + v.get("iat_future_skew") + ",\"iat_max_age\":" + v.get("iat_max_age") + "}";
    try (Ofb.Jwks jwks = Ofb.Jwks.parse(v.get("jwks").toString())) {
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        String expect = s(c, "expect");
        if (expect.equals("ok")) {
          String out = Ofb.verify(s(c, "token"), jwks, s(v, "expected_aud"), s(v, "expected_iss"), profile,
              v.get("now").getAsLong());
          assertTrue(out.contains(s(v, "expected_iss")), s(c, "name"));
        } else {
          SeloException e = assertThrows(SeloException.class, () -> Ofb.verify(s(c, "token"), jwks,
              s(v, "expected_aud"), s(v, "expected_iss"), profile, v.get("now").getAsLong()), s(c, "name"));
          assertTrue(e.getCode().startsWith(STAGE.get(expect)), s(c, "name") + ": " + e.getCode());
        }
      }
    }
    try (Ofb.Jwks amb = Ofb.Jwks.parse(v.get("jwks_ambiguous").toString())) {
      JsonObject first = v.getAsJsonArray("cases").get(0).getAsJsonObject();
      assertEquals("ofb.verify.kid_ambiguous", assertThrows(SeloException.class, () -> Ofb.verify(s(first, "token"),
          amb, s(v, "expected_aud"), s(v, "expected_iss"), profile, v.get("now").getAsLong())).getCode());
    }
  }

  @Test
  void ownVerifyVectorsHaveExactCodes() {
    JsonObject v = Vectors.json("ofb/verify.json");
    try (Ofb.Jwks jwks = Ofb.Jwks.parse(v.get("jwks").toString())) {
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        String profile = c.has("profile") && !c.get("profile").isJsonNull() ? c.get("profile").toString() : "";
        if (s(c, "expect").equals("ok")) {
          assertNotNull(Ofb.verify(s(c, "token"), jwks, s(v, "expected_aud"), s(v, "expected_iss"), profile,
              v.get("now").getAsLong()));
        } else {
          assertEquals(s(c, "expect"), assertThrows(SeloException.class, () -> Ofb.verify(s(c, "token"), jwks,
              s(v, "expected_aud"), s(v, "expected_iss"), profile, v.get("now").getAsLong())).getCode(), s(c, "name"));
        }
      }
    }
  }

  @Test
  void ownSignVectorsReproduceTheTokens() {
    JsonObject v = Vectors.json("ofb/sign.json");
    try (PrivateKey key = PrivateKey.fromPem(Vectors.text(s(v, "key")))) {
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        JsonObject p = c.getAsJsonObject("params");
        try (Ofb.Signer signer = Ofb.Signer.create(key, s(p, "kid"), s(p, "iss"), c.get("profile").toString())) {
          signer.setSeed(Vectors.b64(s(c, "seed")));
          long exp = p.get("exp").isJsonNull() ? 0 : p.get("exp").getAsLong();
          assertEquals(s(c, "token"), signer.sign(c.get("payload").toString(), s(p, "aud"), exp,
              c.get("now").getAsLong()), s(c, "name"));
        }
      }
    }
  }

  @Test
  void serverRoleAcceptsOnceThenRefusesTheReplay() {
    try (PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa2048-ofb.pem"));
        PublicKey pub = key.publicKey();
        Ofb.Jwks jwks = Ofb.Jwks.parse("{\"keys\":[" + pub.toJwk("k1") + "]}");
        Ofb.Signer signer = Ofb.Signer.create(key, "k1", "org-a", "");
        Ofb.JtiCache cache = Ofb.JtiCache.create(100, false)) {
      String aud = "https://rs.example/payments";
      String token = signer.sign("{\"data\":{\"amount\":\"1.00\"}}", aud, 0, 1_790_000_000L);
      HttpMessage.Request req = new HttpMessage.Request("POST", aud,
          List.of(new HttpMessage.Header("Content-Type", "application/jwt")), Vectors.utf8(token));
      Ofb.ServerDecision first = Ofb.serverVerify(req, jwks, aud, "org-a", "client-1", "", cache, 1_790_000_001L);
      assertTrue(first.accepted());
      JsonObject verified = JsonParser.parseString(first.verifiedJson()).getAsJsonObject();
      assertEquals("1.00", verified.getAsJsonObject("payload").getAsJsonObject("data").get("amount").getAsString());
      Ofb.ServerDecision second = Ofb.serverVerify(req, jwks, aud, "org-a", "client-1", "", cache, 1_790_000_002L);
      assertEquals("ofb.replay.jti", second.errorCode());
      assertEquals(403, second.rejection().status());
      assertEquals(1, cache.size());
      HttpMessage.Request wrongType = new HttpMessage.Request("POST", aud,
          List.of(new HttpMessage.Header("Content-Type", "application/json")), Vectors.utf8(token));
      assertEquals(415, Ofb.serverVerify(wrongType, jwks, aud, "org-a", "c", "", cache, 1_790_000_001L)
          .rejection().status());
      assertEquals("ofb.sign.key_size", assertThrows(SeloException.class, () -> {
        try (PrivateKey small = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
            Ofb.Signer s = Ofb.Signer.create(small, "k", "i", "")) {
          s.sign("{}", "a", 0, 1);
        }
      }).getCode());
    }
  }
}
