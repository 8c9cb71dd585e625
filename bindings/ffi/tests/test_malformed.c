/* Malformed input through the C ABI: NULLs, foreign, freed and mistyped
 * handles, invalid UTF-8, out-of-range enums, truncated buffers and
 * pseudo-random garbage into every parser. Nothing may crash (run it under
 * valgrind); every refusal must be a status with a code.
 * Prints "c (malformed): N passed, N failed". */
#include "selo.h"
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static const char *str(const char *s) { return s ? s : "(null)"; }

static void expect(int cond, const char *what) {
  if (cond) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL: %s [last error: %s: %s]\n", what, str(selo_last_error_code()),
            str(selo_last_error_message()));
  }
}

/* A refusal: non-OK status and a code on this thread. */
static void refused(SeloStatus st, const char *code, const char *what) {
  const char *c = selo_last_error_code();
  int ok = st != SELO_OK && c != NULL && selo_last_error_message() != NULL;
  if (ok && code) ok = strcmp(c, code) == 0;
  expect(ok, what);
}

/* Either outcome is fine for garbage, but a failure must carry a code and
   a success must not leave one behind. */
static void decided(SeloStatus st, const char *what) {
  expect(st == SELO_OK ? selo_last_error_code() == NULL : selo_last_error_code() != NULL, what);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t next_byte(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint8_t)(rng_state >> 24);
}
static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = next_byte();
}
/* Random printable text (sometimes with dots, quotes, braces). */
static void fill_text(char *p, size_t n) {
  static const char alphabet[] = "AZaz09+/=.{}\":,[]-_ \\jwkdata";
  for (size_t i = 0; i + 1 < n; i++) p[i] = alphabet[next_byte() % (sizeof alphabet - 1)];
  p[n - 1] = 0;
}

