#define _GNU_SOURCE
/* The C ABI over the shared vectors (tests/vectors, embedded by
 * gen_vectors.py) and whole Safra flows against the bank role.
 * Prints "c: N passed, N failed" and exits non-zero on any failure. */
#include "selo.h"
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;
static int case_failed;

#define FAIL(...)                                                        \
  do {                                                                   \
    fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);                 \
    fprintf(stderr, __VA_ARGS__);                                        \
    fprintf(stderr, " [last error: %s: %s]\n", str(selo_last_error_code()), \
            str(selo_last_error_message()));                             \
    case_failed = 1;                                                     \
  } while (0)
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) FAIL(__VA_ARGS__); \
  } while (0)
#define OK(call) CHECK((call) == SELO_OK, "%s", #call)

static const char *str(const char *s) { return s ? s : "(null)"; }

static void begin(void) { case_failed = 0; }
static void end(const char *name) {
  if (case_failed) {
    failed++;
    fprintf(stderr, "  ^ in case: %s\n", name);
  } else {
    passed++;
  }
}

static int code_is(const char *want) {
  const char *c = selo_last_error_code();
  return c && strcmp(c, want) == 0;
}

static int code_starts(const char *prefix) {
  const char *c = selo_last_error_code();
  return c && strncmp(c, prefix, strlen(prefix)) == 0;
}

static int bytes_eq(const uint8_t *p, size_t n, Bytes b) {
  return n == b.n && (n == 0 || memcmp(p, b.p, n) == 0);
}

static SeloPrivateKey *import_key(Bytes pem) {
  SeloPrivateKey *k = NULL;
  if (selo_private_key_import((const uint8_t *)pem.p, pem.n, &k) != SELO_OK) return NULL;
  return k;
}

/* ---------------------------------------------------------------- errors */
static void test_error_codes(void) {
  begin();
  size_t n = selo_error_code_count();
  CHECK(n > 50, "expected the core's code table, found %zu codes", n);
  char *joined = NULL;
  OK(selo_error_codes(&joined));
  /* The joined list and the indexed list agree, codes are dotted and unique. */
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    const char *c = selo_error_code_at(i);
    CHECK(c && strchr(c, '.'), "code %zu", i);
    if (!c || !joined) break;
    CHECK(strncmp(joined + pos, c, strlen(c)) == 0, "joined list differs at %s", c);
    pos += strlen(c) + 1;
    for (size_t j = 0; j < i; j++) CHECK(strcmp(c, selo_error_code_at(j)) != 0, "dup %s", c);
  }
  CHECK(selo_error_code_at(n) == NULL, "past the end");
  CHECK(selo_ffi_error_code_count() == 5, "ffi codes");
  /* Codes only the host layers raise (selo::HOST_CODES): dotted (but Python's
     released `internal`), never a core code. */
  size_t h = selo_host_error_code_count();
  CHECK(h >= 5, "host codes: %zu", h);
  for (size_t i = 0; i < h; i++) {
    const char *c = selo_host_error_code_at(i);
    CHECK(c && (strchr(c, '.') || strcmp(c, "internal") == 0), "host code %zu", i);
    for (size_t j = 0; c && j < n; j++) CHECK(strcmp(c, selo_error_code_at(j)) != 0, "host code %s is a core code", c);
  }
  CHECK(selo_host_error_code_at(h) == NULL, "host codes: past the end");
  CHECK(strcmp(str(selo_version()), SELO_VERSION_STRING) == 0, "version (library = header macros)");
  selo_string_free(joined);
  selo_string_free(joined); /* double free is harmless */
  end("error codes");
}

/* ----------------------------------------------------------------- safra */
static void test_stage1(void) {
  SeloPrivateKey *k = import_key(S1_CLIENT_PEM);
  for (size_t i = 0; i < COUNT(S1_CASES); i++) {
    begin();
    char *jwk = NULL;
    OK(selo_safra_stage1_jwk(k, S1_SESSION_ID, S1_CASES[i].format, &jwk));
    CHECK(jwk && strcmp(jwk, S1_CASES[i].jwk) == 0, "stage-1 jwk for %s", S1_CASES[i].format);
    CHECK(jwk && strncmp(jwk, S1_SIGNATURE_B64, strlen(S1_SIGNATURE_B64)) == 0, "signature prefix");
    selo_string_free(jwk);
    end(S1_CASES[i].format);
  }
  begin();
  char body[1024];
  snprintf(body, sizeof body, "{\"jwk\":\"%s\"}", S1_BANK_REPLY_JWK);
  SeloPublicKey *bank = NULL;
  OK(selo_safra_parse_stage1_reply((const uint8_t *)body, strlen(body), &bank));
  SeloBuffer der = {0};
  OK(selo_public_key_encode(bank, "der-spki", &der));
  CHECK(bytes_eq(der.data, der.len, S1_BANK_SPKI), "bank key from the stage-1 reply");
  selo_buffer_free(&der);
  selo_buffer_free(&der);
  selo_public_key_free(bank);
  end("stage-1 bank reply");
  selo_private_key_free(k);
}

static void stage2_case(SeloPrivateKey *client, SeloPublicKey *bank, const char *enc,
                        const char *sig, const char *padding, const char *message,
                        Bytes want_key, const char *name) {
  begin();
  char body[4096];
  snprintf(body, sizeof body, "{\"jwk\":\"%s.%s\"}", enc, sig);
  const char *paddings[] = {padding, "auto"};
  const char *messages[] = {message, "auto"};
  for (int j = 0; j < 2; j++) {
    SeloBuffer key = {0};
    char *winners = NULL;
    OK(selo_safra_parse_stage2_reply((const uint8_t *)body, strlen(body), client, bank,
                                     paddings[j], messages[j], &key, &winners));
    CHECK(bytes_eq(key.data, key.len, want_key), "AES key (%s/%s)", paddings[j], messages[j]);
    char want[128];
    snprintf(want, sizeof want, "\"padding\":\"%s\"", padding);
    CHECK(winners && strstr(winners, want), "winner %s in %s", padding, str(winners));
    selo_buffer_free(&key);
    selo_string_free(winners);
  }
  /* The wrong signature message must not verify. */
  const char *wrong = strcmp(message, "raw-key") == 0 ? "plaintext" : "raw-key";
  SeloBuffer key = {0};
  char *winners = NULL;
  CHECK(selo_safra_parse_stage2_reply((const uint8_t *)body, strlen(body), client, bank,
                                      padding, wrong, &key, &winners) == SELO_ERR_SAFRA,
        "wrong message accepted");
  CHECK(code_is("safra.handshake.bad_signature"), "code");
  CHECK(key.data == NULL && winners == NULL, "outputs written on failure");
  end(name);
}

