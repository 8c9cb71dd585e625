package dev.selo;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The Rust Safra simulator ({@code selo sim safra --port 0}) as a test
 * resource: started from SELO_SIM (the test fails, never skips, when it is
 * unset), the bound base URL read back from its first line, stopped on close.
 */
final class SimProcess implements AutoCloseable {
  final Process process;
  /** {@code http://127.0.0.1:PORT/psd/}. */
  final String base;

  private SimProcess(Process process, String base) {
    this.process = process;
    this.base = base;
  }

  static SimProcess safra() throws IOException {
    String sim = System.getenv("SELO_SIM");
    assertFalse(sim == null || sim.isEmpty(), "SELO_SIM is not set: the path of the selo CLI (scripts/test-ffi sets it)");
    Process p = new ProcessBuilder(sim, "sim", "safra", "--port", "0", "--token-lifetime", "300", "--bank-key",
        Vectors.root().resolve("external/keys/rsa1024-bank.pem").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    if (first == null || !first.startsWith("listening on http://127.0.0.1:")) {
      p.destroy();
    }
    assertTrue(first != null && first.startsWith("listening on http://127.0.0.1:"), String.valueOf(first));
    String base = first.substring("listening on ".length()).trim();
    return new SimProcess(p, base.endsWith("/") ? base : base + "/");
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }
}
