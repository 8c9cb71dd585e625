package dev.selo;

import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;

/** Safra PSD building blocks (handshake stages, envelopes, tokens, boletos). */
public final class Safra {
  private Safra() {}

  /** The stage-1 jwk for a client key, session GUID and key format. */
  public static String stage1Jwk(PrivateKey clientKey, String sessionId, String keyFormat) {
    PointerByReference out = new PointerByReference();
    clientKey.run(k -> Ffi.check(Ffi.N.selo_safra_stage1_jwk(k, sessionId, keyFormat, out)));
    return Ffi.takeString(out);
  }

  /** The bank key from a stage-1 reply body. */
  public static PublicKey parseStage1Reply(byte[] body) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_parse_stage1_reply(body, Ffi.len(body), out));
    return new PublicKey(out.getValue());
  }

  /** The agreed AES key and the winning padding/signature message (JSON). */
  public record Agreed(byte[] key, String winnersJson) {}

  public static Agreed parseStage2Reply(byte[] body, PrivateKey client, PublicKey bank, String padding,
      String signatureMessage) {
    SeloNative.SeloBuffer key = new SeloNative.SeloBuffer();
    PointerByReference winners = new PointerByReference();
    client.run(c -> bank.run(b -> Ffi.check(Ffi.N.selo_safra_parse_stage2_reply(body, Ffi.len(body), c, b, padding,
        signatureMessage, key, winners))));
    byte[] k = Ffi.takeBuffer(key);
    return new Agreed(k, Ffi.takeString(winners));
  }

  /** Seals with an explicit IV (vectors; sessions pick IVs themselves). */
  public static String sealWithIv(byte[] key, byte[] iv, byte[] plaintext) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_seal_with_iv(key, Ffi.len(key), iv, Ffi.len(iv), plaintext, Ffi.len(plaintext), out));
    return Ffi.takeString(out);
  }

  public static byte[] open(byte[] key, String envelope) {
    SeloNative.SeloBuffer out = new SeloNative.SeloBuffer();
    Ffi.check(Ffi.N.selo_safra_open(key, Ffi.len(key), envelope, out));
    return Ffi.takeBuffer(out);
  }

  /** The renewal schedule (JSON) of a token received at local time t0. */
  public static String tokenSchedule(String token, long t0, String profileJson) {
    PointerByReference out = new PointerByReference();
    Ffi.check(Ffi.N.selo_safra_token_schedule(token, t0, profileJson, out));
    return Ffi.takeString(out);
  }

  /** Validates a boleto registration (throws with the field path). */
  public static void validateBoleto(String boletoJson) {
    Ffi.check(Ffi.N.selo_safra_boleto_validate(boletoJson));
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