static void nulls(void) {
  SeloPrivateKey *k = NULL;
  SeloPublicKey *pk = NULL;
  char *s = NULL;
  SeloBuffer b = {0};
  uint64_t id;
  SeloRequest *req = NULL;
  SeloResponse *resp = NULL;
  uint32_t step;
  SeloSafraReply *reply = NULL;
  SeloSafraSession *sess = NULL;
  refused(selo_private_key_import(NULL, 10, &k), "ffi.null_argument", "key import NULL data");
  refused(selo_private_key_import((const uint8_t *)"x", 1, NULL), "ffi.null_argument", "key import NULL out");
  refused(selo_private_key_public(NULL, &pk), "ffi.null_argument", "public of NULL");
  refused(selo_private_key_to_pkcs8_pem(NULL, &s), "ffi.null_argument", "pem of NULL");
  refused(selo_public_key_encode(NULL, "der-spki", &b), "ffi.null_argument", "encode NULL");
  refused(selo_public_key_to_jwk(NULL, "", &s), "ffi.null_argument", "jwk NULL");
  refused(selo_safra_session_new(NULL, "hml", "C", &sess), "ffi.null_argument", "session profile NULL");
  refused(selo_safra_session_new("", NULL, "C", &sess), "ffi.null_argument", "session url NULL");
  refused(selo_safra_session_new("", "hml", NULL, &sess), "ffi.null_argument", "session cliente NULL");
  refused(selo_safra_session_new("", "hml", "C", NULL), "ffi.null_argument", "session out NULL");
  refused(selo_safra_session_prepare_next(NULL, 1, "", 0, &id, &req), "ffi.null_argument", "prepare NULL");
  refused(selo_safra_session_handle_response(NULL, 1, NULL, 0, &step, &reply), "ffi.null_argument",
          "handle NULL");
  refused(selo_safra_session_export(NULL, &b), "ffi.null_argument", "export NULL");
  refused(selo_safra_session_import(NULL, 5, &sess), "ffi.null_argument", "import NULL");
  refused(selo_safra_session_id(NULL, &s), "ffi.null_argument", "session id NULL");
  refused(selo_safra_stage1_jwk(NULL, "s", "der-spki", &s), "ffi.null_argument", "stage1 NULL");
  refused(selo_safra_parse_stage1_reply(NULL, 3, &pk), "ffi.null_argument", "stage1 reply NULL");
  refused(selo_safra_parse_stage2_reply(NULL, 3, NULL, NULL, "auto", "auto", &b, &s),
          "ffi.null_argument", "stage2 NULL");
  refused(selo_safra_seal_with_iv(NULL, 32, NULL, 16, NULL, 0, &s), "ffi.null_argument", "seal NULL");
  refused(selo_safra_open(NULL, 32, "a.b.c", &b), "ffi.null_argument", "open NULL");
  refused(selo_safra_token_schedule(NULL, 0, "", &s), "ffi.null_argument", "token NULL");
  refused(selo_safra_boleto_validate(NULL), "ffi.null_argument", "boleto NULL");
  refused(selo_safra_bank_new("", NULL, 600, NULL), "ffi.null_argument", "bank NULL");
  refused(selo_safra_bank_handle(NULL, NULL, 0, &resp), "ffi.null_argument", "bank handle NULL");
  refused(selo_safra_bank_inject(NULL, 0), "ffi.null_argument", "inject NULL");
  refused(selo_bmp_signer_new(NULL, "", NULL), "ffi.null_argument", "signer NULL");
  refused(selo_bmp_signer_hmac(NULL, NULL, 0, &s), "ffi.null_argument", "hmac NULL");
  refused(selo_bmp_signer_verify(NULL, NULL, 0, NULL), "ffi.null_argument", "verify NULL");
  refused(selo_bmp_confirm(NULL, NULL, NULL, NULL, &resp, &s), "ffi.null_argument", "confirm NULL");
  refused(selo_bmp_canonical(NULL, 4, "", &b), "ffi.null_argument", "canonical NULL");
  refused(selo_bmp_money_parse(NULL, &s), "ffi.null_argument", "money NULL");
  refused(selo_bmp_money_from_cents(1, NULL), "ffi.null_argument", "money out NULL");
  refused(selo_bmp_original_set(NULL, NULL, 0), "ffi.null_argument", "original NULL");
  refused(selo_br_validate_cpf(NULL), "ffi.null_argument", "cpf NULL");
  refused(selo_br_parse_boleto(NULL, &s), "ffi.null_argument", "boleto code NULL");
  refused(selo_br_detect_pix_key(NULL, &s), "ffi.null_argument", "pix NULL");
  refused(selo_jwks_parse(NULL, NULL), "ffi.null_argument", "jwks NULL");
  refused(selo_ofb_verify(NULL, NULL, NULL, NULL, NULL, 0, &s), "ffi.null_argument", "ofb verify NULL");
  refused(selo_ofb_signer_sign(NULL, "{}", "a", 0, 0, &s), "ffi.null_argument", "ofb sign NULL");
  refused(selo_jti_cache_check(NULL, "c", "j", 0), "ffi.null_argument", "jti NULL");
  refused(selo_ofb_server_verify(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, &s, &resp, &s),
          "ffi.null_argument", "server verify NULL");
  refused(selo_request_new(NULL, "u", &req), "ffi.null_argument", "request NULL");
  refused(selo_response_add_header(NULL, "a", "b"), "ffi.null_argument", "response header NULL");
  refused(selo_error_codes(NULL), "ffi.null_argument", "codes NULL");
  expect(k == NULL && pk == NULL && s == NULL && b.data == NULL && req == NULL && resp == NULL &&
             sess == NULL && reply == NULL,
         "no output written by a failed call");
  /* Accessors and frees with NULL. */
  expect(selo_request_method(NULL) == NULL && selo_request_url(NULL) == NULL &&
             selo_request_header_count(NULL) == 0 && selo_request_header_name(NULL, 0) == NULL &&
             selo_request_body(NULL) == NULL && selo_request_body_len(NULL) == 0 &&
             selo_response_status(NULL) == 0 && selo_response_body(NULL) == NULL &&
             selo_safra_session_state(NULL) == UINT32_MAX && selo_safra_reply_kind(NULL) == UINT32_MAX &&
             selo_safra_reply_json(NULL) == NULL && selo_safra_reply_field(NULL, NULL) == NULL &&
             selo_private_key_bits(NULL) == 0 && selo_public_key_bits(NULL) == 0 &&
             !selo_public_key_equals(NULL, NULL) && selo_jti_cache_len(NULL) == 0 &&
             !selo_bmp_decimal_eq(NULL, "1"),
         "accessors with NULL");
  selo_string_free(NULL);
  selo_buffer_free(NULL);
  selo_buffer_free(&b);
  selo_private_key_free(NULL);
  selo_public_key_free(NULL);
  selo_safra_session_free(NULL);
  selo_safra_bank_free(NULL);
  selo_safra_reply_free(NULL);
  selo_request_free(NULL);
  selo_response_free(NULL);
  selo_bmp_signer_free(NULL);
  selo_jwks_free(NULL);
  selo_ofb_signer_free(NULL);
  selo_jti_cache_free(NULL);
  expect(1, "frees of NULL");
}

