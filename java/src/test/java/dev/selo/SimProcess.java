package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The Rust Safra simulator ({@code selo sim safra --port 0}) as a test
 * resource: started from SELO_SIM (the test fails, never skips, when it is
 * unset) with the fixture bank key, the bound base URL and the bank-key pin
 * read back from its first two lines, stopped on close. The control
 * endpoint's JSON is read with the tests' own JSON reader (gson).
 */
final class SimProcess implements AutoCloseable {
  static final String PIN_LINE = "bank key pin (profile bank_key_pins): ";
  final Process process;
  /** {@code http://127.0.0.1:PORT/psd/}. */
  final String base;
  /** What the simulator printed as its bank key's pin. */
  final String pin;
  private final HttpClient control = HttpClient.newHttpClient();

  private SimProcess(Process process, String base, String pin) {
    this.process = process;
    this.base = base;
    this.pin = pin;
  }

  static SimProcess safra() throws IOException {
    return safra(300);
  }

  /** The simulator issuing tokens that live {@code tokenLifetime} seconds (> 60). */
  static SimProcess safra(int tokenLifetime) throws IOException {
    String sim = System.getenv("SELO_SIM");
    assertFalse(sim == null || sim.isEmpty(), "SELO_SIM is not set: the path of the selo CLI (scripts/test-ffi sets it)");
    Process p = new ProcessBuilder(sim, "sim", "safra", "--port", "0", "--token-lifetime", Integer.toString(tokenLifetime), "--bank-key",
        Vectors.root().resolve("external/keys/rsa1024-bank.pem").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    String second = first == null ? null : out.readLine();
    boolean ok = first != null && first.startsWith("listening on http://127.0.0.1:") && second != null
        && second.startsWith(PIN_LINE);
    if (!ok) {
      p.destroy();
    }
    assertTrue(ok, first + " / " + second);
    String base = first.substring("listening on ".length()).trim();
    // Drain the rest (the control line) so the simulator never blocks on a full pipe.
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // discard
        }
      } catch (IOException ignored) {
        // the process ended
      }
    });
    drain.setDaemon(true);
    drain.start();
    return new SimProcess(p, base.endsWith("/") ? base : base + "/", second.substring(PIN_LINE.length()).trim());
  }

  /** The origin's control URL for {@code what} ("fault", "state"). */
  private URI control(String what) {
    URI b = URI.create(base);
    return URI.create(b.getScheme() + "://" + b.getAuthority() + "/_control/" + what);
  }

  /** Queues faults: a JSON object or list, e.g. {@code [{"fault":"store-then-502"}]}. */
  void fault(String json) throws IOException, InterruptedException {
    HttpResponse<String> r = control.send(HttpRequest.newBuilder(control("fault"))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(2, r.statusCode() / 100, json + " -> " + r.statusCode() + " " + r.body());
  }

  /** {@code DELETE /_control/fault}: clears latency and pending drops. */
  void clearFaults() throws IOException, InterruptedException {
    HttpResponse<String> r = control.send(HttpRequest.newBuilder(control("fault")).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(2, r.statusCode() / 100, "DELETE fault -> " + r.statusCode() + " " + r.body());
  }

  /** Requests per {@code "<service> <status>"} ({@code counts} of the state), 0 when none. */
  static int count(JsonObject state, String serviceStatus) {
    JsonElement e = state.getAsJsonObject("counts").get(serviceStatus);
    return e == null ? 0 : e.getAsInt();
  }

  /** {@code GET /_control/state}. */
  JsonObject state() throws IOException, InterruptedException {
    HttpResponse<String> r = control.send(HttpRequest.newBuilder(control("state")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return JsonParser.parseString(r.body()).getAsJsonObject();
  }

  static String strip(String n) {
    String s = n.replaceFirst("^0+", "");
    return s.isEmpty() ? "0" : s;
  }

  /** How many psd050 the simulator processed (stored) for {@code nossoNumero}. */
  static int psd050Count(JsonObject state, String nossoNumero) {
    int seen = 0;
    for (Map.Entry<String, JsonElement> e : state.getAsJsonObject("protocol").getAsJsonObject("psd050_counts")
        .entrySet()) {
      if (strip(e.getKey()).equals(strip(nossoNumero))) {
        seen += e.getValue().getAsInt();
      }
    }
    return seen;
  }

  static int duplicates(JsonObject state) {
    return state.getAsJsonObject("protocol").get("duplicates").getAsInt();
  }

  /** Requests the simulator served (control calls included), as {@code requests} counts them. */
  static int requests(JsonObject state) {
    return state.get("requests").getAsInt();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }
}