static void test_stage2(void) {
  SeloPrivateKey *client = import_key(S2_CLIENT_PEM);
  SeloPublicKey *bank = NULL;
  selo_public_key_import((const uint8_t *)S2_BANK_SPKI.p, S2_BANK_SPKI.n, &bank);
  for (size_t i = 0; i < COUNT(S2_CASES); i++) {
    stage2_case(client, bank, S2_CASES[i].enc_jwk_b64, S2_SIG_RAW_KEY, S2_CASES[i].padding,
                "raw-key", S2_AES_KEY, S2_CASES[i].padding);
    stage2_case(client, bank, S2_CASES[i].enc_jwk_b64, S2_SIG_KEY_TEXT, S2_CASES[i].padding,
                "key-base64-text", S2_AES_KEY, S2_CASES[i].padding);
  }
  selo_public_key_free(bank);
  selo_private_key_free(client);

  /* Our own stage-2 replies (bank role, seeded). */
  SeloPrivateKey *own_client = import_key(OWN_CLIENT_PEM);
  SeloPrivateKey *own_bank = import_key(OWN_BANK_PEM);
  SeloPublicKey *own_bank_pub = NULL;
  selo_private_key_public(own_bank, &own_bank_pub);
  for (size_t i = 0; i < COUNT(OWN_S2); i++) {
    begin();
    SeloBuffer key = {0};
    char *winners = NULL;
    OK(selo_safra_parse_stage2_reply((const uint8_t *)OWN_S2[i].body.p, OWN_S2[i].body.n,
                                     own_client, own_bank_pub, OWN_S2[i].padding,
                                     OWN_S2[i].message, &key, &winners));
    CHECK(bytes_eq(key.data, key.len, OWN_S2[i].key), "own stage-2 key");
    selo_buffer_free(&key);
    selo_string_free(winners);
    end("own stage 2");
  }
  for (size_t i = 0; i < COUNT(OWN_S1); i++) {
    begin();
    char *jwk = NULL;
    OK(selo_safra_stage1_jwk(own_client, OWN_S1[i].sid, OWN_S1[i].format, &jwk));
    CHECK(jwk && strcmp(jwk, OWN_S1[i].jwk) == 0, "own stage-1 %s", OWN_S1[i].format);
    selo_string_free(jwk);
    end("own stage 1");
  }
  selo_public_key_free(own_bank_pub);
  selo_private_key_free(own_bank);
  selo_private_key_free(own_client);
}

static void envelope_cases(const EnvCase *cases, size_t n, int seal_from_text, const char *name) {
  for (size_t i = 0; i < n; i++) {
    const EnvCase *c = &cases[i];
    begin();
    char *env = NULL;
    OK(selo_safra_seal_with_iv((const uint8_t *)c->key.p, c->key.n, (const uint8_t *)c->iv.p,
                               c->iv.n, (const uint8_t *)c->plaintext.p, c->plaintext.n, &env));
    CHECK(env && strcmp(env, c->envelope) == 0, "sealed envelope %zu", i);
    selo_string_free(env);
    SeloBuffer pt = {0};
    OK(selo_safra_open((const uint8_t *)c->key.p, c->key.n, c->envelope, &pt));
    CHECK(bytes_eq(pt.data, pt.len, c->plaintext), "opened plaintext %zu", i);
    selo_buffer_free(&pt);
    (void)seal_from_text;
    end(name);
  }
}

static void test_envelopes(void) {
  envelope_cases(ENV_SEAL, COUNT(ENV_SEAL), 1, "envelope seal/open");
  envelope_cases(ENV_CARRY, COUNT(ENV_CARRY), 0, "envelope counter carry");
  envelope_cases(ENV_OWN, COUNT(ENV_OWN), 1, "own envelope");
  begin();
  /* A wrong key opens to garbage: not JSON is not checked by open, but a
     truncated envelope is malformed. */
  char trunc[64];
  snprintf(trunc, sizeof trunc, "%.40s", ENV_SEAL[0].envelope);
  SeloBuffer pt = {0};
  CHECK(selo_safra_open((const uint8_t *)ENV_SEAL[0].key.p, 32, trunc, &pt) == SELO_ERR_SAFRA,
        "truncated envelope");
  CHECK(code_starts("safra.envelope."), "envelope code");
  CHECK(selo_safra_open((const uint8_t *)ENV_SEAL[0].key.p, 31, ENV_SEAL[0].envelope, &pt) ==
            SELO_ERR_SAFRA && code_is("safra.envelope.bad_key"),
        "31-byte key");
  end("envelope errors");
}

static void test_token(void) {
  begin();
  char *json = NULL;
  OK(selo_safra_token_schedule(TOKEN, TOKEN_T0, "", &json));
  for (int i = 0; TOKEN_EXPECT[i]; i++)
    CHECK(json && strstr(json, TOKEN_EXPECT[i]), "%s in %s", TOKEN_EXPECT[i], str(json));
  selo_string_free(json);
  CHECK(selo_safra_token_schedule("not.a-token", TOKEN_T0, "", &json) == SELO_ERR_SAFRA &&
            code_starts("safra.token."),
        "bad token");
  end("token schedule");
}

/* Builds a response from the transcript. */
static SeloResponse *response_of(unsigned status, size_t nh, const Hdr *h, Bytes body) {
  SeloResponse *r = NULL;
  selo_response_new((uint16_t)status, &r);
  for (size_t i = 0; i < nh; i++) selo_response_add_header(r, h[i].name, h[i].value);
  selo_response_set_body(r, (const uint8_t *)body.p, body.n);
  return r;
}

static void test_transcript(void) {
  begin();
  SeloSafraSession *s = NULL;
  OK(selo_safra_session_new(TR_PROFILE, TR_BASE_URL, TR_CLIENTE, &s));
  SeloPrivateKey *k = import_key(OWN_CLIENT_PEM);
  OK(selo_safra_session_set_client_key(s, k));
  selo_private_key_free(k);
  uint8_t seed[32];
  memset(seed, (int)TR_SEED_BYTE, sizeof seed);
  OK(selo_safra_session_set_seed(s, seed, sizeof seed));
  size_t step = 0;
  for (size_t o = 0; o < COUNT(TR_OPS) && !case_failed; o++) {
    const char *payload = TR_OPS[o] == 3 ? TR_BOLETO : TR_OPS[o] == 4 ? TR_QUERY : "";
    for (;;) {
      if (step >= COUNT(TR_STEPS)) {
        FAIL("transcript ended early");
        break;
      }
      const TrStep *t = &TR_STEPS[step++];
      uint64_t id = 0;
      SeloRequest *req = NULL;
      if (selo_safra_session_prepare_next(s, TR_OPS[o], payload, TR_NOW, &id, &req) != SELO_OK) {
        FAIL("prepare_next step %zu", step);
        break;
      }
      CHECK(strcmp(selo_request_method(req), t->method) == 0, "method");
      CHECK(strcmp(selo_request_url(req), t->url) == 0, "url %s", selo_request_url(req));
      CHECK(selo_request_header_count(req) == t->nh, "header count");
      for (size_t i = 0; i < t->nh && i < selo_request_header_count(req); i++) {
        CHECK(strcmp(selo_request_header_name(req, i), t->h[i].name) == 0, "header name %zu", i);
        CHECK(strcmp(selo_request_header_value(req, i), t->h[i].value) == 0, "header %s",
              t->h[i].name);
      }
      CHECK(bytes_eq(selo_request_body(req), selo_request_body_len(req), t->body),
            "body of step %zu", step);
      selo_request_free(req);
      SeloResponse *resp = response_of(t->status, t->rnh, t->rh, t->rbody);
      uint32_t next = 99;
      SeloSafraReply *reply = NULL;
      OK(selo_safra_session_handle_response(s, id, resp, TR_NOW, &next, &reply));
      selo_response_free(resp);
      if (next == SELO_SAFRA_STEP_DONE) {
        CHECK(reply != NULL, "reply");
        selo_safra_reply_free(reply);
        break;
      }
      CHECK(reply == NULL && next == SELO_SAFRA_STEP_CONTINUE, "step %u", next);
      if (case_failed) break;
    }
  }
  CHECK(step == COUNT(TR_STEPS), "steps used %zu of %zu", step, COUNT(TR_STEPS));
  CHECK(selo_safra_session_state(s) == SELO_SAFRA_STATE_AUTHENTICATED, "state");
  /* The final key, through an export (the snapshot carries it). */
  SeloBuffer blob = {0};
  OK(selo_safra_session_export(s, &blob));
  SeloSafraSession *again = NULL;
  OK(selo_safra_session_import(blob.data, blob.len, &again));
  CHECK(selo_safra_session_state(again) == SELO_SAFRA_STATE_AUTHENTICATED, "imported state");
  selo_buffer_free(&blob);
  selo_safra_session_free(again);
  selo_safra_session_free(s);
  end("whole-flow transcript");
}

/* Runs one operation against the bank role in-process; returns the reply
   (caller frees) and counts the recoveries seen. */