static void handles(void) {
  /* Foreign memory, freed handles and handles of another type. */
  uint64_t fake[16] = {0};
  char *s = NULL;
  SeloBuffer b = {0};
  refused(selo_private_key_to_pkcs8_pem((const SeloPrivateKey *)fake, &s), "ffi.invalid_handle",
          "foreign pointer as key");
  refused(selo_safra_session_id((const SeloSafraSession *)(uintptr_t)0x10, &s), "ffi.invalid_handle",
          "small integer as session");
  SeloPrivateKey *k = NULL;
  selo_private_key_import((const uint8_t *)S1_CLIENT_PEM.p, S1_CLIENT_PEM.n, &k);
  SeloPublicKey *pk = NULL;
  selo_private_key_public(k, &pk);
  refused(selo_private_key_to_pkcs8_pem((const SeloPrivateKey *)pk, &s), "ffi.invalid_handle",
          "public key as private key");
  refused(selo_safra_session_export((const SeloSafraSession *)k, &b), "ffi.invalid_handle",
          "key as session");
  selo_public_key_free(pk);
  refused(selo_public_key_encode(pk, "der-spki", &b), "ffi.invalid_handle", "use after free");
  selo_public_key_free(pk); /* double free */
  selo_private_key_free((SeloPrivateKey *)fake); /* freeing foreign memory: ignored */
  selo_string_free((char *)fake);
  SeloBuffer fb = {(uint8_t *)fake, 8};
  selo_buffer_free(&fb);
  expect(fb.data == NULL && fb.len == 0, "foreign buffer reset, not freed");
  refused(selo_public_key_encode(NULL, "der-spki", &b), "ffi.null_argument", "NULL key");
  SeloPublicKey *pk2 = NULL;
  selo_private_key_public(k, &pk2);
  refused(selo_public_key_encode(pk2, "der-xyz", &b), "ffi.invalid_argument", "unknown format");
  refused(selo_public_key_encode(pk2, "\xff\xfe", &b), "ffi.invalid_utf8", "invalid UTF-8");
  char *pem = NULL;
  expect(selo_private_key_to_pkcs8_pem(k, &pem) == SELO_OK && pem, "pem export");
  selo_string_free(pem);
  selo_string_free(pem);
  selo_public_key_free(pk2);
  selo_private_key_free(k);
  selo_private_key_free(k);
}

static void enums_and_times(void) {
  SeloSafraSession *s = NULL;
  selo_safra_session_new("", "hml", "C", &s);
  uint64_t id;
  SeloRequest *req = NULL;
  refused(selo_safra_session_prepare_next(s, 99, "", 0, &id, &req), "ffi.invalid_argument", "op 99");
  refused(selo_safra_session_prepare_next(s, 1, "", -1, &id, &req), "ffi.invalid_argument", "negative now");
  refused(selo_safra_session_prepare_next(s, 3, "not json", 0, &id, &req), NULL, "boleto not JSON");
  refused(selo_safra_session_prepare_next(s, 4, "{", 0, &id, &req), "safra.message.malformed",
          "query not JSON");
  refused(selo_safra_session_set_seed(s, (const uint8_t *)"short", 5), "ffi.invalid_argument", "short seed");
  refused(selo_safra_session_new("{\"key_bits\":7}", "hml", "C", &s), "safra.profile.invalid", "bad profile");
  refused(selo_safra_session_new("{\"nope\":1}", "hml", "C", &s), "safra.profile.invalid", "unknown member");
  refused(selo_bmp_signer_new("k", "[1]", NULL), "ffi.null_argument", "out checked first");
  refused(selo_jti_cache_new(0, false, NULL), "ffi.null_argument", "cache out");
  SeloJtiCache *c = NULL;
  refused(selo_jti_cache_new(0, false, &c), "ffi.invalid_argument", "capacity 0");
  selo_safra_session_free(s);
  char *str_out = NULL;
  refused(selo_bmp_money_from_cents(-5, &str_out), "bmp.money.negative", "negative cents");
  refused(selo_br_validate_pix_key(-1, "x", &str_out), "br.pix_key.type", "pix type -1");
}

