package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Failure paths against the core's bank role in-process: the transport loses
 * replies, times out or cannot connect, exactly where a test says, and the
 * session (not this binding) decides — reconcile psd050, resend the rest.
 */
class SafraFailurePathsTest extends SafraBankFixture {
  static final String NOSSO = "123456789";

  /** What the scripted transport does with the next request to a service. */
  enum Act { STORE_THEN_RESET, TIMEOUT_UNPROCESSED, CONNECT_REFUSED }

  /** The bank behind a transport that fails on cue (service name → acts, in order). */
  final class Scripted implements SafraClient.Transport {
    final Deque<String[]> script = new ArrayDeque<>();
    int psd050Processed;

    void then(String service, Act act) {
      script.add(new String[] {service, act.name()});
    }

    @Override
    public HttpMessage.Response send(HttpMessage.Request r) throws IOException {
      String service = r.url().substring(r.url().lastIndexOf('/') + 1);
      String[] next = script.peek();
      if (next != null && next[0].equals(service)) {
        script.poll();
        switch (Act.valueOf(next[1])) {
          case STORE_THEN_RESET -> {
            HttpMessage.Response lost = bank.handle(r, clock.get());
            assertEquals(200, lost.status());
            psd050Processed += service.equals("psd050") ? 1 : 0;
            throw new IOException("Connection reset");
          }
          case TIMEOUT_UNPROCESSED -> throw new HttpTimeoutException("request timed out");
          case CONNECT_REFUSED -> throw new ConnectException("Connection refused");
          default -> throw new AssertionError(next[1]);
        }
      }
      HttpMessage.Response resp = bank.handle(r, clock.get());
      if (service.equals("psd050")) {
        psd050Processed++;
      }
      return resp;
    }
  }

  SafraClient client(Scripted t) {
    return client(t, "https://bank.test/psd");
  }

  static List<String> since(SafraClient c, int from) {
    List<String> s = SafraFlowTest.services(c.exchanges());
    return s.subList(from, s.size());
  }

  static SafraSession.Step stepAt(SafraClient c, int i) {
    return c.exchanges().get(i).step();
  }

