package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 19: the promise to reconcile is session state. Driven through
 * {@link SafraClient} over java.net.http against {@code selo sim safra}: a
 * psd050 is stored but answered 502, and every psd052 that tries to
 * reconcile it fails; the register ends in {@code safra.boleto.outcome_unknown}
 * each time, other operations and an export/import run in between, and a
 * later register of the same boleto still starts with psd052 — it reconciles,
 * and the simulator processed the psd050 exactly once.
 */
class SafraPromiseTest {
  static final long NOSSO = 987_654_321L;
  static final long OTHER = 987_654_322L;

  static String boleto(long nosso, String seu) {
    return SafraSoakTest.boleto(Vectors.text("safra/boleto-sample.json"), nosso, seu);
  }

  static List<String> since(SafraClient c, int from) {
    List<String> s = SafraFlowTest.services(c.exchanges());
    return s.subList(from, s.size());
  }

  static SafraClient client(SafraSession s) {
    return new SafraClient(s, new SafraClient.HttpClientTransport(Duration.ofSeconds(20)),
        () -> System.currentTimeMillis() / 1000);
  }

  @Test
  void forgottenPromiseIsKeptAcrossOperationsAndExportImport() throws Exception {
    try (SimProcess sim = SimProcess.safra();
        PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"))) {
      SafraSession session = SafraSession.create("", sim.base, "CLIENTE01");
      session.setClientKey(key);
      SafraClient c = client(session);
      try {
        c.authenticate();
        assertEquals(List.of(), c.unresolvedRegistrations());
        // The psd050 is stored and answered 502; the two psd052 that try to
        // reconcile it fail with a plain 500.
        sim.fault("[{\"fault\":\"store-then-502\"},{\"fault\":\"500-plain\",\"service\":\"psd052\"},"
            + "{\"fault\":\"500-plain\",\"service\":\"psd052\"}]");
        long before = System.currentTimeMillis() / 1000;
        int from = c.exchanges().size();
        SeloException first = assertThrows(SeloException.class, () -> c.registerBoleto(boleto(NOSSO, "PROMISE01")));
        assertEquals("safra.boleto.outcome_unknown", first.getCode());
        assertTrue(first.getMessage().contains(Long.toString(NOSSO)), first.getMessage());
        assertEquals(List.of("psd050:502", "psd052:500"), since(c, from));
        List<SafraSession.Unresolved> open = c.unresolvedRegistrations();
        assertEquals(1, open.size(), open.toString());
        assertEquals(NOSSO, open.get(0).nossoNumero());
        assertEquals("PROMISE01", open.get(0).seuNumero());
        assertTrue(open.get(0).since() >= before && open.get(0).since() <= System.currentTimeMillis() / 1000 + 1,
            open.toString());

        // Another operation in between: a different boleto registers directly.
        from = c.exchanges().size();
        SafraReply other = c.registerBoleto(boleto(OTHER, "OTHER0001"));
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, other.kind(), other.json());
        assertFalse(other.reconciled());
        assertEquals(List.of("psd050:200"), since(c, from));

        // The session moves to another process: export, import.
        byte[] blob = session.export();
        c.close();
        session = SafraSession.importSession(blob);
        SafraClient c2 = client(session);
        try {
          assertEquals(open, c2.unresolvedRegistrations(), "export/import keeps the promise");
          // The same register again starts with psd052, which fails again.
          from = c2.exchanges().size();
          SeloException second = assertThrows(SeloException.class,
              () -> c2.registerBoleto(boleto(NOSSO, "PROMISE01")));
          assertEquals("safra.boleto.outcome_unknown", second.getCode());
          assertEquals(List.of("psd052:500"), since(c2, from), "never a second psd050 while unresolved");
          assertEquals(open, c2.unresolvedRegistrations());
          assertEquals(1, SimProcess.psd050Count(sim.state(), Long.toString(NOSSO)));

          // And once more: the psd052 answers, the boleto is found.
          from = c2.exchanges().size();
          SafraReply reg = c2.registerBoleto(boleto(NOSSO, "PROMISE01"));
          assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind(), reg.json());
          assertTrue(reg.reconciled(), reg.json());
          assertEquals(Long.toString(NOSSO), SimProcess.strip(reg.nossoNumero().orElseThrow()));
          assertEquals(List.of("psd052:200"), since(c2, from));
          assertEquals(List.of(), c2.unresolvedRegistrations());

          JsonObject state = sim.state();
          assertEquals(1, SimProcess.psd050Count(state, Long.toString(NOSSO)), state.toString());
          assertEquals(1, SimProcess.psd050Count(state, Long.toString(OTHER)), state.toString());
          assertEquals(0, SimProcess.duplicates(state), state.toString());

        } finally {
          c2.close();
        }
      } finally {
        c.close();
      }
    }
  }
}