static SeloSafraReply *run_op(SeloSafraSession *s, SeloSafraBank *bank, uint32_t op,
                              const char *payload, int64_t now, int *rehandshakes,
                              int *requests) {
  for (int guard = 0; guard < 20; guard++) {
    uint64_t id;
    SeloRequest *req = NULL;
    if (selo_safra_session_prepare_next(s, op, payload, now, &id, &req) != SELO_OK) {
      FAIL("prepare_next op %u", op);
      return NULL;
    }
    (*requests)++;
    SeloResponse *resp = NULL;
    OK(selo_safra_bank_handle(bank, req, now, &resp));
    selo_request_free(req);
    uint32_t step;
    SeloSafraReply *reply = NULL;
    SeloStatus st = selo_safra_session_handle_response(s, id, resp, now, &step, &reply);
    selo_response_free(resp);
    if (st != SELO_OK) {
      FAIL("handle_response op %u", op);
      return NULL;
    }
    if (step == SELO_SAFRA_STEP_DONE) return reply;
    if (step == SELO_SAFRA_STEP_REHANDSHAKE) (*rehandshakes)++;
  }
  FAIL("no reply after 20 requests");
  return NULL;
}

/* Failure paths: the host reports a lost reply; the session decides
   (psd050 is never resendable: a psd052 query reconciles it). */
static SeloRequest *prepare(SeloSafraSession *s, uint32_t op, const char *payload, int64_t now,
                            uint64_t *id) {
  SeloRequest *req = NULL;
  if (selo_safra_session_prepare_next(s, op, payload, now, id, &req) != SELO_OK) {
    FAIL("prepare_next op %u", op);
    return NULL;
  }
  return req;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = s ? strlen(s) : 0, b = strlen(suffix);
  return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_transport_errors(void) {
  begin();
  SeloPrivateKey *bank_key = import_key(OWN_BANK_PEM);
  SeloSafraBank *bank = NULL;
  OK(selo_safra_bank_new("", bank_key, 600, &bank));
  SeloSafraSession *s = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &s));
  SeloPrivateKey *client_key = import_key(OWN_CLIENT_PEM);
  OK(selo_safra_session_set_client_key(s, client_key));
  int re = 0, n = 0;
  int64_t now = 1800000000;
  SeloSafraReply *r = run_op(s, bank, SELO_SAFRA_OP_AUTHENTICATE, "", now, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_AUTHENTICATED, "authenticated");
  selo_safra_reply_free(r);

  /* psd050 stored by the bank, reply lost (reset): reconcile, found. */
  uint64_t id = 0;
  uint32_t step = 99;
  SeloSafraReply *reply = NULL;
  SeloRequest *req = prepare(s, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &id);
  CHECK(req && ends_with(selo_request_url(req), "/psd050"), "psd050");
  CHECK(req && selo_request_resendable(req) == 0, "psd050 is not resendable");
  SeloResponse *resp = NULL;
  OK(selo_safra_bank_handle(bank, req, now, &resp));
  CHECK(resp && selo_response_status(resp) == 200, "stored");
  selo_response_free(resp);
  selo_request_free(req);
  OK(selo_safra_session_handle_transport_error(s, id, SELO_TRANSPORT_FAILURE_RESET, now, &step,
                                               &reply));
  CHECK(step == SELO_SAFRA_STEP_RECONCILE && reply == NULL, "reconcile after reset: step %u", step);
  req = prepare(s, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &id);
  CHECK(req && ends_with(selo_request_url(req), "/psd052"), "reconciling query: %s",
        req ? selo_request_url(req) : "(none)");
  CHECK(req && selo_request_resendable(req) == 1, "psd052 is resendable");
  resp = NULL;
  OK(selo_safra_bank_handle(bank, req, now, &resp));
  selo_request_free(req);
  OK(selo_safra_session_handle_response(s, id, resp, now, &step, &reply));
  selo_response_free(resp);
  CHECK(step == SELO_SAFRA_STEP_DONE && reply &&
            selo_safra_reply_kind(reply) == SELO_SAFRA_REPLY_KIND_BOLETO_REGISTERED,
        "registered by reconciliation: step %u", step);
  const char *rec = reply ? selo_safra_reply_field(reply, "reconciled") : NULL;
  CHECK(rec && strcmp(rec, "true") == 0, "reconciled %s", str(rec));
  selo_safra_reply_free(reply);
  reply = NULL;

  /* psd050 timed out, then the reconciling query too: outcome unknown. */
  req = prepare(s, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &id);
  selo_request_free(req);
  OK(selo_safra_session_handle_transport_error(s, id, SELO_TRANSPORT_FAILURE_TIMEOUT, now, &step,
                                               &reply));
  CHECK(step == SELO_SAFRA_STEP_RECONCILE, "reconcile after timeout: step %u", step);
  req = prepare(s, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &id);
  selo_request_free(req);
  step = 99;
  CHECK(selo_safra_session_handle_transport_error(s, id, SELO_TRANSPORT_FAILURE_TIMEOUT, now,
                                                  &step, &reply) == SELO_ERR_SAFRA &&
            code_is("safra.boleto.outcome_unknown") &&
            strstr(str(selo_last_error_message()), "123456789") != NULL,
        "outcome unknown naming the boleto");
  CHECK(step == 99 && reply == NULL, "outputs written on failure");

  /* Not a SeloTransportFailure; an unknown id. */
  req = prepare(s, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now, &id);
  selo_request_free(req);
  CHECK(selo_safra_session_handle_transport_error(s, id, 7, now, &step, &reply) ==
                SELO_ERR_INVALID_ARGUMENT &&
            code_is("ffi.invalid_argument"),
        "failure 7");
  CHECK(selo_safra_session_handle_transport_error(s, 424242, SELO_TRANSPORT_FAILURE_CONNECT, now,
                                                  &step, &reply) == SELO_ERR_SAFRA &&
            code_is("safra.session.unknown_request"),
        "unknown request id");

  /* Never wedged: the next operation runs clean. */
  n = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BOLETO_QUERIED, "clean query after");
  selo_safra_reply_free(r);
  selo_safra_session_free(s);
  selo_safra_bank_free(bank);
  selo_private_key_free(client_key);
  selo_private_key_free(bank_key);
  end("transport errors: reconcile, outcome unknown");
}

/* A finished operation reaches the host as a reply, whatever its texts
   hold: every text of this psd050 reply carries a NUL (JSON \u0000) and
   non-ASCII letters. The operation completes once, and each field is read
   whole through its length. */
