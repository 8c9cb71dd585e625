package dev.selo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ErrorCodesTest {
  @Test
  void javaListEqualsTheLibrarysList() {
    assertEquals(ErrorCodes.ALL, Selo.errorCodes());
  }

  @Test
  void ffiCodesEqualTheLibrarys() {
    assertEquals(ErrorCodes.FFI, Selo.ffiErrorCodes());
  }

  @Test
  void versionIsTheCrateVersion() {
    assertEquals("0.2.0", Selo.version());
  }

  @Test
  void nullArgumentsAreErrorsWithTheirCode() {
    SeloException e = assertThrows(SeloException.class, () -> Br.validateCpf(null));
    assertEquals("ffi.null_argument", e.getCode());
    assertEquals(1, e.getStatus());
  }

  @Test
  void closedHandlesAreErrors() {
    PrivateKey k = PrivateKey.fromPem(Vectors.text("external/keys/rsa1024-client.pem"));
    k.close();
    k.close();
    assertEquals("ffi.closed", assertThrows(SeloException.class, k::bits).getCode());
  }

  @Test
  void keyImportErrorsNameTheFormat() {
    SeloException e = assertThrows(SeloException.class, () -> PrivateKey.importKey(new byte[] {1, 2, 3}));
    assertEquals("key.import.bad_der", e.getCode());
  }

  @Test
  void utf8CrossesIntact() {
    // Non-ASCII text goes through JNA as UTF-8 whatever the default charset.
    String boleto = Vectors.text("safra/boleto-sample.json").replace("José da Silva", "Joãozinho Ção");
    Safra.validateBoleto(boleto);
    SeloException e = assertThrows(SeloException.class,
        () -> Safra.validateBoleto(boleto.replace("Joãozinho Ção", "ã".repeat(41))));
    assertEquals("safra.boleto.too_long", e.getCode());
  }
}
