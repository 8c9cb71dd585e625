package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 19: unresolved registrations in the Java API
 * ({@link SafraSession#unresolvedRegistrations()},
 * {@link SafraSession#resolveRegistration(long)}, the same on
 * {@link SafraClient}) against the in-process bank: a psd050 whose outcome
 * is unknown is listed (nossoNumero, seuNumero, since), survives
 * export/import, makes the next register start with psd052, and once
 * resolved by hand the next register sends psd050 directly.
 */
class SafraUnresolvedTest extends SafraBankFixture {
  static final long NOSSO = 123_456_789L;

  /** The bank, except that the listed services time out unprocessed, once each. */
  final class Flaky implements SafraClient.Transport {
    final List<String> failNext = new ArrayList<>();

    @Override
    public HttpMessage.Response send(HttpMessage.Request r) throws IOException {
      String service = r.url().substring(r.url().lastIndexOf('/') + 1);
      if (failNext.remove(service)) {
        throw new HttpTimeoutException("request timed out");
      }
      return bank.handle(r, clock.get());
    }
  }

  static List<String> since(SafraClient c, int from) {
    List<String> s = SafraFlowTest.services(c.exchanges());
    return s.subList(from, s.size());
  }

  @Test
  void unknownOutcomeIsListedCarriedAndResolvable() throws Exception {
    Flaky t = new Flaky();
    String boleto = Vectors.text("safra/boleto-sample.json");
    try (SafraClient c = client(t, "https://bank.test/psd")) {
      c.authenticate();
      assertEquals(List.of(), c.unresolvedRegistrations());
      assertFalse(c.resolveRegistration(NOSSO), "nothing to resolve yet");

      t.failNext.addAll(List.of("psd050", "psd052"));
      clock.addAndGet(7);
      assertEquals("safra.boleto.outcome_unknown",
          assertThrows(SeloException.class, () -> c.registerBoleto(boleto)).getCode());
      List<SafraSession.Unresolved> open = c.unresolvedRegistrations();
      assertEquals(List.of(new SafraSession.Unresolved(NOSSO, "0000004021", T0 + 7)), open);

      // Carried by export/import.
      byte[] blob = c.session().export();
      try (SafraSession copy = SafraSession.importSession(blob)) {
        assertEquals(open, copy.unresolvedRegistrations());
        assertTrue(copy.resolveRegistration(NOSSO));
        assertEquals(List.of(), copy.unresolvedRegistrations());
        assertFalse(copy.resolveRegistration(NOSSO), "resolved once");
      }
      assertEquals(open, c.unresolvedRegistrations(), "the copy's resolution is its own");

      // Unresolved: the next register starts with psd052 (not found: the
      // timed-out psd050 was never processed), then sends psd050 once.
      int from = c.exchanges().size();
      SafraReply reg = c.registerBoleto(boleto);
      assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind());
      assertFalse(reg.reconciled());
      assertEquals(List.of("psd052:550", "psd050:200"), since(c, from));
      assertEquals(List.of(), c.unresolvedRegistrations());
    }
  }

  @Test
  void resolvedByHandTheNextRegisterSendsPsd050Directly() throws Exception {
    Flaky t = new Flaky();
    String boleto = Vectors.text("safra/boleto-sample.json");
    try (SafraClient c = client(t, "https://bank.test/psd")) {
      c.authenticate();
      t.failNext.addAll(List.of("psd050", "psd052"));
      assertThrows(SeloException.class, () -> c.registerBoleto(boleto));
      assertEquals(1, c.unresolvedRegistrations().size());
      // The operator learnt from the bank that it was never registered.
      assertTrue(c.resolveRegistration(NOSSO));
      assertEquals(List.of(), c.session().unresolvedRegistrations());
      int from = c.exchanges().size();
      assertEquals(SafraReply.Kind.BOLETO_REGISTERED, c.registerBoleto(boleto).kind());
      assertEquals(List.of("psd050:200"), since(c, from));
    }
  }

  @Test
  void closedSessionIsTyped() {
    SafraSession s = SafraSession.create("", "https://bank.test/psd", "CLIENTE01");
    s.close();
    assertEquals("ffi.closed", assertThrows(SeloException.class, s::unresolvedRegistrations).getCode());
    assertEquals("ffi.closed", assertThrows(SeloException.class, () -> s.resolveRegistration(1)).getCode());
  }
}