static void test_nul_in_reply_texts(void) {
  begin();
  SeloPrivateKey *bank_key = import_key(OWN_BANK_PEM);
  SeloSafraBank *bank = NULL;
  OK(selo_safra_bank_new("", bank_key, 600, &bank));
  SeloSafraSession *s = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &s));
  SeloPrivateKey *client_key = import_key(OWN_CLIENT_PEM);
  OK(selo_safra_session_set_client_key(s, client_key));
  int re = 0, n = 0;
  int64_t now = 1800000000;
  SeloSafraReply *r = run_op(s, bank, SELO_SAFRA_OP_AUTHENTICATE, "", now, &re, &n);
  selo_safra_reply_free(r);
  char *sid = NULL;
  OK(selo_safra_session_id(s, &sid));
  SeloBuffer key = {0};
  OK(selo_safra_bank_session_key(bank, sid, &key));
  CHECK(key.len == 32, "bank session key: %zu bytes", key.len);
  uint64_t id = 0;
  SeloRequest *req = prepare(s, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &id);
  selo_request_free(req);
  const char *json =
      "{\"statusProcessamento\":{\"codigo\":0,\"mensagem\":\"ok\\u0000 a\xc3\xa7\xc3\xa3o\"},"
      "\"documento\":{\"nossoNumero\":\"123\\u0000\xc3\xa7\",\"seuNumero\":\"S\\u0000\xc3\xba\","
      "\"codigoBarras\":\"1\\u0000\xc3\xa9\"}}";
  char *env = NULL;
  OK(selo_safra_seal_with_iv(key.data, key.len, (const uint8_t *)"ZZZZZZZZZZZZZZZZ", 16,
                             (const uint8_t *)json, strlen(json), &env));
  char body[4096];
  snprintf(body, sizeof body, "{\"data\":\"%s\"}", str(env));
  Hdr h[] = {{"content-type", "application/json"}};
  SeloResponse *resp = response_of(200, 1, h, (Bytes){body, strlen(body)});
  uint32_t step = 99;
  SeloSafraReply *reply = NULL;
  OK(selo_safra_session_handle_response(s, id, resp, now, &step, &reply));
  selo_response_free(resp);
  CHECK(step == SELO_SAFRA_STEP_DONE && reply &&
            selo_safra_reply_kind(reply) == SELO_SAFRA_REPLY_KIND_BOLETO_REGISTERED,
        "the registration completes: step %u", step);
  static const struct {
    const char *name;
    const char *bytes;
    size_t len;
  } want[] = {
      {"mensagem", "ok\0 a\xc3\xa7\xc3\xa3o", 10},
      {"nosso_numero", "123\0\xc3\xa7", 6},
      {"seu_numero", "S\0\xc3\xba", 4},
      {"codigo_barras", "1\0\xc3\xa9", 4},
  };
  for (size_t i = 0; reply && i < sizeof want / sizeof want[0]; i++) {
    size_t len = selo_safra_reply_field_len(reply, want[i].name);
    const char *v = selo_safra_reply_field(reply, want[i].name);
    CHECK(len == want[i].len && v && memcmp(v, want[i].bytes, len) == 0 && v[len] == '\0',
          "%s: %zu bytes", want[i].name, len);
  }
  CHECK(reply && selo_safra_reply_field_len(reply, "no_such_field") == SIZE_MAX, "absent field");
  const char *rj = reply ? selo_safra_reply_json(reply) : NULL;
  CHECK(rj && strlen(rj) == selo_safra_reply_json_len(reply) && strstr(rj, "\\u0000"),
        "the JSON escapes the NUL: %s", str(rj));
  /* Done once: the id is finished. */
  resp = response_of(200, 1, h, (Bytes){body, strlen(body)});
  SeloSafraReply *again = NULL;
  CHECK(selo_safra_session_handle_response(s, id, resp, now, &step, &again) == SELO_ERR_SAFRA &&
            code_is("safra.session.unknown_request"),
        "the same reply again is an unknown request");
  selo_response_free(resp);
  selo_safra_reply_free(reply);
  selo_string_free(env);
  selo_buffer_free(&key);
  selo_string_free(sid);
  selo_safra_session_free(s);
  selo_safra_bank_free(bank);
  selo_private_key_free(client_key);
  selo_private_key_free(bank_key);
  end("a reply with NUL and non-ASCII in every text completes once");
}

static void test_flow_against_bank(void) {
  begin();
  SeloPrivateKey *bank_key = import_key(OWN_BANK_PEM);
  SeloSafraBank *bank = NULL;
  OK(selo_safra_bank_new("", bank_key, 600, &bank));
  SeloSafraSession *s = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &s));
  SeloPrivateKey *client_key = import_key(OWN_CLIENT_PEM); /* skip 1024-bit keygen */
  OK(selo_safra_session_set_client_key(s, client_key));
  int re = 0, n = 0;
  int64_t now = 1800000000;
  SeloSafraReply *r = run_op(s, bank, SELO_SAFRA_OP_AUTHENTICATE, "", now, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_AUTHENTICATED, "authenticated");
  CHECK(n == 3, "handshake (2) + psd005: %d requests", n);
  const char *renew_at = selo_safra_reply_field(r, "renew_at");
  CHECK(renew_at && atoll(renew_at) == now + 600 - 60, "renew_at %s", str(renew_at));
  CHECK(selo_safra_reply_field(r, "no_such_field") == NULL, "unknown field");
  selo_safra_reply_free(r);

  /* Register a boleto. */
  n = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_REGISTER_BOLETO, TR_BOLETO, now, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BOLETO_REGISTERED, "registered");
  const char *barcode = r ? selo_safra_reply_field(r, "codigo_barras") : NULL;
  CHECK(barcode && strlen(barcode) == 44, "barcode %s", str(barcode));
  CHECK(n == 1, "one request");
  selo_safra_reply_free(r);

  /* Renewal when due: psd007 first, then the query. */
  n = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now + 545, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BOLETO_QUERIED, "queried");
  CHECK(n == 2, "renew + query: %d", n);
  selo_safra_reply_free(r);

  /* Key expiry: 500 + amc-criptografia: erro -> re-handshake, re-auth, retry. */
  OK(selo_safra_bank_inject(bank, SELO_SAFRA_FAULT_EXPIRE_KEY));
  n = 0;
  re = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now + 600, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BOLETO_QUERIED, "after expiry");
  CHECK(re == 1 && n == 5, "expired + stage1 + stage2 + psd005 + query: re %d n %d", re, n);
  selo_safra_reply_free(r);

  /* 480: re-init by default. */
  OK(selo_safra_bank_inject(bank, SELO_SAFRA_FAULT_ANSWER480));
  n = 0;
  re = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now + 610, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BOLETO_QUERIED, "after 480");
  CHECK(re == 1 && n == 5, "480 + stage1 + stage2 + psd005 + query: re %d n %d", re, n);
  selo_safra_reply_free(r);

  /* 550: a business error is a reply. */
  OK(selo_safra_bank_inject(bank, SELO_SAFRA_FAULT_ANSWER550));
  n = 0;
  r = run_op(s, bank, SELO_SAFRA_OP_QUERY_BOLETO, TR_QUERY, now + 620, &re, &n);
  CHECK(r && selo_safra_reply_kind(r) == SELO_SAFRA_REPLY_KIND_BUSINESS_ERROR, "550");
  selo_safra_reply_free(r);

  /* A boleto that breaks a rule never leaves the session. */
  uint64_t id;
  SeloRequest *req = NULL;
  CHECK(selo_safra_session_prepare_next(s, SELO_SAFRA_OP_REGISTER_BOLETO, "{\"agencia\":1}", now,
                                        &id, &req) == SELO_ERR_SAFRA &&
            code_is("safra.boleto.missing_field") && req == NULL,
        "invalid boleto");
  /* A response to an unknown request id. */
  SeloResponse *resp = NULL;
  selo_response_new(200, &resp);
  uint32_t step;
  SeloSafraReply *reply = NULL;
  CHECK(selo_safra_session_handle_response(s, 424242, resp, now, &step, &reply) ==
                SELO_ERR_SAFRA &&
            code_is("safra.session.unknown_request"),
        "unknown request id");
  selo_response_free(resp);
  selo_safra_session_free(s);
  selo_safra_bank_free(bank);
  selo_private_key_free(bank_key);
  selo_private_key_free(client_key);
  end("flow against the bank role");
}

/* ------------------------------------------------------------------- bmp */
/* TR_BOLETO with nossoNumero 12345678<digit> (caller frees). */
static char *boleto_numbered(char digit) {
  char *b = malloc(strlen(TR_BOLETO) + 1);
  if (!b) return NULL;
  strcpy(b, TR_BOLETO);
  char *at = strstr(b, "123456789");
  if (at) at[8] = digit;
  return b;
}

/* SPEC §5: many operations on one session, all in flight each round:
   one handshake and one psd005 between them, each boleto once. */
