package dev.selo;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * For tests that run the psd flow through SafraClient against the core's
 * bank role in-process: the vector keys (external/keys), and a fresh bank on
 * a test clock (starting at {@link #T0}) for each test.
 */
abstract class SafraBankFixture {
  static final long T0 = 1_800_000_000L;
  final AtomicLong clock = new AtomicLong(T0);
  PrivateKey bankKey;
  PrivateKey clientKey;
  SafraBank bank;

  @BeforeEach
  void setUp() {
    bankKey = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-bank.pem"));
    clientKey = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
    bank = SafraBank.create("", bankKey, 600, clock::get);
  }

  @AfterEach
  void tearDown() {
    bank.close();
    bankKey.close();
    clientKey.close();
  }

  /** A client with the client key over {@code t}, on the test clock. */
  SafraClient client(SafraClient.Transport t, String baseUrl) {
    SafraSession s = SafraSession.create("", baseUrl, "CLIENTE01");
    s.setClientKey(clientKey);
    return new SafraClient(s, t, clock::get);
  }
}
