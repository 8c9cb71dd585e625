package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * End to end against the Rust simulator ({@code selo sim safra --port 0}, the
 * bound address read back from its first line) over real HTTP.
 * scripts/test-ffi builds the CLI and sets SELO_SIM; without it the test
 * fails (never skips). The client's clock is injected: no wall-clock bounds.
 */
class SimulatorTest {
  static void fault(HttpClient http, String base, String fault) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "_control/fault"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"fault\":\"" + fault + "\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode() / 100 * 100, r.body());
  }

  static List<String> tail(SafraClient c, int n) {
    List<String> s = SafraFlowTest.services(c.exchanges());
    return s.subList(s.size() - n, s.size());
  }

  @Test
  void wholeFlowAgainstTheSimulator() throws Exception {
    try (SimProcess simulator = SimProcess.safra()) {
      String base = simulator.base;
      HttpClient http = HttpClient.newHttpClient();
      // The client's clock: starts at the wall clock, then moves only when told.
      AtomicLong clock = new AtomicLong(System.currentTimeMillis() / 1000);
      SafraSession session = SafraSession.create("", base, "CLIENTE01");
      try (PrivateKey key = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
          SafraClient c = new SafraClient(session, new SafraClient.HttpClientTransport(),
              clock::get)) {
        session.setClientKey(key);
        SafraReply auth = c.authenticate();
        assertEquals(SafraReply.Kind.AUTHENTICATED, auth.kind());
        assertEquals(List.of("psd001:200", "psd001:200", "psd005:200"), SafraFlowTest.services(c.exchanges()));

        SafraReply reg = c.registerBoleto(Vectors.text("safra/boleto-sample.json"));
        assertEquals(SafraReply.Kind.BOLETO_REGISTERED, reg.kind());
        String nosso = reg.nossoNumero().orElseThrow();

        // Renewal: the client's clock reaches the token's renewAt exactly
        // (the simulator's own token, 300 s, is far from expiring).
        clock.set(auth.renewAt().orElseThrow());
        assertEquals(SafraReply.Kind.BOLETO_QUERIED, c.queryBoleto(nosso, "0000004021").kind());
        assertEquals(List.of("psd007:200", "psd052:200"), tail(c, 2));

        fault(http, base, "expire-key");
        assertEquals(SafraReply.Kind.BOLETO_QUERIED, c.queryBoleto(nosso, "0000004021").kind());
        assertEquals(List.of("psd052:500", "psd001:200", "psd001:200", "psd005:200", "psd052:200"), tail(c, 5));

        fault(http, base, "answer-480");
        assertEquals(SafraReply.Kind.BOLETO_QUERIED, c.queryBoleto(nosso, "0000004021").kind());
        assertEquals(List.of("psd052:480", "psd001:200", "psd001:200", "psd005:200", "psd052:200"), tail(c, 5));

        fault(http, base, "answer-550");
        assertEquals(SafraReply.Kind.BUSINESS_ERROR, c.queryBoleto(nosso, "0000004021").kind());
      }
    }
  }
}