static void test_concurrent_operations(void) {
  begin();
  SeloPrivateKey *bank_key = import_key(OWN_BANK_PEM);
  SeloSafraBank *bank = NULL;
  OK(selo_safra_bank_new("", bank_key, 600, &bank));
  SeloSafraSession *s = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &s));
  SeloPrivateKey *client_key = import_key(OWN_CLIENT_PEM);
  OK(selo_safra_session_set_client_key(s, client_key));
  enum { N = 4 };
  char *boletos[N];
  uint64_t ops[N];
  int finished[N] = {0};
  for (int i = 0; i < N; i++) {
    boletos[i] = boleto_numbered((char)('1' + i));
    OK(selo_safra_session_begin(s, SELO_SAFRA_OP_REGISTER_BOLETO, boletos[i], &ops[i]));
  }
  CHECK(selo_safra_session_in_flight(s) == (size_t)N, "in flight %zu", selo_safra_session_in_flight(s));
  uint64_t dup = 0;
  CHECK(selo_safra_session_begin(s, SELO_SAFRA_OP_REGISTER_BOLETO, boletos[0], &dup) != SELO_OK,
        "the same boleto twice");
  CHECK(strcmp(str(selo_last_error_code()), "safra.boleto.in_flight") == 0, "code %s",
        str(selo_last_error_code()));
  int64_t now = 1800000000;
  int done = 0, waits = 0, psd001 = 0, psd005 = 0, psd050 = 0;
  for (int round = 0; round < 20 && done < N; round++) {
    SeloRequest *reqs[N] = {0};
    uint64_t ids[N] = {0};
    for (int i = 0; i < N; i++) {
      if (finished[i]) continue;
      bool wait = false;
      OK(selo_safra_session_next(s, ops[i], now, &wait, &ids[i], &reqs[i]));
      if (wait) {
        waits++;
        CHECK(reqs[i] == NULL && ids[i] == 0, "a wait sends nothing");
      }
    }
    for (int i = 0; i < N; i++) {
      if (!reqs[i]) continue;
      const char *url = selo_request_url(reqs[i]);
      psd001 += ends_with(url, "/psd001");
      psd005 += ends_with(url, "/psd005");
      psd050 += ends_with(url, "/psd050");
      SeloResponse *resp = NULL;
      OK(selo_safra_bank_handle(bank, reqs[i], now, &resp));
      selo_request_free(reqs[i]);
      uint32_t step = 0;
      SeloSafraReply *reply = NULL;
      OK(selo_safra_session_handle_response(s, ids[i], resp, now, &step, &reply));
      selo_response_free(resp);
      if (step == SELO_SAFRA_STEP_DONE) {
        CHECK(reply && selo_safra_reply_kind(reply) == SELO_SAFRA_REPLY_KIND_BOLETO_REGISTERED,
              "op %d registered", i);
        finished[i] = 1;
        done++;
      }
      selo_safra_reply_free(reply);
    }
  }
  CHECK(done == N, "done %d of %d", done, N);
  CHECK(psd001 == 2 && psd005 == 1 && psd050 == N, "psd001 %d psd005 %d psd050 %d", psd001,
        psd005, psd050);
  CHECK(waits >= N - 1, "the others waited for the handshake: %d", waits);
  CHECK(selo_safra_session_in_flight(s) == 0, "none left");
  CHECK(!selo_safra_session_transition_in_flight(s), "no transition left");
  CHECK(selo_safra_session_generation(s) >= 2, "key and token: generation %llu",
        (unsigned long long)selo_safra_session_generation(s));
  bool ended = true;
  OK(selo_safra_session_cancel(s, ops[0], &ended));
  CHECK(!ended, "an ended operation cannot be cancelled");
  OK(selo_safra_session_set_max_in_flight(s, 1));
  uint64_t one = 0, two = 0;
  OK(selo_safra_session_begin(s, SELO_SAFRA_OP_HANDSHAKE, "", &one));
  CHECK(selo_safra_session_begin(s, SELO_SAFRA_OP_AUTHENTICATE, "", &two) != SELO_OK, "busy");
  CHECK(strcmp(str(selo_last_error_code()), "safra.session.busy") == 0, "code %s",
        str(selo_last_error_code()));
  for (int i = 0; i < N; i++) free(boletos[i]);
  selo_safra_session_free(s);
  selo_safra_bank_free(bank);
  selo_private_key_free(client_key);
  selo_private_key_free(bank_key);
  end("concurrent operations");
}

/* Runs `op_id` on a shared session against the bank role, taking the
   lease when the session asks for it (no other instance here). */
static int run_shared(SeloSafraSession *s, SeloSafraShare *sh, SeloSafraBank *bank, uint64_t op,
                      int64_t now) {
  for (int guard = 0; guard < 12; guard++) {
    bool wait = false;
    uint64_t id = 0;
    SeloRequest *req = NULL;
    OK(selo_safra_session_next(s, op, now, &wait, &id, &req));
    if (wait) {
      CHECK(selo_safra_session_wants_lease(s), "a shared session waits for the lease");
      SeloScriptCall *c = NULL;
      OK(selo_safra_share_acquire(sh, &c));
      selo_script_call_free(c);
      bool held = false;
      uint64_t retry = 0;
      OK(selo_safra_share_on_acquire(sh, 1, &held, &retry)); /* the store granted fence 1 */
      uint32_t outcome = 99;
      OK(selo_safra_share_on_record(sh, s, NULL, 0, &outcome));
      CHECK(outcome == SELO_RECORD_OUTCOME_EMPTY, "no record yet: %u", outcome);
      OK(selo_safra_share_grant(sh, s));
      continue;
    }
    SeloResponse *resp = NULL;
    OK(selo_safra_bank_handle(bank, req, now, &resp));
    selo_request_free(req);
    uint32_t step = 0;
    SeloSafraReply *reply = NULL;
    OK(selo_safra_session_handle_response(s, id, resp, now, &step, &reply));
    selo_response_free(resp);
    selo_safra_reply_free(reply);
    if (step == SELO_SAFRA_STEP_DONE) return 1;
  }
  return 0;
}

/* SPEC §5 through the C ABI: the share's script calls, the sealed record
   one instance publishes and another adopts. */