  /** Registers the sample boleto: the operation must end registered. */
  static SafraReply registered(SafraClient c) throws InterruptedException {
    SafraReply reg = c.registerBoleto(Vectors.text("safra/boleto-sample.json"));
    assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind());
    return reg;
  }

  @Test
  void onlyPsd050IsNotResendable() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      SafraSession s = c.session();
      SafraSession.Prepared reg = s.prepareNext(SafraSession.Op.REGISTER_BOLETO, Vectors.text("safra/boleto-sample.json"), T0);
      assertTrue(reg.request().url().endsWith("/psd050"), reg.request().url());
      assertFalse(reg.resendable());
      s.handleResponse(reg.id(), bank.handle(reg.request(), T0), T0);
      SafraSession.Prepared q = s.prepareNext(SafraSession.Op.QUERY_BOLETO,
          "{\"documento\":{\"nossoNumero\":\"" + NOSSO + "\",\"seuNumero\":\"0000004021\"}}", T0);
      assertTrue(q.request().url().endsWith("/psd052"), q.request().url());
      assertTrue(q.resendable());
    }
  }

  @Test
  void lostReplyOfPsd050IsReconciledNotResent() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      int from = c.exchanges().size();
      t.then("psd050", Act.STORE_THEN_RESET);
      SafraReply reg = registered(c);
      assertTrue(reg.reconciled(), reg.json());
      assertEquals(NOSSO, reg.nossoNumero().orElseThrow().replaceFirst("^0+", ""));
      assertEquals(List.of("psd050:0", "psd052:200"), since(c, from));
      assertEquals(SafraSession.Step.RECONCILE, stepAt(c, from));
      assertEquals(SafraSession.TransportFailure.RESET, c.exchanges().get(from).failure());
      assertEquals(1, t.psd050Processed, "psd050 reached the bank once");
      // The next operation runs clean and is not marked reconciled.
      SafraReply q = c.queryBoleto(reg.nossoNumero().orElseThrow(), "0000004021");
      assertEquals(SafraReply.Kind.BOLETO_QUERIED, q.kind());
      assertFalse(q.reconciled());
    }
  }

  @Test
  void psd050TimedOutUnprocessedIsQueriedThenRegisteredOnce() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      int from = c.exchanges().size();
      t.then("psd050", Act.TIMEOUT_UNPROCESSED);
      SafraReply reg = registered(c);
      assertFalse(reg.reconciled(), reg.json());
      assertEquals(List.of("psd050:0", "psd052:550", "psd050:200"), since(c, from));
      assertEquals(SafraSession.TransportFailure.TIMEOUT, c.exchanges().get(from).failure());
      assertEquals(SafraSession.Step.RECONCILE, stepAt(c, from));
      assertEquals(SafraSession.Step.RETRY, stepAt(c, from + 1));
      assertEquals(1, t.psd050Processed);
    }
  }

  @Test
  void ambiguousReconcileQueryIsOutcomeUnknownAndTheSessionGoesOn() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      int from = c.exchanges().size();
      t.then("psd050", Act.TIMEOUT_UNPROCESSED);
      t.then("psd052", Act.TIMEOUT_UNPROCESSED);
      SeloException e = assertThrows(SeloException.class,
          () -> c.registerBoleto(Vectors.text("safra/boleto-sample.json")));
      assertEquals("safra.boleto.outcome_unknown", e.getCode());
      assertTrue(e.getMessage().contains(NOSSO), e.getMessage());
      assertEquals(1, e.getSuppressed().length, "the transport failure travels with it");
      assertTrue(e.getSuppressed()[0] instanceof HttpTimeoutException);
      assertEquals(List.of("psd050:0", "psd052:0"), since(c, from));
      assertEquals(0, t.psd050Processed);
      // Never wedged: the next operations start clean.
      assertEquals(SafraReply.Kind.BUSINESS_ERROR, c.queryBoleto(NOSSO, "0000004021").kind());
      SafraReply reg = registered(c);
      assertFalse(reg.reconciled());
      assertEquals(1, t.psd050Processed);
    }
  }

  @Test
  void connectFailureIsSentAgainWithoutAQuery() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      int from = c.exchanges().size();
      t.then("psd050", Act.CONNECT_REFUSED);
      SafraReply reg = registered(c);
      assertEquals(List.of("psd050:0", "psd050:200"), since(c, from));
      assertEquals(SafraSession.TransportFailure.CONNECT, c.exchanges().get(from).failure());
      assertEquals(SafraSession.Step.RETRY, stepAt(c, from));
    }
  }

  @Test
  void endlessConnectFailuresEndInTooManyRecoveriesThenAFreshOperation() throws Exception {
    Scripted t = new Scripted();
    try (SafraClient c = client(t)) {
      c.authenticate();
      for (int i = 0; i < 50; i++) {
        t.then("psd052", Act.CONNECT_REFUSED);
      }
      SeloException e = assertThrows(SeloException.class, () -> c.queryBoleto(NOSSO, "0000004021"));
      assertEquals("safra.session.too_many_recoveries", e.getCode());
      t.script.clear();
      assertEquals(SafraReply.Kind.BUSINESS_ERROR, c.queryBoleto(NOSSO, "0000004021").kind());
    }
  }

  @Test
  void failuresAreClassifiedByWhatTheHttpStackThrew() {
    assertEquals(SafraSession.TransportFailure.CONNECT, SafraClient.failureOf(new ConnectException("refused")));
    assertEquals(SafraSession.TransportFailure.CONNECT,
        SafraClient.failureOf(new HttpConnectTimeoutException("connect timed out")));
    assertEquals(SafraSession.TransportFailure.CONNECT,
        SafraClient.failureOf(new IOException("wrapped", new java.net.UnknownHostException("bank.invalid"))));
    assertEquals(SafraSession.TransportFailure.TIMEOUT, SafraClient.failureOf(new HttpTimeoutException("timed out")));
    assertEquals(SafraSession.TransportFailure.RESET, SafraClient.failureOf(new IOException("Connection reset")));
    assertEquals(SafraSession.TransportFailure.RESET,
        SafraClient.failureOf(new java.io.EOFException("header parser received no bytes")));
    assertEquals(SafraSession.TransportFailure.OTHER, SafraClient.failureOf(new IllegalStateException("?")));
    assertEquals(SafraSession.TransportFailure.TIMEOUT, SafraClient.failureOf(
        new SafraClient.TransportException(SafraSession.TransportFailure.TIMEOUT, "custom", null)));
  }
}
