package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 20: the shared remote-JWKS policy table
 * ({@code tests/vectors/ofb/jwks-policy.json}) through this binding's
 * {@link JwksCache}, step by step as the Rust runner
 * ({@code core/tests/ofb_jwks_policy.rs}) drives the core: decisions,
 * fetched bodies and failures at the table's times, and the counters.
 */
class OfbJwksPolicyTest {
  static String b64u(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** The table's token: a header naming {@code kid}; JSON null: "not-a-jws". */
  static String token(JsonElement kid) {
    if (kid == null || kid.isJsonNull()) {
      return "not-a-jws";
    }
    JsonObject h = new JsonObject();
    h.addProperty("alg", "PS256");
    h.addProperty("kid", kid.getAsString());
    return b64u(h.toString()) + ".e30.AA";
  }

  static byte[] body(JsonObject table, JsonObject fetched) {
    if (fetched.has("body")) {
      return fetched.get("body").getAsString().getBytes(StandardCharsets.UTF_8);
    }
    JsonArray keys = new JsonArray();
    for (JsonElement kid : fetched.getAsJsonArray("kids")) {
      JsonObject k = table.getAsJsonObject("key").deepCopy();
      k.add("kid", kid);
      keys.add(k);
    }
    JsonObject set = new JsonObject();
    set.add("keys", keys);
    return set.toString().getBytes(StandardCharsets.UTF_8);
  }

  static JwksCache.Failure failure(String wire) {
    return switch (wire) {
      case "timeout" -> JwksCache.Failure.TIMEOUT;
      case "network" -> JwksCache.Failure.NETWORK;
      case "too-large" -> JwksCache.Failure.TOO_LARGE;
      case "refused" -> JwksCache.Failure.REFUSED;
      default -> throw new AssertionError("unknown failure kind in the table: " + wire);
    };
  }

  @Test
  void everyScenarioOfTheSharedTable() {
    JsonObject table = Vectors.json("ofb/jwks-policy.json");
    String url = table.get("url").getAsString();
    int steps = 0;
    int scenarios = 0;
    for (JsonElement se : table.getAsJsonArray("scenarios")) {
      JsonObject sc = se.getAsJsonObject();
      String name = sc.get("name").getAsString();
      String policy = sc.has("policy") && sc.get("policy").isJsonObject() ? sc.get("policy").toString() : "";
      scenarios++;
      try (JwksCache cache = JwksCache.create(url, policy)) {
        assertEquals(url, cache.url());
        long ticket = 0;
        int i = 0;
        for (JsonElement ste : sc.getAsJsonArray("steps")) {
          JsonObject st = ste.getAsJsonObject();
          String at = name + ", step " + i++;
          long t = st.get("t").getAsLong();
          JsonObject expect = st.has("expect") ? st.getAsJsonObject("expect") : new JsonObject();
          steps++;
          if (st.has("decide")) {
            String want = expect.get("kind").getAsString();
            if (want.equals("refuse")) {
              SeloException e = assertThrows(SeloException.class, () -> cache.decide(t, token(st.get("decide"))), at);
              assertEquals(expect.get("code").getAsString(), e.getCode(), at + ": " + e.getMessage());
              // Its response: the core's 503.
              assertEquals(503, Ofb.errorResponse(e.getCode(), "x").status(), at);
              continue;
            }
            JwksCache.Decision d = cache.decide(t, token(st.get("decide")));
            switch (want) {
              case "use" -> {
                assertEquals(JwksCache.Kind.USE, d.kind(), at);
                assertEquals(expect.get("refresh").getAsBoolean(), d.refresh(), at);
                if (d.refresh()) {
                  ticket = d.ticket();
                }
              }
              case "fetch" -> {
                assertEquals(JwksCache.Kind.FETCH, d.kind(), at);
                assertNotEquals(0, d.ticket(), at);
                ticket = d.ticket();
              }
              case "wait" -> {
                assertEquals(JwksCache.Kind.WAIT, d.kind(), at);
                assertTrue(d.untilMs() > 0, at);
              }
              default -> fail(at + ": unknown expectation " + want);
            }
          } else if (st.has("fetched")) {
            JsonObject f = st.getAsJsonObject("fetched");
            long tk = ticket;
            int status = f.get("status").getAsInt();
            byte[] b = body(table, f);
            if (expect.has("code")) {
              SeloException e = assertThrows(SeloException.class, () -> cache.fetched(tk, t, status, b), at);
              assertEquals(expect.get("code").getAsString(), e.getCode(), at);
              if (expect.has("message_contains")) {
                assertTrue(e.getMessage().contains(expect.get("message_contains").getAsString()),
                    at + ": " + e.getMessage());
              }
            } else {
              cache.fetched(tk, t, status, b);
              long skipped = expect.has("skipped") ? expect.get("skipped").getAsLong() : 0;
              assertEquals(skipped, cache.stats().skipped(), at);
              assertEquals(skipped, cache.skipped().size(), at);
            }
          } else if (st.has("failed")) {
            SeloException e = cache.failed(ticket, t, failure(st.get("failed").getAsString()), "the host's words");
            assertEquals(expect.get("code").getAsString(), e.getCode(), at);
          } else if (st.has("stats")) {
            JsonObject want = st.getAsJsonObject("stats");
            JwksCache.Stats s = cache.stats();
            assertEquals(Map.of("fetches", want.get("fetches").getAsLong(), "failures",
                want.get("failures").getAsLong(), "refused", want.get("refused").getAsLong()),
                Map.of("fetches", s.fetches(), "failures", s.failures(), "refused", s.refused()), at);
          } else {
            fail(at + ": unknown step " + st);
          }
        }
      }
    }
    assertTrue(scenarios >= 10, scenarios + " scenarios");
    assertTrue(steps >= 60, steps + " steps");
  }

  @Test
  void theCacheHandsOutTheSetItFetched() {
    JsonObject table = Vectors.json("ofb/jwks-policy.json");
    try (JwksCache cache = JwksCache.create("https://k.example/jwks", "")) {
      assertEquals("ofb.jwks.unavailable", assertThrows(SeloException.class, cache::jwks).getCode());
      assertEquals(5_000, cache.timeoutMs());
      assertEquals(512 * 1024, cache.maxBytes());
      JwksCache.Decision d = cache.decide(0, token(new com.google.gson.JsonPrimitive("a")));
      assertEquals(JwksCache.Kind.FETCH, d.kind());
      JsonObject f = new JsonObject();
      JsonArray kids = new JsonArray();
      kids.add("a");
      kids.add("b");
      f.add("kids", kids);
      cache.fetched(d.ticket(), 1, 200, body(table, f));
      try (Ofb.Jwks set = cache.jwks()) {
        assertTrue(set.toPublicJson().contains("\"kid\":\"b\""), set.toPublicJson());
      }
      assertEquals(JwksCache.Kind.USE, cache.decide(2, token(new com.google.gson.JsonPrimitive("b"))).kind());
      assertEquals(new JwksCache.Stats(1, 0, 0, 0), cache.stats());
    }
    // A policy with an unknown member, an http URL that is not loopback, a bad scheme: ofb.jwks.url.
    for (String[] bad : new String[][] {
      {"https://k.example/jwks", "{\"max_agee\":1}"},
      {"http://keys.example.org/jwks", ""},
      {"http://127.0.0.1@evil.example/jwks", ""},
      {"file:///etc/passwd", ""},
      {"https://k.example/jwks", "{\"timeout_ms\":0}"},
    }) {
      assertEquals("ofb.jwks.url", assertThrows(SeloException.class, () -> JwksCache.create(bad[0], bad[1]))
          .getCode(), bad[0] + " " + bad[1]);
    }
    try (JwksCache c = JwksCache.create("http://keys.example.org/jwks", "{\"allow_http\":true}")) {
      assertNotNull(c.url());
    }
    try (JwksCache c = JwksCache.create("https://k.example/jwks",
        OfbRemoteJwks.policy().maxAge(java.time.Duration.ofSeconds(1)).maxBytes(100).toJson())) {
      assertEquals(100, c.maxBytes());
    }
  }
}