static void test_safra_share(void) {
  begin();
  uint8_t seal[32];
  memset(seal, 7, sizeof seal);
  SeloSafraShare *bad = NULL;
  CHECK(selo_safra_share_new("acme", seal, 31, &bad) != SELO_OK && code_is("safra.shared.seal_key"),
        "a 31-byte seal key");
  CHECK(selo_safra_share_new("a{b}", seal, 32, &bad) != SELO_OK && code_is("safra.shared.name"),
        "a name with a brace");
  SeloSafraShare *sh = NULL;
  OK(selo_safra_share_new("acme", seal, 32, &sh));
  char *rk = NULL;
  OK(selo_safra_share_record_key(sh, &rk));
  CHECK(rk && strcmp(rk, "selo:{safra:acme}:record") == 0, "record key %s", str(rk));
  selo_string_free(rk);
  SeloScriptCall *c = NULL;
  OK(selo_safra_share_acquire(sh, &c));
  CHECK(strcmp(str(selo_script_call_name(c)), "LEASE_ACQUIRE") == 0, "acquire's script");
  CHECK(selo_script_call_key_count(c) == 2 && selo_script_call_arg_count(c) == 2, "acquire's arity");
  CHECK(strcmp(str(selo_script_call_key_at(c, 0)), "selo:{safra:acme}:lease") == 0, "lease key");
  CHECK(strcmp(str(selo_script_call_key_at(c, 1)), "selo:{safra:acme}:fence") == 0, "fence key");
  CHECK(selo_script_call_key_at(c, 2) == NULL, "no third key");
  CHECK(strcmp(str(selo_script_call_arg_at(c, 1)), "30000") == 0, "default TTL");
  CHECK(strlen(str(selo_script_call_sha1(c))) == 40, "sha1");
  CHECK(strstr(str(selo_script_call_script(c)), "INCR") != NULL, "the Lua source");
  selo_script_call_free(c);
  bool held = true;
  uint64_t retry = 0;
  OK(selo_safra_share_on_acquire(sh, -1500, &held, &retry));
  CHECK(!held && retry == 1500, "busy for 1500 ms: %d %llu", held, (unsigned long long)retry);
  CHECK(selo_safra_share_stat(sh, SELO_SHARE_STAT_LEASE_WAITS) == 1, "a lease wait counted");

  /* Instance A authenticates under the lease and publishes. */
  SeloPrivateKey *bank_key = import_key(OWN_BANK_PEM);
  SeloSafraBank *bank = NULL;
  OK(selo_safra_bank_new("", bank_key, 600, &bank));
  SeloSafraSession *a = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &a));
  SeloPrivateKey *client_key = import_key(OWN_CLIENT_PEM);
  OK(selo_safra_session_set_client_key(a, client_key));
  OK(selo_safra_session_set_shared(a, true));
  uint64_t op = 0;
  OK(selo_safra_session_begin(a, SELO_SAFRA_OP_AUTHENTICATE, "", &op));
  int64_t now = 1800000000;
  CHECK(run_shared(a, sh, bank, op, now), "authenticated under the lease");
  CHECK(selo_safra_share_ready_to_publish(sh, a), "ready to publish");
  OK(selo_safra_share_publish(sh, a, &c));
  CHECK(strcmp(str(selo_script_call_name(c)), "PUBLISH_IF_GENERATION") == 0, "publish's script");
  CHECK(selo_script_call_key_count(c) == 3 && selo_script_call_arg_count(c) == 5, "publish arity");
  CHECK(strcmp(str(selo_script_call_arg_at(c, 2)), "0") == 0, "replaces no record");
  const char *record = selo_script_call_arg_at(c, 3);
  CHECK(record && strncmp(record, "selo1.1.", 8) == 0, "sealed at generation 1: %.12s", str(record));
  char *record_copy = record ? strdup(record) : NULL;
  selo_script_call_free(c);
  uint32_t result = 99;
  OK(selo_safra_share_on_publish(sh, a, 1, &result));
  CHECK(result == SELO_PUBLISH_RESULT_PUBLISHED, "published: %u", result);
  CHECK(selo_safra_share_stat(sh, SELO_SHARE_STAT_HANDSHAKES) == 1, "one handshake counted");
  CHECK(selo_safra_share_adopted_generation(sh) == 1, "generation 1");
  OK(selo_safra_share_release(sh, a, &c));
  CHECK(c && strcmp(str(selo_script_call_name(c)), "RELEASE_IF_OWNER") == 0, "release's script");
  selo_script_call_free(c);
  bool released = false;
  OK(selo_safra_share_on_release(sh, 1, &released));
  CHECK(released && !selo_safra_share_holds_lease(sh), "released");

  /* Instance B adopts the record: same session, authenticated. */
  SeloSafraShare *sh2 = NULL;
  OK(selo_safra_share_new("acme", seal, 32, &sh2));
  SeloSafraSession *b = NULL;
  OK(selo_safra_session_new("", "http://127.0.0.1:1/psd", "CLIENTE01", &b));
  uint32_t outcome = 99;
  if (record_copy) {
    OK(selo_safra_share_on_record(sh2, b, (const uint8_t *)record_copy, strlen(record_copy),
                                  &outcome));
  }
  CHECK(outcome == SELO_RECORD_OUTCOME_ADOPTED, "adopted: %u", outcome);
  CHECK(selo_safra_session_state(b) == SELO_SAFRA_STATE_AUTHENTICATED, "B is authenticated");
  char *ida = NULL, *idb = NULL;
  OK(selo_safra_session_id(a, &ida));
  OK(selo_safra_session_id(b, &idb));
  CHECK(ida && idb && strcmp(ida, idb) == 0, "one session id");
  selo_string_free(ida);
  selo_string_free(idb);
  /* Another seal key refuses the record. */
  memset(seal, 8, sizeof seal);
  SeloSafraShare *other = NULL;
  OK(selo_safra_share_new("acme", seal, 32, &other));
  if (record_copy) {
    CHECK(selo_safra_share_on_record(other, b, (const uint8_t *)record_copy, strlen(record_copy),
                                     &outcome) != SELO_OK &&
              code_is("safra.shared.record_rejected"),
          "another seal key");
  }
  free(record_copy);
  selo_safra_share_free(other);
  selo_safra_share_free(sh2);
  selo_safra_share_free(sh);
  selo_safra_session_free(b);
  selo_safra_session_free(a);
  selo_safra_bank_free(bank);
  selo_private_key_free(client_key);
  selo_private_key_free(bank_key);
  end("shared session (share, record, scripts)");
}

static void test_bmp_hmac(void) {
  SeloBmpSigner *s = NULL;
  OK(selo_bmp_signer_new(HMAC_KEY, "", &s));
  SeloBmpSigner *s64 = NULL;
  OK(selo_bmp_signer_new(HMAC_KEY, "{\"mac_encoding\":\"base64\"}", &s64));
  for (size_t i = 0; i < COUNT(HMAC_CASES); i++) {
    const HmacCase *c = &HMAC_CASES[i];
    begin();
    char *mac = NULL;
    OK(selo_bmp_signer_hmac(s, (const uint8_t *)c->body.p, c->body.n, &mac));
    CHECK(mac && strcmp(mac, c->hex) == 0, "hex hmac %zu", i);
    selo_string_free(mac);
    OK(selo_bmp_signer_hmac(s64, (const uint8_t *)c->body.p, c->body.n, &mac));
    CHECK(mac && strcmp(mac, c->b64) == 0, "base64 hmac %zu", i);
    selo_string_free(mac);
    OK(selo_bmp_signer_verify(s, (const uint8_t *)c->body.p, c->body.n, c->hex));
    OK(selo_bmp_signer_verify(s64, (const uint8_t *)c->body.p, c->body.n, c->b64));
    CHECK(selo_bmp_signer_verify(s, (const uint8_t *)c->body.p, c->body.n - 1, c->hex) ==
                  SELO_ERR_BMP &&
              code_is("bmp.mac.mismatch"),
          "a changed body must not verify");
    end("bmp hmac");
  }
  selo_bmp_signer_free(s);
  selo_bmp_signer_free(s64);
  for (size_t i = 0; i < COUNT(RFC4231); i++) {
    begin();
    char key[64] = {0};
    memcpy(key, RFC4231[i].key.p, RFC4231[i].key.n);
    SeloBmpSigner *r = NULL;
    OK(selo_bmp_signer_new(key, "{\"relaxed_key\":true}", &r));
    char *mac = NULL;
    OK(selo_bmp_signer_hmac(r, (const uint8_t *)RFC4231[i].data.p, RFC4231[i].data.n, &mac));
    CHECK(mac && strcmp(mac, RFC4231[i].hex) == 0, "RFC 4231 case %zu", i);
    selo_string_free(mac);
    selo_bmp_signer_free(r);
    end("rfc 4231");
  }
  begin();
  CHECK(selo_bmp_signer_new("short", "", &s) == SELO_ERR_BMP && code_is("bmp.key.invalid"),
        "short key");
  char *key = NULL;
  OK(selo_bmp_generate_key(&key));
  CHECK(key && strlen(key) == 128, "generated key");
  OK(selo_bmp_signer_new(key, "", &s));
  selo_bmp_signer_free(s);
  selo_string_free(key);
  end("bmp keys");
}

static void test_bmp_money(void) {
  for (size_t i = 0; i < COUNT(MONEY); i++) {
    const MoneyCase *c = &MONEY[i];
    begin();
    char *json = NULL;
    SeloStatus st = c->has_cents ? selo_bmp_money_from_cents(c->cents, &json)
                                 : selo_bmp_money_parse(c->decimal, &json);
    if (c->error) {
      CHECK(st == SELO_ERR_BMP && code_is(c->error), "%s must fail with %s", str(c->decimal),
            c->error);
      CHECK(json == NULL, "output on failure");
    } else {
      CHECK(st == SELO_OK && json && strcmp(json, c->json) == 0, "money %s", str(json));
    }
    selo_string_free(json);
    end("bmp money");
  }
  begin();
  int64_t cents = 0;
  OK(selo_bmp_money_cents("1345.8", &cents));
  CHECK(cents == 134580, "cents");
  CHECK(selo_bmp_decimal_eq("100.0", "100.00") && !selo_bmp_decimal_eq("100.01", "100.0"),
        "decimal equality");
  end("bmp cents");
}

