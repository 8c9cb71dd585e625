package dev.selo;

import static dev.selo.Vectors.b64;
import static dev.selo.Vectors.s;
import static dev.selo.Vectors.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SafraVectorsTest {
  @Test
  void stage1ForEveryKeyFormatAndTheBankReply() {
    JsonObject v = Vectors.json("external/safra/stage1.json");
    try (PrivateKey k = PrivateKey.fromPem(s(v, "client_private_pkcs8_pem"))) {
      for (Map.Entry<String, JsonElement> e : v.getAsJsonObject("jwk_by_key_format").entrySet()) {
        assertEquals(e.getValue().getAsString(), Safra.stage1Jwk(k, s(v, "session_id"), e.getKey()), e.getKey());
      }
    }
    String body = "{\"jwk\":\"" + s(v, "bank_reply_jwk") + "\"}";
    try (PublicKey bank = Safra.parseStage1Reply(utf8(body))) {
      assertArrayEquals(b64(s(v, "bank_public_spki_der_b64")), bank.encode("der-spki"));
    }
  }

  @Test
  void stage2UnderEveryPaddingAndSignatureMessage() {
    JsonObject v = Vectors.json("external/safra/stage2.json");
    JsonArray cases = v.getAsJsonArray("cases");
    assertEquals(16, cases.size());
    try (PrivateKey client = PrivateKey.fromPem(s(v, "client_private_pkcs8_pem"));
        PublicKey bank = PublicKey.importKey(b64(s(v, "bank_public_spki_der_b64")))) {
      for (JsonElement ce : cases) {
        JsonObject c = ce.getAsJsonObject();
        String[][] sigs = {{"bank_sig_over_key_b64", "raw-key"}, {"bank_sig_over_key_base64_text_b64", "key-base64-text"}};
        for (String[] sig : sigs) {
          byte[] body = utf8("{\"jwk\":\"" + s(c, "enc_jwk_b64") + "." + s(v, sig[0]) + "\"}");
          for (String[] choice : new String[][] {{s(c, "padding"), sig[1]}, {"auto", "auto"}}) {
            Safra.Agreed a = Safra.parseStage2Reply(body, client, bank, choice[0], choice[1]);
            assertArrayEquals(b64(s(v, "aes_key_b64")), a.key());
            assertTrue(a.winnersJson().contains("\"padding\":\"" + s(c, "padding") + "\""));
          }
          String wrong = sig[1].equals("raw-key") ? "plaintext" : "raw-key";
          SeloException e = assertThrows(SeloException.class,
              () -> Safra.parseStage2Reply(body, client, bank, s(c, "padding"), wrong));
          assertEquals("safra.handshake.bad_signature", e.getCode());
        }
      }
    }
  }

  @Test
  void envelopesSealAndOpenIncludingCounterCarry() {
    JsonObject v = Vectors.json("external/safra/envelope.json");
    for (JsonElement ce : v.getAsJsonArray("seal_and_open")) {
      JsonObject c = ce.getAsJsonObject();
      byte[] key = b64(s(c, "key_b64"));
      assertEquals(s(c, "envelope"), Safra.sealWithIv(key, utf8(s(c, "iv_text")), utf8(s(c, "plaintext"))));
      assertArrayEquals(utf8(s(c, "plaintext")), Safra.open(key, s(c, "envelope")));
    }
    for (JsonElement ce : v.getAsJsonArray("open_only_counter_carry")) {
      JsonObject c = ce.getAsJsonObject();
      byte[] key = b64(s(c, "key_b64"));
      byte[] pt = Safra.open(key, s(c, "envelope"));
      assertArrayEquals(b64(s(c, "plaintext_b64")), pt);
      assertEquals(s(c, "envelope"), Safra.sealWithIv(key, b64(s(c, "iv_b64")), pt));
    }
    SeloException e = assertThrows(SeloException.class, () -> Safra.open(new byte[32], "a.b"));
    assertEquals("safra.envelope.malformed", e.getCode());
  }

  @Test
  void tokenScheduleFromTheLocalReceiveTime() {
    JsonObject v = Vectors.json("external/safra/token.json");
    String json = Safra.tokenSchedule(s(v, "token"), v.get("t0").getAsLong(), "");
    JsonObject t = com.google.gson.JsonParser.parseString(json).getAsJsonObject();
    assertEquals(v.get("lifetime").getAsLong(), t.get("lifetime").getAsLong());
    assertEquals(v.get("renew_at").getAsLong(), t.get("renew_at").getAsLong());
    assertEquals(v.get("expires_at").getAsLong(), t.get("expires_at").getAsLong());
  }

  @Test
  void theWholeFlowTranscriptByteForByte() {
    JsonObject v = Vectors.json("safra/generated.json");
    JsonObject t = v.getAsJsonObject("transcript");
    long now = t.get("now").getAsLong();
    byte[] seed = new byte[32];
    Arrays.fill(seed, t.get("client_rng_seed_byte").getAsByte());
    List<String> ops = new ArrayList<>();
    t.getAsJsonArray("operations").forEach(o -> ops.add(o.getAsString()));
    try (SafraSession session = SafraSession.create(t.getAsJsonObject("profile").toString(), s(t, "base_url"),
            s(t, "cliente"));
        PrivateKey key = PrivateKey.fromPem(s(v, "client_private_pkcs8_pem"))) {
      session.setClientKey(key);
      session.setSeed(seed);
      int step = 0;
      JsonArray steps = t.getAsJsonArray("steps");
      for (String op : ops) {
        SafraSession.Op o = switch (op) {
          case "authenticate" -> SafraSession.Op.AUTHENTICATE;
          case "renew" -> SafraSession.Op.RENEW;
          case "register" -> SafraSession.Op.REGISTER_BOLETO;
          default -> SafraSession.Op.QUERY_BOLETO;
        };
        String payload = switch (o) {
          case REGISTER_BOLETO -> Vectors.text("safra/boleto-sample.json");
          case QUERY_BOLETO -> "{\"documento\":{\"nossoNumero\":\"000000123456789\",\"seuNumero\":\"0000004021\"}}";
          default -> "";
        };
        while (true) {
          JsonObject st = steps.get(step++).getAsJsonObject();
          JsonObject want = st.getAsJsonObject("request");
          SafraSession.Prepared p = session.prepareNext(o, payload, now);
          assertEquals(s(want, "method"), p.request().method());
          assertEquals(s(want, "url"), p.request().url());
          List<HttpMessage.Header> wantHeaders = new ArrayList<>();
          want.getAsJsonArray("headers").forEach(h -> wantHeaders.add(
              new HttpMessage.Header(h.getAsJsonArray().get(0).getAsString(), h.getAsJsonArray().get(1).getAsString())));
          assertEquals(wantHeaders, p.request().headers());
          assertArrayEquals(utf8(s(want, "body")), p.request().body());
          JsonObject r = st.getAsJsonObject("response");
          List<HttpMessage.Header> rh = new ArrayList<>();
          r.getAsJsonArray("headers").forEach(h -> rh.add(
              new HttpMessage.Header(h.getAsJsonArray().get(0).getAsString(), h.getAsJsonArray().get(1).getAsString())));
          SafraSession.Outcome out = session.handleResponse(p.id(),
              new HttpMessage.Response(r.get("status").getAsInt(), rh, utf8(s(r, "body"))), now);
          if (out.done()) {
            break;
          }
          assertEquals(SafraSession.Step.CONTINUE, out.step());
        }
      }
      assertEquals(steps.size(), step);
      assertEquals(SafraSession.State.AUTHENTICATED, session.state());
    }
  }
}