static SeloResponse *response(unsigned status, const uint8_t *body, size_t n) {
  SeloResponse *r = NULL;
  selo_response_new((uint16_t)status, &r);
  selo_response_add_header(r, "content-type", "application/json");
  selo_response_set_body(r, body, n);
  return r;
}

static void truncated(void) {
  /* Every prefix of a PEM key, of a stage-2 reply, of an envelope. */
  for (size_t n = 0; n < S1_CLIENT_PEM.n; n += 13) {
    SeloPrivateKey *k = NULL;
    refused(selo_private_key_import((const uint8_t *)S1_CLIENT_PEM.p, n, &k), NULL, "truncated PEM");
    expect(k == NULL, "no key from a truncated PEM");
  }
  SeloPrivateKey *own_client = NULL, *own_bank = NULL;
  selo_private_key_import((const uint8_t *)OWN_CLIENT_PEM.p, OWN_CLIENT_PEM.n, &own_client);
  selo_private_key_import((const uint8_t *)OWN_BANK_PEM.p, OWN_BANK_PEM.n, &own_bank);
  SeloPublicKey *bank_pub = NULL;
  selo_private_key_public(own_bank, &bank_pub);
  const OwnS2 *c = &OWN_S2[0];
  for (size_t n = 0; n < c->body.n; n += 9) {
    SeloBuffer key = {0};
    char *w = NULL;
    refused(selo_safra_parse_stage2_reply((const uint8_t *)c->body.p, n, own_client, bank_pub,
                                          "auto", "auto", &key, &w),
            NULL, "truncated stage-2 reply");
  }
  for (size_t n = 0; n < strlen(ENV_SEAL[0].envelope); n += 7) {
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)n, ENV_SEAL[0].envelope);
    SeloBuffer pt = {0};
    SeloStatus st = selo_safra_open((const uint8_t *)ENV_SEAL[0].key.p, 32, buf, &pt);
    decided(st, "truncated envelope");
    selo_buffer_free(&pt);
  }
  /* A session fed truncated and garbage replies in every state. */
  for (int round = 0; round < 40; round++) {
    SeloSafraSession *s = NULL;
    selo_safra_session_new("", "http://h/psd", "C", &s);
    selo_safra_session_set_client_key(s, own_client);
    SeloSafraBank *bank = NULL;
    selo_safra_bank_new("", own_bank, 600, &bank);
    int depth = round % 4; /* how many good exchanges before the bad one */
    int64_t now = 1800000000;
    for (int i = 0;; i++) {
      uint64_t id;
      SeloRequest *req = NULL;
      if (selo_safra_session_prepare_next(s, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now, &id, &req) !=
          SELO_OK)
        break;
      SeloResponse *good = NULL;
      selo_safra_bank_handle(bank, req, now, &good);
      SeloResponse *use = good;
      SeloResponse *bad = NULL;
      if (i == depth) {
        size_t n = selo_response_body_len(good);
        uint8_t buf[2048];
        size_t cut = n ? (size_t)(next_byte() % n) : 0;
        if (cut > sizeof buf) cut = sizeof buf;
        memcpy(buf, selo_response_body(good) ? selo_response_body(good) : (const uint8_t *)"", cut);
        if (round % 3 == 1) fill(buf, cut); /* garbage of the same length */
        unsigned statuses[] = {200, 200, 500, 480, 550, 404, 503};
        bad = response(statuses[next_byte() % 7], buf, cut);
        use = bad;
      }
      uint32_t step;
      SeloSafraReply *reply = NULL;
      SeloStatus st = selo_safra_session_handle_response(s, id, use, now, &step, &reply);
      decided(st, "session fed a bad reply");
      selo_safra_reply_free(reply);
      selo_response_free(good);
      selo_response_free(bad);
      selo_request_free(req);
      if (st != SELO_OK || step == SELO_SAFRA_STEP_DONE || i > depth + 3) break;
    }
    selo_safra_bank_free(bank);
    selo_safra_session_free(s);
  }
  selo_public_key_free(bank_pub);
  selo_private_key_free(own_bank);
  selo_private_key_free(own_client);
}