static void test_bmp_canonical(void) {
  SeloBmpSigner *s = NULL;
  OK(selo_bmp_signer_new(CANON_KEY, CANON_PROFILE, &s));
  for (size_t i = 0; i < COUNT(CANON); i++) {
    const CanonCase *c = &CANON[i];
    begin();
    SeloBuffer body = {0};
    SeloStatus st = selo_bmp_canonical((const uint8_t *)c->input.p, c->input.n, CANON_PROFILE, &body);
    if (c->error) {
      CHECK(st == SELO_ERR_BMP && code_is(c->error), "canonical %zu must fail with %s", i,
            c->error);
    } else {
      CHECK(st == SELO_OK && body.len == strlen(c->body) && memcmp(body.data, c->body, body.len) == 0,
            "canonical body %zu", i);
      char *mac = NULL;
      OK(selo_bmp_signer_hmac(s, body.data, body.len, &mac));
      CHECK(mac && strcmp(mac, c->hex) == 0, "canonical hmac %zu", i);
      selo_string_free(mac);
    }
    selo_buffer_free(&body);
    end("bmp canonical");
  }
  selo_bmp_signer_free(s);

  const char *profiles[] = {"", "{\"mac_encoding\":\"uppercase-hex\"}", "{\"mac_encoding\":\"base64\"}"};
  for (size_t i = 0; i < COUNT(SIGS); i++) {
    const SigCase *c = &SIGS[i];
    begin();
    const char *want[] = {c->hex, c->upper, c->b64};
    for (int p = 0; p < 3; p++) {
      SeloBmpSigner *sp = NULL;
      OK(selo_bmp_signer_new(SIG_KEY, profiles[p], &sp));
      SeloRequest *req = NULL;
      char url[256];
      snprintf(url, sizeof url, "https://bmp.example%s", c->endpoint);
      OK(selo_bmp_signer_sign_bytes(sp, url, (const uint8_t *)c->body.p, c->body.n, c->ikey, &req));
      int found = 0;
      for (size_t h = 0; h < selo_request_header_count(req); h++) {
        if (strcmp(selo_request_header_name(req, h), "hmac") == 0) {
          found = 1;
          CHECK(strcmp(selo_request_header_value(req, h), want[p]) == 0, "hmac (profile %d)", p);
        }
        if (strcmp(selo_request_header_name(req, h), "IdempotencyKey") == 0)
          CHECK(strcmp(selo_request_header_value(req, h), c->ikey) == 0, "idempotency key");
      }
      CHECK(found, "hmac header");
      CHECK(bytes_eq(selo_request_body(req), selo_request_body_len(req), c->body), "body");
      CHECK(strcmp(selo_request_url(req), url) == 0, "url");
      /* Signing the JSON text again yields the same bytes (canonical already). */
      SeloRequest *again = NULL;
      OK(selo_bmp_signer_sign_json(sp, url, (const uint8_t *)c->body.p, c->body.n, &again));
      CHECK(bytes_eq(selo_request_body(again), selo_request_body_len(again), c->body), "sign_json");
      selo_request_free(again);
      selo_request_free(req);
      selo_bmp_signer_free(sp);
    }
    end("bmp signatures");
  }
}

static void lookup(void *user, const char *key, SeloBmpOriginal *original) {
  const ConfirmCase *c = (const ConfirmCase *)user;
  if (c->original.p && strcmp(key, c->ikey) == 0)
    selo_bmp_original_set(original, (const uint8_t *)c->original.p, c->original.n);
}

static void test_bmp_confirm(void) {
  for (size_t i = 0; i < COUNT(CONFIRM); i++) {
    const ConfirmCase *c = &CONFIRM[i];
    begin();
    SeloBmpSigner *s = NULL;
    OK(selo_bmp_signer_new(c->key, "", &s));
    SeloRequest *req = NULL;
    OK(selo_request_new("POST", "https://partner.example/confirm", &req));
    OK(selo_request_add_header(req, "Content-Type", "application/json"));
    OK(selo_request_add_header(req, "IdempotencyKey", c->ikey));
    OK(selo_request_set_body(req, (const uint8_t *)c->received.p, c->received.n));
    SeloResponse *resp = NULL;
    char *diff = NULL;
    OK(selo_bmp_confirm(s, req, lookup, (void *)c, &resp, &diff));
    CHECK(selo_response_status(resp) == c->status, "status %u, want %u", selo_response_status(resp),
          c->status);
    if (c->hmac) {
      CHECK(selo_response_header_count(resp) == 1 &&
                strcmp(selo_response_header_name(resp, 0), "hmac") == 0 &&
                strcmp(selo_response_header_value(resp, 0), c->hmac) == 0,
            "confirmation hmac");
    }
    if (c->difference) CHECK(diff && strcmp(diff, c->difference) == 0, "difference %s", str(diff));
    else CHECK(diff == NULL, "no difference");
    if (c->code) {
      const char *body = (const char *)selo_response_body(resp);
      size_t n = selo_response_body_len(resp);
      CHECK(body && memmem(body, n, c->code, strlen(c->code)), "code %s in body", c->code);
    }
    selo_string_free(diff);
    selo_response_free(resp);
    selo_request_free(req);
    selo_bmp_signer_free(s);
    end("bmp confirm");
  }
}

/* -------------------------------------------------------------------- br */
static void doc_cases(const DocCase *cases, size_t n, SeloStatus (*validate)(const char *),
                      const char *code, const char *name) {
  for (size_t i = 0; i < n; i++) {
    begin();
    SeloStatus st = validate(cases[i].value);
    if (cases[i].valid) CHECK(st == SELO_OK, "%s %s must be valid", name, cases[i].value);
    else CHECK(st == SELO_ERR_BR && code_is(code), "%s %s must be invalid", name, cases[i].value);
    if (cases[i].formatted) {
      char *f = NULL;
      OK(selo_br_format_cnpj(cases[i].value, &f));
      CHECK(f && strcmp(f, cases[i].formatted) == 0, "formatted %s", str(f));
      selo_string_free(f);
    }
    end(name);
  }
}

