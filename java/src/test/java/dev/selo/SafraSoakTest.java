package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Fault soak: {@value #FLOWS} complete flows (psd005 → psd050 → psd052;
 * a constant, no property or variable lowers it) through {@link SafraClient}
 * over java.net.http against ONE simulator, a fault drawn at random (seeded;
 * SELO_SOAK_SEED replays) injected just before a random step. Each fault
 * must produce exactly its outcome:
 * <ul>
 *   <li>recovered faults (expire-key, answer-480, 500-plain, stall): the flow
 *       succeeds, nothing reconciled; before psd050, the lost psd050 was not
 *       processed, so the session queries psd052 (not found) and sends psd050
 *       once more;</li>
 *   <li>store-then-502 / store-then-drop: the psd050 was stored, its answer
 *       lost: the register reconciles (psd052 finds it, no second psd050);</li>
 *   <li>answer-550: the business error, at the step it was injected before;</li>
 *   <li>"reconcile fails N times" (store-then-502, then N plain 500s on
 *       psd052): exactly N {@code safra.boleto.outcome_unknown}, each new
 *       register of the same boleto starting with psd052, then the next
 *       register reconciles.</li>
 * </ul>
 * The simulator's psd050 counter shows every registered boleto processed
 * once and no duplicates; the session runs a clean operation after every flow
 * and holds no unresolved registration once a flow has ended.
 *
 * <p>A stalled request is held by the simulator for {@value #STALL_MS} ms;
 * the test's transport gives up on exactly that request after
 * {@code IMPATIENT} and waits generously for every other one, so a slow
 * machine never turns a normal request into an ambiguity.
 */
class SafraSoakTest {
  static final int FLOWS = 200;
  static final Duration PATIENT = Duration.ofSeconds(30);
  static final Duration IMPATIENT = Duration.ofMillis(300);
  static final int STALL_MS = 5_000;
  static final String[] FAULTS = {
    "none", "expire-key", "answer-480", "store-then-502", "store-then-drop", "stall", "answer-550", "500-plain",
    "reconcile-fails"
  };
  static final String[] STEPS = {"psd005", "psd050", "psd052"};

  /** Gives up early on the one request the simulator was told to stall. */
  static final class Transport implements SafraClient.Transport {
    final SafraClient.Transport patient = new SafraClient.HttpClientTransport(PATIENT);
    final SafraClient.Transport impatient = new SafraClient.HttpClientTransport(IMPATIENT);
    volatile String stalled;

    @Override
    public HttpMessage.Response send(HttpMessage.Request r) throws IOException, InterruptedException {
      String service = r.url().substring(r.url().lastIndexOf('/') + 1);
      if (service.equals(stalled)) {
        stalled = null;
        return impatient.send(r);
      }
      return patient.send(r);
    }
  }

  static String boleto(String template, long nosso, String seu) {
    String b = template.replace("\"nossoNumero\": 123456789", "\"nossoNumero\": " + nosso)
        .replace("\"seuNumero\": \"0000004021\"", "\"seuNumero\": \"" + seu + "\"");
    assertTrue(b.contains(Long.toString(nosso)) && b.contains(seu), "template changed");
    return b;
  }

  static String faultJson(String fault, String service, int n) {
    return switch (fault) {
      case "stall" -> "[{\"fault\":\"stall\",\"ms\":" + STALL_MS + ",\"service\":\"" + service + "\"}]";
      case "500-plain" -> "[{\"fault\":\"500-plain\",\"service\":\"" + service + "\"}]";
      case "reconcile-fails" -> {
        StringBuilder b = new StringBuilder("[{\"fault\":\"store-then-502\"}");
        for (int i = 0; i < n; i++) {
          b.append(",{\"fault\":\"500-plain\",\"service\":\"psd052\"}");
        }
        yield b.append(']').toString();
      }
      default -> "[{\"fault\":\"" + fault + "\"}]";
    };
  }

  static List<String> since(SafraClient c, int from) {
    List<String> s = SafraFlowTest.services(c.exchanges());
    return new ArrayList<>(s.subList(from, s.size()));
  }

  @Test
  void faultSoak() throws Exception {
    String env = System.getenv("SELO_SOAK_SEED");
    long seed = env == null || env.isBlank() ? new SecureRandom().nextLong() : Long.parseLong(env.trim());
    System.out.println("soak seed: " + seed + " (SELO_SOAK_SEED=" + seed + " replays it)");
    Random rnd = new Random(seed);
    String template = Vectors.text("safra/boleto-sample.json");

    long started = System.nanoTime();
    try (SimProcess sim = SimProcess.safra()) {
      Transport transport = new Transport();
      SafraSession session = SafraSession.create("", sim.base, "CLIENTE01");
      int ok = 0;
      int business = 0;
      int unknowns = 0;
      List<String> registered = new ArrayList<>();
      Map<String, Integer> byFault = new TreeMap<>();
      try (PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
          SafraClient c = new SafraClient(session, transport, () -> System.currentTimeMillis() / 1000)) {
        session.setClientKey(key);
        assertEquals(SafraReply.Kind.AUTHENTICATED, c.authenticate().kind());
        // A boleto every clean follow-up query can find.
        SafraReply warm = c.registerBoleto(boleto(template, 100_000_000L, "WARM000001"));
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, warm.kind(), warm.json());
        String warmNosso = warm.nossoNumero().orElseThrow();
        registered.add(warmNosso);

        for (int i = 0; i < FLOWS; i++) {
          String fault = FAULTS[rnd.nextInt(FAULTS.length)];
          int at = rnd.nextInt(STEPS.length);
          int n = 1 + rnd.nextInt(3);
          if (fault.startsWith("store-then-") || fault.equals("reconcile-fails")) {
            at = 1; // psd050 faults
          }
          byFault.merge(fault + "@" + STEPS[at], 1, Integer::sum);
          long nosso = 200_000_000L + i;
          String seu = String.format("%010d", i);
          String what = "flow " + i + " (" + fault + (fault.equals("reconcile-fails") ? " x" + n : "") + " before "
              + STEPS[at] + ", seed " + seed + ")";
          SafraReply reg = null;
          SafraReply last = null;
          int endedAt = -1;
          int unknownHere = 0;
          List<String> registerExchanges = List.of();
          try {
            for (int step = 0; step < STEPS.length; step++) {
              if (step == at && !fault.equals("none")) {
                if (fault.equals("stall")) {
                  transport.stalled = STEPS[at];
                }
                sim.fault(faultJson(fault, STEPS[at], n));
              }
              int from = c.exchanges().size();
              switch (step) {
                case 0 -> last = c.authenticate();
                case 1 -> {
                  if (fault.equals("reconcile-fails")) {
                    // The caller retries the same boleto, as a caller would.
                    for (int k = 0; k < n; k++) {
                      int f = c.exchanges().size();
                      try {
                        c.registerBoleto(boleto(template, nosso, seu));
                        fail(what + ": register " + (k + 1) + " must end outcome_unknown");
                      } catch (SeloException e) {
                        assertEquals("safra.boleto.outcome_unknown", e.getCode(), what + ": " + e.getMessage());
                        unknownHere++;
                      }
                      assertEquals(k == 0 ? List.of("psd050:502", "psd052:500") : List.of("psd052:500"),
                          since(c, f), what + ": attempt " + (k + 1));
                      List<SafraSession.Unresolved> open = c.unresolvedRegistrations();
                      assertEquals(1, open.size(), what);
                      assertEquals(nosso, open.get(0).nossoNumero(), what);
                      assertEquals(seu, open.get(0).seuNumero(), what);
                    }
                    from = c.exchanges().size();
                  }
                  last = reg = c.registerBoleto(boleto(template, nosso, seu));
                  registerExchanges = since(c, from);
                }
                default -> last = c.queryBoleto(reg.nossoNumero().orElseThrow(), seu);
              }
              if (last.kind() == SafraReply.Kind.BUSINESS_ERROR) {
                endedAt = step;
                break;
              }
            }
          } catch (SeloException e) {
            fail(what + ": unexpected " + e.getMessage(), e);
          } catch (RuntimeException e) {
            fail(what + ": not a typed error: " + e, e);
          }
          unknowns += unknownHere;

          // The exact outcome of each fault.
          if (fault.equals("answer-550")) {
            business++;
            assertEquals(at, endedAt, what + ": the business error ends the flow where it was injected");
            assertTrue(last.codigo().isPresent(), what + ": " + last.json());
            if (reg != null && reg.kind() == SafraReply.Kind.BOLETO_REGISTERED) {
              registered.add(reg.nossoNumero().orElseThrow());
            }
          } else {
            assertEquals(-1, endedAt, what + ": a business error without answer-550: " + last.json());
            ok++;
            assertEquals(SafraReply.Kind.BOLETO_QUERIED, last.kind(), what);
            assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind(), what);
            assertEquals(Long.toString(nosso), SimProcess.strip(reg.nossoNumero().orElseThrow()), what);
            boolean stored = fault.startsWith("store-then-") || fault.equals("reconcile-fails");
            assertEquals(stored, reg.reconciled(), what + ": " + registerExchanges + " " + reg.json());
            assertEquals(fault.equals("reconcile-fails") ? n : 0, unknownHere, what);
            List<String> expected;
            if (at != 1 || fault.equals("none")) {
              expected = List.of("psd050:200");
            } else {
              expected = switch (fault) {
                case "store-then-502" -> List.of("psd050:502", "psd052:200");
                case "store-then-drop" -> List.of("psd050:0", "psd052:200");
                case "reconcile-fails" -> List.of("psd052:200");
                case "stall" -> List.of("psd050:0", "psd052:550", "psd050:200");
                case "500-plain" -> List.of("psd050:500", "psd052:550", "psd050:200");
                case "expire-key" -> List.of("psd050:500", "psd001:200", "psd001:200", "psd005:200", "psd050:200");
                case "answer-480" -> List.of("psd050:480", "psd001:200", "psd001:200", "psd005:200", "psd050:200");
                default -> throw new AssertionError(fault);
              };
            }
            assertEquals(expected, registerExchanges, what);
            registered.add(reg.nossoNumero().orElseThrow());
          }
          assertEquals(List.of(), c.unresolvedRegistrations(), what + ": nothing left unresolved");
          // The session is never wedged: a clean operation right after.
          boolean mine = reg != null && reg.kind() == SafraReply.Kind.BOLETO_REGISTERED;
          SafraReply clean = c.queryBoleto(mine ? reg.nossoNumero().orElseThrow() : warmNosso,
              mine ? seu : "WARM000001");
          assertEquals(SafraReply.Kind.BOLETO_QUERIED, clean.kind(), what + ": clean follow-up " + clean.json());
        }
      }

      JsonObject state = sim.state();
      for (String nosso : registered) {
        assertEquals(1, SimProcess.psd050Count(state, nosso), "psd050 processed for " + nosso + " (seed " + seed + ")");
      }
      int duplicates = SimProcess.duplicates(state);
      assertEquals(0, duplicates, "boletos registered twice (seed " + seed + "): " + state);
      assertEquals(FLOWS, ok + business);
      long ms = (System.nanoTime() - started) / 1_000_000;
      System.out.println("soak: " + FLOWS + " flows, " + ok + " ok, " + business + " business errors, " + unknowns
          + " outcome_unknown then reconciled, " + duplicates + " duplicates");
      System.out.println("(the soak ran in " + ms + " ms; flows by fault: " + byFault + ")");
      assertFalse(registered.isEmpty());
    }
  }
}
