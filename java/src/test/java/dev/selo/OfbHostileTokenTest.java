package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 20: hostile tokens against the server helper ({@link OfbRequestVerifier})
 * with a remote JWK Set served by a local HTTP server: a 700 000-deep header,
 * ~1 MiB tokens of nested objects (in the header, in the payload), a header
 * with 10 000 members. Each is refused with a stable code (the core's, 400),
 * none causes a fetch, and the helper keeps serving the next valid request.
 */
class OfbHostileTokenTest {
  static final String AUD = OfbRemoteJwksTest.AUD;

  @BeforeAll
  static void setUp() {
    OfbRemoteJwksTest.setUp();
  }

  @AfterAll
  static void tearDown() {
    OfbRemoteJwksTest.tearDown();
  }

  static String b64u(String s) {
    return OfbRemoteJwksTest.b64u(s);
  }

  static String nested(int depth) {
    return "{\"a\":".repeat(depth) + "{}" + "}".repeat(depth);
  }

  /** The hostile tokens and the code each must be refused with. */
  static Map<String, String[]> hostile() {
    Map<String, String[]> m = new LinkedHashMap<>();
    m.put("700 000-deep header", new String[] {b64u("[".repeat(700_000)) + ".e30.AA", "ofb.verify.malformed"});
    String head = "{\"alg\":\"PS256\",\"kid\":\"cli\",\"typ\":\"JWT\",\"x\":" + nested(116_000) + "}";
    m.put("~1 MiB header of nested objects", new String[] {b64u(head) + ".e30.AA", "ofb.verify.malformed"});
    String okHead = b64u("{\"alg\":\"PS256\",\"kid\":\"cli\",\"typ\":\"JWT\"}");
    m.put("~1 MiB payload of nested objects",
        new String[] {okHead + "." + b64u(nested(116_000)) + ".AA", "ofb.verify.malformed"});
    StringBuilder wide = new StringBuilder("{\"alg\":\"PS256\",\"kid\":\"cli\",\"typ\":\"JWT\"");
    for (int i = 0; i < 10_000; i++) {
      wide.append(",\"m").append(i).append("\":0");
    }
    m.put("header with 10 000 members", new String[] {b64u(wide.append('}').toString()) + ".e30.AA",
        "ofb.verify.malformed"});
    return m;
  }

  @Test
  void hostileTokensAreRefusedTypedAndTheHelperKeepsServing() throws Exception {
    try (JwksTestServer s = new JwksTestServer(JwksTestServer.json(OfbRemoteJwksTest.set()));
        OfbRemoteJwks remote = new OfbRemoteJwks(s.url("/jwks"))) {
      OfbRequestVerifier v = new OfbRequestVerifier(remote, (k, ttl) -> "fresh", "");
      assertTrue(v.verify(OfbRemoteJwksTest.fresh(), AUD, "org-a", "c", OfbRemoteJwksTest.now()).accepted());
      for (Map.Entry<String, String[]> e : hostile().entrySet()) {
        String token = e.getValue()[0];
        String what = e.getKey() + " (" + token.length() + " bytes)";
        assertTrue(token.length() < BodyLimit.DEFAULT_MAX_BYTES && token.length() > 100_000, what);
        Ofb.ServerDecision d = v.verify(OfbRemoteJwksTest.request(token), AUD, "org-a", "c", OfbRemoteJwksTest.now());
        assertFalse(d.accepted(), what);
        assertEquals(e.getValue()[1], d.errorCode(), what);
        assertTrue(ErrorCodes.ALL.contains(d.errorCode()), what);
        assertEquals(400, d.rejection().status(), what);
        String body = new String(d.rejection().body(), StandardCharsets.UTF_8);
        assertTrue(body.length() < 4_096, what + ": the refusal is small, not an echo: " + body.length());
        // The next valid request is served.
        assertTrue(v.verify(OfbRemoteJwksTest.fresh(), AUD, "org-a", "c", OfbRemoteJwksTest.now()).accepted(), what);
      }
      assertEquals(1, s.hits.get(), "no hostile token caused a fetch");
      // The same tokens through the streaming entry point (declared length).
      for (String[] t : hostile().values()) {
        byte[] b = t[0].getBytes(StandardCharsets.UTF_8);
        assertEquals(t[1], v.verify("POST", "application/jwt", new java.io.ByteArrayInputStream(b), b.length, AUD,
            "org-a", "c", OfbRemoteJwksTest.now()).errorCode());
      }
      assertEquals(List.of(), remote.skipped());
    }
  }
}
