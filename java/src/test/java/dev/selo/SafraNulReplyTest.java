package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 19: a bank text may hold NUL bytes (JSON {@code \u0000}) and
 * non-ASCII. A psd050 reply is crafted with the in-process bank's own AES key
 * ({@link SafraBank#sessionKey}), every text carrying both; handed to the
 * session it completes the operation once (done, not an error), every field
 * reads back exactly — NUL included, read by pointer and length — and the
 * same reply handed again is {@code safra.session.unknown_request}.
 */
class SafraNulReplyTest extends SafraBankFixture {
  @Test
  void replyWithNulAndNonAsciiInEveryTextCompletesOnce() throws Exception {
    try (SafraClient c = client(bank, "https://bank.test/psd")) {
      assertEquals(SafraReply.Kind.AUTHENTICATED, c.authenticate().kind());
      SafraSession s = c.session();
      byte[] key = bank.sessionKey(s.sessionId());
      assertEquals(32, key.length);

      SafraSession.Prepared reg = s.prepareNext(SafraSession.Op.REGISTER_BOLETO,
          Vectors.text("safra/boleto-sample.json"), clock.get());
      assertTrue(reg.request().url().endsWith("/psd050"), reg.request().url());
      String json = "{\"statusProcessamento\":{\"codigo\":0,\"mensagem\":\"ok\\u0000 ação\"},"
          + "\"documento\":{\"nossoNumero\":\"123\\u0000ç\",\"seuNumero\":\"S\\u0000ú\","
          + "\"codigoBarras\":\"1\\u0000é\"}}";
      String envelope = Safra.sealWithIv(key, "ZZZZZZZZZZZZZZZZ".getBytes(StandardCharsets.US_ASCII),
          json.getBytes(StandardCharsets.UTF_8));
      HttpMessage.Response reply = new HttpMessage.Response(200,
          List.of(new HttpMessage.Header("content-type", "application/json")),
          ("{\"data\":\"" + envelope + "\"}").getBytes(StandardCharsets.UTF_8));

      SafraSession.Outcome o = s.handleResponse(reg.id(), reply, clock.get());
      assertEquals(SafraSession.Step.DONE, o.step());
      SafraReply r = o.reply();
      assertEquals(SafraReply.Kind.BOLETO_REGISTERED, r.kind(), r.json());
      assertEquals("ok\u0000 ação", r.field("mensagem").orElseThrow());
      assertEquals("123\u0000ç", r.nossoNumero().orElseThrow());
      assertEquals("S\u0000ú", r.field("seu_numero").orElseThrow());
      assertEquals("1\u0000é", r.codigoBarras().orElseThrow());
      assertEquals("0", r.codigo().orElseThrow());
      assertEquals(10, r.field("mensagem").orElseThrow().getBytes(StandardCharsets.UTF_8).length);
      assertTrue(r.json().contains("\\u0000"), "the JSON escapes the NUL: " + r.json());
      assertEquals(List.of(), s.unresolvedRegistrations(), "an answered psd050 is resolved");

      SeloException again = assertThrows(SeloException.class, () -> s.handleResponse(reg.id(), reply, clock.get()));
      assertEquals("safra.session.unknown_request", again.getCode());

      // The session goes on: the bank never saw that psd050, so the boleto is not there.
      assertEquals(SafraReply.Kind.BUSINESS_ERROR, c.queryBoleto("123456789", "0000004021").kind());
      assertEquals(SafraReply.Kind.BOLETO_REGISTERED,
          c.registerBoleto(Vectors.text("safra/boleto-sample.json")).kind());
    }
  }

  @Test
  void bankSessionKeyOfAnUnknownSessionIsTyped() {
    assertEquals("safra.session.not_ready",
        assertThrows(SeloException.class, () -> bank.sessionKey("00000000-0000-4000-8000-000000000000")).getCode());
  }
}