static void test_br(void) {
  doc_cases(BR_CPF, COUNT(BR_CPF), selo_br_validate_cpf, "br.cpf.invalid", "cpf");
  doc_cases(BR_CNPJ, COUNT(BR_CNPJ), selo_br_validate_cnpj, "br.cnpj.invalid", "cnpj");
  doc_cases(BR_CNPJ_ALPHANUMERIC, COUNT(BR_CNPJ_ALPHANUMERIC), selo_br_validate_cnpj,
            "br.cnpj.invalid", "cnpj alphanumeric");
  for (size_t i = 0; i < COUNT(BR_BOLETO); i++) {
    const BoletoCase *c = &BR_BOLETO[i];
    begin();
    char *barcode = NULL;
    SeloStatus st = selo_br_linha_to_barcode(c->linha, &barcode);
    if (c->valid) {
      CHECK(st == SELO_OK && barcode && strcmp(barcode, c->barcode) == 0, "barcode of %s", c->linha);
      char *linha = NULL;
      OK(selo_br_barcode_to_linha(c->barcode, &linha));
      CHECK(linha && strcmp(linha, c->linha) == 0, "linha of %s", c->barcode);
      selo_string_free(linha);
      char *json = NULL, want[64];
      OK(selo_br_parse_boleto(c->linha, &json));
      snprintf(want, sizeof want, "\"amount_cents\":%lld", (long long)c->amount);
      CHECK(json && strstr(json, want), "%s in %s", want, str(json));
      selo_string_free(json);
    } else {
      CHECK(st == SELO_ERR_BR && code_starts("br.boleto."), "invalid linha %s", c->linha);
    }
    selo_string_free(barcode);
    end("boleto");
  }
  for (size_t i = 0; i < COUNT(BR_PIX); i++) {
    const PixCase *c = &BR_PIX[i];
    begin();
    char *json = NULL;
    SeloStatus st = selo_br_detect_pix_key(c->key, &json);
    if (c->valid) {
      char want[256];
      snprintf(want, sizeof want, "{\"type\":\"%s\",\"value\":\"%s\"}", c->type, c->value);
      CHECK(st == SELO_OK && json && strcmp(json, want) == 0, "pix %s -> %s", c->key, str(json));
    } else {
      CHECK(st == SELO_ERR_BR && code_is("br.pix_key.invalid"), "pix %s invalid", c->key);
    }
    selo_string_free(json);
    end("pix");
  }
  begin();
  OK(selo_br_validate_ispb("13370835"));
  CHECK(selo_br_validate_ispb("1337083") == SELO_ERR_BR && code_is("br.ispb.invalid"), "ispb");
  char *v = NULL;
  CHECK(selo_br_validate_pix_key(9, "x", &v) == SELO_ERR_BR && code_is("br.pix_key.type"), "tipo");
  end("ispb and pix types");
}

/* ------------------------------------------------------------------- ofb */
/* Maps the external vectors' stage words to code prefixes. */
static int expect_matches(const char *expect) {
  static const struct { const char *word, *prefix; } map[] = {
      {"iat", "ofb.claims.iat"}, {"aud", "ofb.claims.aud"},   {"iss", "ofb.claims.iss"},
      {"jti", "ofb.claims.jti"}, {"typ", "ofb.verify.typ"},   {"kid", "ofb.verify.kid"},
      {"signature", "ofb.verify.bad_signature"},               {"alg", "ofb.verify.alg_not_allowed"},
  };
  for (size_t i = 0; i < COUNT(map); i++)
    if (strcmp(expect, map[i].word) == 0) return code_starts(map[i].prefix);
  return code_is(expect);
}

static void ofb_cases(const OfbCase *cases, size_t n, const char *jwks_json, const char *aud,
                      const char *iss, int64_t now, const char *default_profile, const char *name) {
  SeloJwks *jwks = NULL;
  begin();
  OK(selo_jwks_parse(jwks_json, &jwks));
  end("jwks parse");
  for (size_t i = 0; i < n; i++) {
    begin();
    char *out = NULL;
    const char *profile = strcmp(cases[i].profile, "") && strcmp(cases[i].profile, "{}")
                              ? cases[i].profile
                              : default_profile;
    SeloStatus st = selo_ofb_verify(cases[i].token, jwks, aud, iss, profile, now, &out);
    if (strcmp(cases[i].expect, "ok") == 0) {
      CHECK(st == SELO_OK && out && strstr(out, iss), "%s: expected ok", cases[i].name);
    } else {
      CHECK(st == SELO_ERR_OFB && expect_matches(cases[i].expect), "%s: expected %s",
            cases[i].name, cases[i].expect);
      CHECK(out == NULL, "output on failure");
    }
    selo_string_free(out);
    end(name);
  }
  selo_jwks_free(jwks);
}

static void test_ofb(void) {
  ofb_cases(OFB_X, COUNT(OFB_X), OFB_X_JWKS, OFB_X_AUD, OFB_X_ISS, OFB_X_NOW, OFB_X_PROFILE,
            "ofb external");
  ofb_cases(OFB_V, COUNT(OFB_V), OFB_V_JWKS, OFB_V_AUD, OFB_V_ISS, OFB_V_NOW, "", "ofb own verify");
  begin();
  SeloJwks *amb = NULL;
  OK(selo_jwks_parse(OFB_X_JWKS_AMBIGUOUS, &amb));
  char *out = NULL;
  CHECK(selo_ofb_verify(OFB_X[0].token, amb, OFB_X_AUD, OFB_X_ISS, OFB_X_PROFILE, OFB_X_NOW, &out) ==
                SELO_ERR_OFB &&
            code_is("ofb.verify.kid_ambiguous"),
        "ambiguous kid");
  selo_jwks_free(amb);
  end("ofb ambiguous");

  SeloPrivateKey *key = import_key(OFB_S_KEY);
  for (size_t i = 0; i < COUNT(OFB_S); i++) {
    const OfbSignCase *c = &OFB_S[i];
    begin();
    SeloOfbSigner *s = NULL;
    OK(selo_ofb_signer_new(key, c->kid, c->iss, c->profile, &s));
    OK(selo_ofb_signer_set_seed(s, (const uint8_t *)c->seed.p, c->seed.n));
    char *tok = NULL;
    OK(selo_ofb_signer_sign(s, c->payload, c->aud, c->exp, c->now, &tok));
    CHECK(tok && strcmp(tok, c->token) == 0, "%s: token", c->name);
    selo_string_free(tok);
    selo_ofb_signer_free(s);
    end("ofb sign");
  }

  /* Server role: sign, verify, then the replay is refused with 403. */
  begin();
  SeloPublicKey *pub = NULL;
  OK(selo_private_key_public(key, &pub));
  char *jwk = NULL;
  OK(selo_public_key_to_jwk(pub, "k1", &jwk));
  char jwks_json[2048];
  snprintf(jwks_json, sizeof jwks_json, "{\"keys\":[%s]}", str(jwk));
  SeloJwks *jwks = NULL;
  OK(selo_jwks_parse(jwks_json, &jwks));
  SeloOfbSigner *s = NULL;
  OK(selo_ofb_signer_new(key, "k1", "org-a", "", &s));
  char *tok = NULL;
  OK(selo_ofb_signer_sign(s, "{\"data\":{\"x\":1}}", "https://rs.example/p", 0, 1790000000, &tok));
  SeloJtiCache *cache = NULL;
  OK(selo_jti_cache_new(100, false, &cache));
  SeloRequest *req = NULL;
  OK(selo_request_new("POST", "https://rs.example/p", &req));
  OK(selo_request_add_header(req, "Content-Type", "application/jwt"));
  OK(selo_request_set_body(req, (const uint8_t *)tok, tok ? strlen(tok) : 0));
  for (int round = 0; round < 2; round++) {
    char *verified = NULL, *code = NULL;
    SeloResponse *rej = NULL;
    OK(selo_ofb_server_verify(req, jwks, "https://rs.example/p", "org-a", "client-1", "", cache,
                              1790000001, &verified, &rej, &code));
    if (round == 0) {
      CHECK(verified && !rej && !code, "accepted");
    } else {
      CHECK(!verified && rej && selo_response_status(rej) == 403 && code &&
                strcmp(code, "ofb.replay.jti") == 0,
            "replay refused: %s", str(code));
    }
    selo_string_free(verified);
    selo_string_free(code);
    selo_response_free(rej);
  }
  CHECK(selo_jti_cache_len(cache) == 1, "one jti");
  selo_request_free(req);
  selo_jti_cache_free(cache);
  selo_string_free(tok);
  selo_ofb_signer_free(s);
  selo_jwks_free(jwks);
  selo_string_free(jwk);
  selo_public_key_free(pub);
  end("ofb server role");
  selo_private_key_free(key);
}

int main(void) {
  test_error_codes();
  test_stage1();
  test_stage2();
  test_envelopes();
  test_token();
  test_transcript();
  test_flow_against_bank();
  test_transport_errors();
  test_nul_in_reply_texts();
  test_concurrent_operations();
  test_safra_share();
  test_bmp_hmac();
  test_bmp_money();
  test_bmp_canonical();
  test_bmp_confirm();
  test_br();
  test_ofb();
  printf("c: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