static void garbage(void) {
  SeloPrivateKey *bank_key = NULL;
  selo_private_key_import((const uint8_t *)OWN_BANK_PEM.p, OWN_BANK_PEM.n, &bank_key);
  SeloSafraBank *bank = NULL;
  selo_safra_bank_new("", bank_key, 600, &bank);
  SeloBmpSigner *signer = NULL;
  selo_bmp_signer_new(HMAC_KEY, "", &signer);
  SeloJwks *jwks = NULL;
  selo_jwks_parse(OFB_X_JWKS, &jwks);
  static const char *paths[] = {"http://h/psd/psd001", "http://h/psd/psd005", "http://h/psd/psd007",
                                "http://h/psd/psd050", "http://h/psd/psd052", "http://h/x"};
  for (int i = 0; i < 300; i++) {
    uint8_t bin[256];
    char text[256];
    size_t n = next_byte();
    fill(bin, n);
    fill_text(text, (size_t)(next_byte() % 255) + 1);
    SeloPrivateKey *k = NULL;
    decided(selo_private_key_import(bin, n, &k), "key import garbage");
    selo_private_key_free(k);
    SeloPublicKey *pk = NULL;
    decided(selo_public_key_import((const uint8_t *)text, strlen(text), &pk), "public import text");
    selo_public_key_free(pk);
    decided(selo_safra_parse_stage1_reply((const uint8_t *)text, strlen(text), &pk), "stage 1 garbage");
    selo_public_key_free(pk);
    SeloBuffer b = {0};
    decided(selo_safra_open((const uint8_t *)ENV_SEAL[0].key.p, 32, text, &b), "open garbage");
    selo_buffer_free(&b);
    char *s = NULL;
    decided(selo_safra_token_schedule(text, 0, "", &s), "token garbage");
    selo_string_free(s);
    decided(selo_safra_boleto_validate(text), "boleto garbage");
    /* The bank role with proper headers and a garbage body. */
    SeloRequest *req = NULL;
    selo_request_new("POST", paths[i % 6], &req);
    selo_request_add_header(req, "amc-session-id", (i & 1) ? "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b" : text);
    selo_request_add_header(req, "amc-aplicacao", "PSD");
    selo_request_set_body(req, (i & 2) ? bin : (const uint8_t *)text, (i & 2) ? n : strlen(text));
    SeloResponse *resp = NULL;
    expect(selo_safra_bank_handle(bank, req, 1800000000, &resp) == SELO_OK &&
               selo_response_status(resp) >= 400,
           "bank answers garbage with an error response");
    selo_response_free(resp);
    /* BMP. */
    decided(selo_bmp_canonical(bin, n, "", &b), "canonical garbage");
    selo_buffer_free(&b);
    decided(selo_bmp_canonical((const uint8_t *)text, strlen(text), "", &b), "canonical text");
    selo_buffer_free(&b);
    decided(selo_bmp_signer_verify(signer, bin, n, text), "verify garbage mac");
    decided(selo_bmp_money_parse(text, &s), "money garbage");
    selo_string_free(s);
    char *diff = NULL;
    expect(selo_bmp_confirm(signer, req, NULL, NULL, &resp, &diff) == SELO_ERR_NULL_ARGUMENT,
           "confirm without lookup");
    /* OFB. */
    decided(selo_ofb_verify(text, jwks, "a", "b", "", 0, &s), "ofb garbage");
    selo_string_free(s);
    SeloJwks *j = NULL;
    decided(selo_jwks_parse(text, &j), "jwks garbage");
    selo_jwks_free(j);
    /* br. */
    decided(selo_br_validate_cpf(text), "cpf garbage");
    decided(selo_br_validate_cnpj(text), "cnpj garbage");
    decided(selo_br_parse_boleto(text, &s), "boleto code garbage");
    selo_string_free(s);
    decided(selo_br_detect_pix_key(text, &s), "pix garbage");
    selo_string_free(s);
    SeloSafraSession *sess = NULL;
    decided(selo_safra_session_import(bin, n, &sess), "import garbage");
    selo_safra_session_free(sess);
    selo_request_free(req);
  }
  selo_jwks_free(jwks);
  selo_bmp_signer_free(signer);
  selo_safra_bank_free(bank);
  selo_private_key_free(bank_key);
}

int main(void) {
  nulls();
  handles();
  enums_and_times();
  truncated();
  garbage();
  printf("c (malformed): %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
