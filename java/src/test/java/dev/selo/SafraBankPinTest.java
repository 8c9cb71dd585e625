package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 19: bank-key pins (profile {@code bank_key_pins}, RFC 7469 form)
 * against {@code selo sim safra --bank-key external/keys/rsa1024-bank.pem}.
 * The pin is computed here with the JDK alone (the SPKI DER of the fixture's
 * public key, SHA-256, base64url without padding) and must equal what the
 * simulator prints and reports; pinned, the handshake runs; pinned to
 * another key, it stops after stage 1 with
 * {@code safra.handshake.bank_key_not_pinned} and nothing else reaches the bank.
 */
class SafraBankPinTest {
  /** The SPKI DER of the public half of a PKCS#8 PEM RSA key, by the JDK. */
  static byte[] spkiOf(String pkcs8Pem) throws Exception {
    String b64 = pkcs8Pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    KeyFactory kf = KeyFactory.getInstance("RSA");
    RSAPrivateCrtKey k = (RSAPrivateCrtKey) kf.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    byte[] der = kf.generatePublic(new RSAPublicKeySpec(k.getModulus(), k.getPublicExponent())).getEncoded();
    // Round trip through X509EncodedKeySpec: what getEncoded() gives is SubjectPublicKeyInfo.
    return kf.generatePublic(new X509EncodedKeySpec(der)).getEncoded();
  }

  static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  static String pinOf(String pem) throws Exception {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(spkiOf(pem)));
  }

  static SafraClient client(SimProcess sim, String profile, PrivateKey key) {
    SafraSession s = SafraSession.create(profile, sim.base, "CLIENTE01");
    s.setClientKey(key);
    return new SafraClient(s, new SafraClient.HttpClientTransport(Duration.ofSeconds(20)),
        () -> System.currentTimeMillis() / 1000);
  }

  static String pins(String... pins) {
    StringBuilder b = new StringBuilder("{\"bank_key_pins\":[");
    for (int i = 0; i < pins.length; i++) {
      b.append(i > 0 ? "," : "").append('"').append(pins[i]).append('"');
    }
    return b.append("]}").toString();
  }

  @Test
  void pinnedBankKeyHandshakesAndAnyOtherStopsAfterStageOne() throws Exception {
    String bankPem = Vectors.text("external/keys/rsa1024-bank.pem");
    String clientPem = Vectors.text("external/keys/rsa1024-client.pem");
    String pin = pinOf(bankPem);
    String otherPin = pinOf(clientPem);
    assertNotEquals(pin, otherPin);
    assertEquals(43, pin.length(), "32 bytes, base64url, no padding");
    try (SimProcess sim = SimProcess.safra(); PrivateKey key = PrivateKey.fromPem(clientPem)) {
      assertEquals(pin, sim.pin, "the simulator's printed pin");
      assertEquals(pin, sim.state().getAsJsonObject("protocol").get("bank_key_pin").getAsString());

      // Pinned (among others): the whole handshake and psd005 run.
      try (SafraClient c = client(sim, pins(otherPin, pin), key)) {
        assertEquals(SafraReply.Kind.AUTHENTICATED, c.authenticate().kind());
        assertEquals(List.of("psd001:200", "psd001:200", "psd005:200"), SafraFlowTest.services(c.exchanges()));
      }
      // The standard base64 form of the same pin is accepted too.
      String standard = Base64.getEncoder().encodeToString(sha256(spkiOf(bankPem)));
      try (SafraClient c = client(sim, pins(standard), key)) {
        assertEquals(SafraReply.Kind.AUTHENTICATED, c.authenticate().kind());
      }

      // Pinned to another key: refused after stage 1, before stage 2 is sent.
      JsonObject before = sim.state();
      try (SafraClient c = client(sim, pins(otherPin), key)) {
        SeloException e = assertThrows(SeloException.class, c::authenticate);
        assertEquals("safra.handshake.bank_key_not_pinned", e.getCode(), e.getMessage());
        assertEquals(List.of("psd001:200"), SafraFlowTest.services(c.exchanges()));
        // Still refused on a second try: the session never moves past stage 1.
        assertEquals("safra.handshake.bank_key_not_pinned",
            assertThrows(SeloException.class, c::authenticate).getCode());
        assertEquals(List.of("psd001:200", "psd001:200"), SafraFlowTest.services(c.exchanges()));
      }
      // The simulator saw the state call above and the two stage-1 requests, nothing else.
      assertEquals(SimProcess.requests(before) + 1 + 2, SimProcess.requests(sim.state()));
    }
  }

  @Test
  void aMalformedPinIsRefusedWhenTheProfileIsRead() {
    for (String bad : new String[] {"not a pin", "AAAA", ""}) {
      SeloException e = assertThrows(SeloException.class,
          () -> SafraSession.create(pins(bad), "https://bank.test/psd", "CLIENTE01").close());
      assertEquals("safra.profile.invalid", e.getCode(), bad);
      assertTrue(e.getMessage().contains("bank_key_pins[0]"), e.getMessage());
    }
  }
}
