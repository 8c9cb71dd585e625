package dev.selo;

import static dev.selo.Vectors.s;
import static dev.selo.Vectors.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class BmpTest {
  @Test
  void hmacVectors() {
    JsonObject v = Vectors.json("external/bmp/hmac.json");
    try (BmpSigner hex = BmpSigner.create(s(v, "key"), "");
        BmpSigner b64 = BmpSigner.create(s(v, "key"), "{\"mac_encoding\":\"base64\"}")) {
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        byte[] body = utf8(s(c, "body"));
        assertEquals(s(c, "hmac_hex"), hex.hmac(body));
        assertEquals(s(c, "hmac_base64"), b64.hmac(body));
        hex.verify(body, s(c, "hmac_hex"));
        hex.verify(body, s(c, "hmac_hex").toUpperCase());
        body[body.length - 1] ^= 1;
        assertEquals("bmp.mac.mismatch",
            assertThrows(SeloException.class, () -> hex.verify(body, s(c, "hmac_hex"))).getCode());
      }
    }
    assertEquals("bmp.key.invalid", assertThrows(SeloException.class, () -> BmpSigner.create("short", "")).getCode());
    assertEquals(128, BmpSigner.generateKey().length());
  }

  @Test
  void moneyVectorsWithBigDecimal() {
    for (JsonElement ce : Vectors.json("external/bmp/money.json").getAsJsonArray("cases")) {
      JsonObject c = ce.getAsJsonObject();
      if (c.has("cents")) {
        assertEquals(s(c, "json"), Money.fromCents(c.get("cents").getAsLong()));
        assertEquals(s(c, "json"), Money.toJson(BigDecimal.valueOf(c.get("cents").getAsLong(), 2)));
      } else if (c.has("error")) {
        assertEquals(s(c, "error"), assertThrows(SeloException.class, () -> Money.toJson(s(c, "decimal"))).getCode());
      } else {
        assertEquals(s(c, "json"), Money.toJson(new BigDecimal(s(c, "decimal"))));
        assertEquals(new BigDecimal(s(c, "json")), Money.parse(s(c, "decimal")));
      }
    }
    assertEquals("bmp.money.precision",
        assertThrows(SeloException.class, () -> Money.toJson(new BigDecimal("1.001"))).getCode());
    assertEquals("bmp.money.negative",
        assertThrows(SeloException.class, () -> Money.toJson(new BigDecimal("-1"))).getCode());
    assertTrue(Money.decimalEquals("100.0", "100.00"));
  }

  @Test
  void canonicalBodiesAndTheirMacs() {
    JsonObject v = Vectors.json("bmp/canonical.json");
    String profile = "{\"money_fields\":" + v.get("money_fields") + "}";
    try (BmpSigner signer = BmpSigner.create(s(v, "key"), profile)) {
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        byte[] input = utf8(s(c, "input"));
        if (c.has("error")) {
          assertEquals(s(c, "error"),
              assertThrows(SeloException.class, () -> BmpSigner.canonical(input, profile)).getCode());
        } else {
          byte[] body = BmpSigner.canonical(input, profile);
          assertArrayEquals(utf8(s(c, "body")), body);
          assertEquals(s(c, "hmac_hex"), signer.hmac(body));
        }
      }
    }
  }

  @Test
  void signaturesOfTypedBodiesUnderEveryEncoding() {
    JsonObject v = Vectors.json("bmp/signatures.json");
    String[][] encodings = {{"", "hmac_hex"}, {"{\"mac_encoding\":\"uppercase-hex\"}", "hmac_upper_hex"},
        {"{\"mac_encoding\":\"base64\"}", "hmac_base64"}};
    for (String[] enc : encodings) {
      try (BmpSigner signer = BmpSigner.create(s(v, "key"), enc[0])) {
        for (JsonElement ce : v.getAsJsonArray("cases")) {
          JsonObject c = ce.getAsJsonObject();
          String url = "https://bmp.example" + s(c, "endpoint");
          HttpMessage.Request r = signer.signBytes(url, utf8(s(c, "body")), s(c, "idempotency_key"));
          assertEquals(s(c, enc[1]), r.header("hmac").orElseThrow());
          assertEquals(s(c, "idempotency_key"), r.header("IdempotencyKey").orElseThrow());
          assertEquals("application/json", r.header("content-type").orElseThrow());
          HttpMessage.Request again = signer.signJson(url, utf8(s(c, "body")));
          assertArrayEquals(r.body(), again.body());
          assertEquals(r.headers(), again.headers());
        }
      }
    }
  }

  static List<HttpMessage.Header> headers(String ikey) {
    return List.of(new HttpMessage.Header("Content-Type", "application/json"),
        new HttpMessage.Header("IdempotencyKey", ikey));
  }

  @Test
  void confirmationVectors() {
    JsonObject x = Vectors.json("external/bmp/confirm.json");
    try (BmpSigner signer = BmpSigner.create(s(x, "key"), "")) {
      for (JsonElement ce : x.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        String received = s(c, "received");
        String ikey = JsonParser.parseString(received).getAsJsonObject().get("idempotencyKey").getAsString();
        byte[] original = Vectors.isNull(c, "original") ? null : utf8(s(c, "original"));
        var handler = new BmpConfirmationHandler(signer, k -> k.equals(ikey) ? original : null);
        BmpConfirmationHandler.Result r = handler.handle(headers(ikey), utf8(received));
        if (c.get("status").isJsonPrimitive() && c.get("status").getAsJsonPrimitive().isNumber()) {
          assertEquals(c.get("status").getAsInt(), r.response().status());
        } else {
          assertEquals(409, r.response().status());
        }
        if (c.has("hmac_hex")) {
          assertEquals(s(c, "hmac_hex"), r.response().header("hmac").orElseThrow());
        }
        if (c.has("first_difference")) {
          assertEquals(s(c, "first_difference"), r.difference());
        }
      }
    }
    JsonObject v = Vectors.json("bmp/confirm.json");
    try (BmpSigner signer = BmpSigner.create(s(v, "key"), "")) {
      byte[] original = utf8(s(v, "original"));
      var handler = new BmpConfirmationHandler(signer,
          k -> k.equals(s(v, "idempotency_key")) ? original : null);
      for (JsonElement ce : v.getAsJsonArray("cases")) {
        JsonObject c = ce.getAsJsonObject();
        var r = handler.handle(headers(s(v, "idempotency_key")), utf8(s(c, "received")));
        assertEquals(c.get("status").getAsInt(), r.response().status(), s(c, "what"));
        if (Vectors.isNull(c, "hmac")) {
          assertTrue(new String(r.response().body()).contains(s(c, "code")));
          assertEquals(s(c, "first_difference"), r.difference());
        } else {
          assertEquals(s(c, "hmac"), r.response().header("hmac").orElseThrow());
          assertNull(r.difference());
          assertTrue(r.confirmed());
        }
      }
      // A lookup that throws (its store is down): the core's 500
      // bmp.confirm.internal, never the exception's text, and onError sees it.
      List<Exception> seen = new java.util.ArrayList<>();
      var broken = new BmpConfirmationHandler(signer, k -> {
        throw new IllegalStateException("store down at redis://admin:hunter2@10.9.8.7");
      }).onError(seen::add);
      var r = broken.handle(headers(s(v, "idempotency_key")), original);
      assertEquals(500, r.response().status());
      assertFalse(r.confirmed());
      assertTrue(r.response().header("hmac").isEmpty(), "no MAC on a failure");
      String body = new String(r.response().body(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(body.contains("bmp.confirm.internal"), body);
      assertFalse(body.contains("hunter2") || body.contains("10.9.8.7") || body.contains("store down"), body);
      assertEquals(new String(BmpConfirmationHandler.internalErrorResponse().body(),
          java.nio.charset.StandardCharsets.UTF_8), body, "the core's fixed body");
      assertEquals(1, seen.size());
      assertTrue(seen.get(0) instanceof IllegalStateException);
      // The same handler still decides the next request once its store answers.
      var healthy = new BmpConfirmationHandler(signer, k -> original);
      assertTrue(healthy.handle(headers(s(v, "idempotency_key")), original).confirmed());
    }
  }
}
