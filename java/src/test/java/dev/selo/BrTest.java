package dev.selo;

import static dev.selo.Vectors.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

class BrTest {
  final JsonObject v = Vectors.json("external/br/identifiers.json");

  @Test
  void cpfAndCnpj() {
    for (JsonElement e : v.getAsJsonArray("cpf")) {
      JsonObject c = e.getAsJsonObject();
      assertEquals(c.get("valid").getAsBoolean(), Br.isValidCpf(s(c, "value")), s(c, "value"));
    }
    for (String set : new String[] {"cnpj", "cnpj_alphanumeric"}) {
      for (JsonElement e : v.getAsJsonArray(set)) {
        JsonObject c = e.getAsJsonObject();
        assertEquals(c.get("valid").getAsBoolean(), Br.isValidCnpj(s(c, "value")), s(c, "value"));
        if (c.has("formatted")) {
          assertEquals(s(c, "formatted"), Br.formatCnpj(s(c, "value")));
        }
      }
    }
    assertEquals("br.cpf.invalid", assertThrows(SeloException.class, () -> Br.validateCpf("11111111111")).getCode());
  }

  @Test
  void boletos() {
    for (JsonElement e : v.getAsJsonArray("boleto_bancario")) {
      JsonObject c = e.getAsJsonObject();
      if (c.get("valid").getAsBoolean()) {
        assertEquals(s(c, "codigo_barras"), Br.linhaToBarcode(s(c, "linha_digitavel")));
        assertEquals(s(c, "linha_digitavel"), Br.barcodeToLinha(s(c, "codigo_barras")));
        JsonObject p = JsonParser.parseString(Br.parseBoleto(s(c, "linha_digitavel"))).getAsJsonObject();
        assertEquals(c.get("amount_cents").getAsLong(), p.get("amount_cents").getAsLong());
        assertEquals(s(c, "bank"), p.get("bank").getAsString());
      } else {
        SeloException x = assertThrows(SeloException.class, () -> Br.linhaToBarcode(s(c, "linha_digitavel")));
        assertTrue(x.getCode().startsWith("br.boleto."), x.getCode());
      }
    }
  }

  @Test
  void pixKeys() {
    for (JsonElement e : v.getAsJsonArray("pix_keys")) {
      JsonObject c = e.getAsJsonObject();
      if (c.get("valid").getAsBoolean()) {
        JsonObject info = c.getAsJsonObject("info");
        JsonObject got = JsonParser.parseString(Br.detectPixKey(s(c, "key"))).getAsJsonObject();
        assertEquals(info, got);
      } else {
        assertEquals("br.pix_key.invalid",
            assertThrows(SeloException.class, () -> Br.detectPixKey(s(c, "key"))).getCode());
      }
    }
    assertEquals("fulano@example.com", Br.validatePixKey(3, "fulano@example.com"));
    assertEquals("br.pix_key.type", assertThrows(SeloException.class, () -> Br.validatePixKey(7, "x")).getCode());
    Br.validateIspb("13370835");
  }
}
