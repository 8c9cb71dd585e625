package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Fault soak: at least 200 complete flows (psd005 → psd050 → psd052) through
 * {@link SafraClient} over java.net.http against ONE simulator, a fault drawn
 * at random (seeded; SELO_SOAK_SEED replays) injected just before a random
 * step. Every flow ends in success or a typed error; the simulator's psd050
 * counter shows no boleto registered twice; the session runs a clean
 * operation after every flow.
 */
class SafraSoakTest {
  static final int FLOWS = 200;
  static final Duration CLIENT_TIMEOUT = Duration.ofMillis(250);
  static final int STALL_MS = 450;
  static final String[] FAULTS = {
    "none", "expire-key", "answer-480", "store-then-502", "store-then-drop", "stall", "answer-550", "500-plain"
  };
  static final String[] STEPS = {"psd005", "psd050", "psd052"};
  /** Typed errors a flow may end with under these faults. */
  static final Set<String> TYPED = Set.of("safra.boleto.outcome_unknown", "safra.session.too_many_recoveries");

  static void control(HttpClient http, String base, String json) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "_control/fault"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode() / 100 * 100, json + " -> " + r.body());
  }

  static String faultJson(String fault, String service) {
    return switch (fault) {
      case "stall" -> "{\"fault\":\"stall\",\"ms\":" + STALL_MS + ",\"service\":\"" + service + "\"}";
      case "500-plain" -> "{\"fault\":\"500-plain\",\"service\":\"" + service + "\"}";
      default -> "{\"fault\":\"" + fault + "\"}";
    };
  }

  static String boleto(String template, long nosso, int flow) {
    String b = template.replace("\"nossoNumero\": 123456789", "\"nossoNumero\": " + nosso)
        .replace("\"seuNumero\": \"0000004021\"", "\"seuNumero\": \"" + String.format("%010d", flow) + "\"");
    assertTrue(b.contains(Long.toString(nosso)) && b.contains(String.format("%010d", flow)), "template changed");
    return b;
  }

  static String strip(String n) {
    String s = n.replaceFirst("^0+", "");
    return s.isEmpty() ? "0" : s;
  }

  @Test
  void faultSoak() throws Exception {
    String env = System.getenv("SELO_SOAK_SEED");
    long seed = env == null || env.isBlank() ? new SecureRandom().nextLong() : Long.parseLong(env.trim());
    System.out.println("soak seed: " + seed + " (SELO_SOAK_SEED=" + seed + " replays it)");
    Random rnd = new Random(seed);
    String template = Vectors.text("safra/boleto-sample.json");

    long started = System.nanoTime();
    try (SimProcess simulator = SimProcess.safra()) {
      String base = simulator.base;
      HttpClient control = HttpClient.newHttpClient();
      SafraSession session = SafraSession.create("", base, "CLIENTE01");
      int ok = 0;
      int typed = 0;
      List<String> okNosso = new ArrayList<>();
      Map<String, Integer> typedBy = new java.util.TreeMap<>();
      try (PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
          SafraClient c = new SafraClient(session, new SafraClient.HttpClientTransport(CLIENT_TIMEOUT),
              () -> System.currentTimeMillis() / 1000)) {
        session.setClientKey(key);
        // A boleto every clean follow-up query can find.
        assertEquals(SafraReply.Kind.AUTHENTICATED, c.authenticate().kind());
        SafraReply warm = c.registerBoleto(boleto(template, 100_000_000L, 999_999));
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, warm.kind(), warm.json());
        String warmNosso = warm.nossoNumero().orElseThrow();
        okNosso.add(warmNosso);

        for (int i = 0; i < FLOWS; i++) {
          String fault = FAULTS[rnd.nextInt(FAULTS.length)];
          int at = rnd.nextInt(STEPS.length);
          if (fault.startsWith("store-then-")) {
            at = 1; // they apply to psd050 only
          }
          long nosso = 200_000_000L + i;
          String what = "flow " + i + " (" + fault + " before " + STEPS[at] + ", seed " + seed + ")";
          int from = c.exchanges().size();
          SafraReply reg = null;
          SafraReply last = null;
          String error = null;
          try {
            for (int step = 0; step < STEPS.length; step++) {
              if (step == at && !fault.equals("none")) {
                control(control, base, faultJson(fault, STEPS[at]));
              }
              last = switch (step) {
                case 0 -> c.authenticate();
                case 1 -> reg = c.registerBoleto(boleto(template, nosso, i));
                default -> c.queryBoleto(reg.nossoNumero().orElseThrow(), String.format("%010d", i));
              };
              if (last.kind() == SafraReply.Kind.BUSINESS_ERROR) {
                break;
              }
            }
          } catch (SeloException e) {
            error = e.getCode();
            assertTrue(TYPED.contains(e.getCode()), what + ": unexpected error " + e.getMessage());
          } catch (RuntimeException e) {
            fail(what + ": not a typed error: " + e, e);
          }
          List<SafraClient.Exchange> ex = c.exchanges().subList(from, c.exchanges().size());
          boolean transportFailed = ex.stream().anyMatch(x -> x.failure() != null);
          if (error != null) {
            typed++;
            typedBy.merge(error, 1, Integer::sum);
            // Only an ambiguity can leave an outcome unknown.
            assertTrue(transportFailed || ex.stream().anyMatch(x -> x.status() >= 500), what + ": " + error);
          } else if (last.kind() == SafraReply.Kind.BUSINESS_ERROR) {
            typed++;
            typedBy.merge("550 business error", 1, Integer::sum);
            assertEquals("answer-550", fault, what + ": " + last.json());
            assertTrue(last.field("codigo").isPresent(), last.json());
          } else {
            ok++;
            assertEquals(SafraReply.Kind.BOLETO_QUERIED, last.kind(), what);
            assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind(), what);
            assertEquals(Long.toString(nosso), strip(reg.nossoNumero().orElseThrow()), what);
            if (fault.startsWith("store-then-")) {
              assertTrue(reg.reconciled(), what + ": the lost psd050 was stored, so psd052 must find it: " + reg.json());
            } else if (!transportFailed) {
              assertFalse(reg.reconciled(), what + ": reconciled without an ambiguous psd050");
            }
            okNosso.add(reg.nossoNumero().orElseThrow());
          }
          // The session is never wedged: a clean operation right after.
          SafraReply clean = c.queryBoleto(error == null && reg != null && reg.kind() == SafraReply.Kind.BOLETO_REGISTERED
              ? reg.nossoNumero().orElseThrow() : warmNosso,
              error == null && reg != null && reg.kind() == SafraReply.Kind.BOLETO_REGISTERED
              ? String.format("%010d", i) : String.format("%010d", 999_999));
          assertEquals(SafraReply.Kind.BOLETO_QUERIED, clean.kind(), what + ": clean follow-up " + clean.json());
        }
      }

      HttpResponse<String> st = control.send(HttpRequest.newBuilder(URI.create(base + "_control/state")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, st.statusCode(), st.body());
      JsonObject state = JsonParser.parseString(st.body()).getAsJsonObject().getAsJsonObject("protocol");
      assertTrue(state != null && state.has("duplicates") && state.has("psd050_counts"), st.body());
      int duplicates = state.get("duplicates").getAsInt();
      JsonObject counts = state.getAsJsonObject("psd050_counts");
      for (String n : okNosso) {
        int seen = 0;
        for (Map.Entry<String, com.google.gson.JsonElement> e : counts.entrySet()) {
          if (strip(e.getKey()).equals(strip(n))) {
            seen += e.getValue().getAsInt();
          }
        }
        assertEquals(1, seen, "psd050 processed for nossoNumero " + n + " (seed " + seed + ")");
      }
      assertEquals(0, duplicates, "boletos registered twice (seed " + seed + "): " + counts);
      assertEquals(FLOWS, ok + typed);
      long ms = (System.nanoTime() - started) / 1_000_000;
      System.out.println("soak: " + FLOWS + " flows, " + ok + " ok, " + typed + " typed errors, " + duplicates
          + " duplicates");
      System.out.println("(the soak ran in " + ms + " ms; typed errors by kind: " + typedBy + ")");
      assertTrue(ok > FLOWS / 2, "most flows must succeed: " + ok + " of " + FLOWS + " (seed " + seed + ")");
    }
  }
}
