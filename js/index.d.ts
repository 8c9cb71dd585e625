// Type declarations of the `selo` npm package (CommonJS and ESM entry points).

/** Bytes in: a string is taken as its UTF-8 bytes. */
export type BytesLike = Uint8Array | ArrayBuffer | string;
/** Header lists: pairs, a plain object (values may be arrays), or a `Headers`/`Map`. */
export type HeadersLike = Array<[string, string]> | Record<string, string | string[] | undefined> | { entries(): Iterable<[string, string]> };
export type RsaProviderName = 'node' | 'rustcrypto';
export type SignatureSchemeName = 'pkcs1v15-sha256' | 'pss-sha256' | 'RS256' | 'PS256';
export type PaddingName = 'pkcs1v15' | 'oaep-sha1' | 'oaep-sha256' | 'oaep-sha256-mgf1sha1';
export type KeyFormatName = 'der-spki' | 'pem-spki' | 'der-pkcs1';
/** Unix seconds. */
export type UnixSeconds = number;

export interface ProviderOptions { provider?: RsaProviderName }
export interface SeedOptions { /** 32 bytes: deterministic randomness, for tests only. */ seed?: Uint8Array }
export type CryptoOptions = ProviderOptions & SeedOptions;

/** `resendable` false (Safra psd050): never send it again after an ambiguous outcome; report the failure to the session instead. */
export interface PreparedRequest { method: string; url: string; headers: Array<[string, string]>; body: Uint8Array; resendable?: boolean }
export interface HttpResponse { status: number; headers: Array<[string, string]>; body: Uint8Array }
export interface ReceivedResponse { status: number; headers?: HeadersLike; body?: BytesLike }

/** Every error selo raises for a protocol, key or crypto failure. */
export declare class SeloError extends Error {
  constructor(code: string, message: string, httpStatus?: number);
  readonly name: 'SeloError';
  /** The stable dotted code: one of `allCodes()`, or of `hostCodes()` for the package's own layers (`http.body_too_large`). */
  readonly code: string;
  /** The HTTP status a server role answers with, where the protocol defines one. */
  readonly httpStatus?: number;
}

export declare function allCodes(): string[];
/**
 * The codes only the host-language layers of the selo packages raise, never
 * the core (`selo::HOST_CODES`, one table for every binding); this package's
 * HTTP helpers raise "http.body_too_large" (`JwksSource` and `OfbClient`
 * raise the core's "ofb.jwks.fetch", "ofb.jwks.unavailable",
 * "ofb.client.unsigned" and "ofb.client.http_status").
 */
export declare function hostCodes(): string[];
export declare function coreVersion(): string;
export declare function setDefaultRsaProvider(name: RsaProviderName): void;
export declare function getDefaultRsaProvider(): RsaProviderName;
export declare function rsaProviderStats(): { node: number; fallback: number };
/** How many envelope AES-256-CTR operations Node's `crypto` did (reset with `resetRsaProviderStats`). */
export declare function aesProviderStats(): { node: number };
export declare function resetRsaProviderStats(): void;

// ---------------------------------------------------------------- keys, crypto
export type Jwk = { kty: string; kid?: string; alg?: string; use?: string; n?: string; e?: string; [member: string]: unknown };
export interface JwkSet { keys: Jwk[] }

export declare class RsaPrivateKey {
  private constructor();
  static generate(bits: 1024 | 2048 | 3072 | 4096, opts?: SeedOptions): RsaPrivateKey;
  static import(data: BytesLike): RsaPrivateKey;
  static fromJwk(jwk: Jwk | string): RsaPrivateKey;
  readonly bits: number;
  publicKey(): RsaPublicKey;
  toPkcs8Der(): Uint8Array;
  toPkcs8Pem(): string;
  toPkcs1Der(): Uint8Array;
  toJwk(kid?: string): Jwk;
  sign(scheme: SignatureSchemeName, msg: BytesLike, opts?: CryptoOptions): Uint8Array;
  /** One or more k-byte blocks, each decrypted and concatenated. */
  decrypt(padding: PaddingName, ciphertext: BytesLike, opts?: CryptoOptions): Uint8Array;
  free(): void;
}

export declare class RsaPublicKey {
  private constructor();
  static import(data: BytesLike): RsaPublicKey;
  static fromJwk(jwk: Jwk | string): RsaPublicKey;
  readonly bits: number;
  toSpkiDer(): Uint8Array;
  toSpkiPem(): string;
  toPkcs1Der(): Uint8Array;
  encode(format: KeyFormatName): Uint8Array;
  toJwk(kid?: string): Jwk;
  thumbprint(): string;
  /** Throws `crypto.rsa.bad_signature`. */
  verify(scheme: SignatureSchemeName, msg: BytesLike, sig: BytesLike, opts?: ProviderOptions): void;
  encrypt(padding: PaddingName, msg: BytesLike, opts?: CryptoOptions): Uint8Array;
  free(): void;
}

export type KeyLike = RsaPrivateKey | BytesLike;
export type PublicKeyLike = RsaPublicKey | RsaPrivateKey | BytesLike;

export declare function parseJwk(jwk: Jwk | string): Jwk;
export declare function parseJwks(jwks: JwkSet | string): JwkSet;
export declare function publicJwks(jwks: JwkSet | string): JwkSet;
export declare function jwkThumbprint(jwk: Jwk | string): string;
export declare function importJwk(data: BytesLike): Jwk;
export declare function importPublicKey(key: PublicKeyLike): RsaPublicKey;
export declare function hmacSha512(key: BytesLike, msg: BytesLike): Uint8Array;
export declare function aes256Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
export declare function b64(data: BytesLike): string;
export declare function b64Decode(text: BytesLike): Uint8Array;

// ---------------------------------------------------------------- Safra PSD
export interface SafraProfile {
  keyBits?: 1024 | 2048 | 3072 | 4096;
  keyFormat?: KeyFormatName;
  padding?: PaddingName | 'auto';
  signatureMessage?: 'raw-key' | 'key-base64-text' | 'plaintext' | 'auto';
  rejectReusedIv?: boolean;
  on480?: 'reinit' | 'reauth';
  renewBeforeSecs?: number;
  expireBeforeSecs?: number;
  maxRecoveries?: number;
  /** `statusProcessamento.codigo`s of a psd052 reply meaning "no such boleto" (default [3]). */
  boletoNotFoundCodes?: number[];
  /**
   * Pins of the bank key: base64url SHA-256 of its DER SubjectPublicKeyInfo
   * (RFC 7469 form; standard base64 accepted). Non-empty: a stage-1 bank key
   * outside the list ends the handshake with `safra.handshake.bank_key_not_pinned`
   * before stage 2 is sent.
   */
  bankKeyPins?: string[];
}
/** A psd050 whose outcome is unknown, kept by the session until a psd052 answers for it. */
export interface UnresolvedRegistration {
  nossoNumero: string;
  seuNumero: string;
  /** When it became unresolved (Unix seconds). */
  since: UnixSeconds;
}
export interface TokenSchedule { token: string; exp: number; iat: number; lifetime: number; receivedAt: number; renewAt: number; expiresAt: number }
/** `codigo` null: absent or not an integer in the bank's reply (never read as 0, which means success). */
export interface StatusProcessamento { codigo: number | null; mensagem: string }
export interface BoletoReply {
  statusProcessamento: StatusProcessamento | null;
  documento: { nossoNumero: string | null; seuNumero: string | null; codigoBarras: string | null; registradoCip: string | null } | null;
  raw: unknown;
  /** psd050's outcome was ambiguous and this is the psd052 reply that found the boleto registered. */
  reconciled: boolean;
  /** The reply's IV had been seen before in the session (only with `rejectReusedIv: false`). */
  ivReused: boolean;
}
export interface Pessoa { nome: string; tipoPessoa: 1 | 2; numeroDocumento: number; email?: string; endereco: { nome: string; bairro: string; cidade: string; uf: string; cep: number } }
/** psd050 message (SPEC §2.7): amounts in integer cents. */
export interface BoletoRequest {
  agencia: number;
  conta: number;
  documento: {
    nossoNumero: number; seuNumero: string; especie: '01' | '02' | '03' | '05' | '09' | string; dataVencimento: string;
    valor: number; codigoMoeda: 0; qtdDiasProtesto: number; identificacaoAceite: 'N';
    desconto: { data: string; valor: number }; multa: { juros: number; data: string; taxa: number };
    campoLivre?: string; taxaFidc?: number; danfe?: string; pagador: Pessoa;
    beneficiario?: Partial<Pessoa> & { endereco?: Partial<Pessoa['endereco']> };
    mensagens?: Array<{ posicao: 1 | 2; descricao: string }>;
  };
}
export interface BoletoQuery { nossoNumero: string; seuNumero: string }
export type SafraOperation = 'handshake' | 'authenticate' | 'renew' | { type: 'registerBoleto'; boleto: BoletoRequest } | { type: 'queryBoleto'; query: BoletoQuery };
export type SafraReply =
  | { type: 'keyAgreed'; padding: PaddingName; signatureMessage: string }
  | { type: 'authenticated'; token: TokenSchedule }
  | { type: 'renewed'; token: TokenSchedule }
  | { type: 'boletoRegistered'; reply: BoletoReply }
  | { type: 'boletoQueried'; reply: BoletoReply }
  | { type: 'businessError'; statusProcessamento: StatusProcessamento | null; body: unknown };
export type NextAction = 'rehandshake' | 'reauthenticate' | 'renew' | 'retry' | 'reconcile';
/** Why a request got no reply: "connect" (never sent), "timeout", "reset" (closed after it may have been sent), "other". */
export type TransportFailure = 'connect' | 'timeout' | 'reset' | 'other';
export type SafraOutcome = { done: false; action: NextAction | null } | { done: true; reply: SafraReply };

export interface SafraSessionOptions extends CryptoOptions {
  cliente: string;
  /** "homologation" (default), "production" or a URL. */
  baseUrl?: string;
  profile?: SafraProfile | string;
  clientKey?: KeyLike;
}

export declare class SafraSession {
  constructor(opts: SafraSessionOptions);
  prepareNext(operation: SafraOperation, now?: UnixSeconds): { id: number; request: PreparedRequest };
  handleResponse(id: number, response: ReceivedResponse, now?: UnixSeconds): SafraOutcome;
  /**
   * Request `id` got no response. "retry" when it may go again, "reconcile"
   * after an ambiguous psd050 (the next prepared request is a psd052 query),
   * or throws `SeloError` (`safra.boleto.outcome_unknown`, `safra.session.too_many_recoveries`).
   */
  handleTransportError(id: number, failure: TransportFailure, now?: UnixSeconds): SafraOutcome;
  readonly state: 'new' | 'keys-sent' | 'key-agreed' | 'authenticated';
  readonly sessionId: string;
  readonly workId: string | undefined;
  readonly token: TokenSchedule | null;
  readonly paddingWinner: PaddingName | undefined;
  readonly profile: Required<SafraProfile>;
  nextAction(now?: UnixSeconds): NextAction | null;
  sessionKeyB64(): string | undefined;
  /** The psd050s whose outcome is unknown, oldest first; a register of any of them starts with psd052. Carried by `export()`. */
  unresolvedRegistrations(): UnresolvedRegistration[];
  /** Forgets one (its outcome known by other means); true when it was unresolved. */
  resolveRegistration(nossoNumero: string | number): boolean;
  /** Keys included: encrypt at rest. */
  export(): Uint8Array;
  static import(bytes: BytesLike, opts?: CryptoOptions): SafraSession;
  // Many operations at once (SPEC §5): begin one per call, drive each with next.
  /**
   * Begins an operation beside any others in progress; returns its id.
   * Throws `SeloError` `safra.session.busy` past `setMaxInFlight`, and
   * `safra.boleto.in_flight` when another operation registers the same nossoNumero.
   */
  begin(operation: SafraOperation): number;
  /**
   * The next step of operation `opId`: a request to send (hand its response
   * back with `id`), or `{ wait: true }` while another operation's handshake,
   * psd005 or psd007 is in flight (ask again after a response was handled).
   * An error thrown here ends the operation.
   */
  next(opId: number, now?: UnixSeconds): { wait: true } | { wait: false; id: number; request: PreparedRequest };
  /** Ends an operation without a reply (a psd050 of it in flight becomes an unresolved registration); false when it had already ended. */
  cancel(opId: number): boolean;
  /** Operations begun and not yet ended. */
  readonly inFlight: number;
  /** True while a handshake stage, psd005 or psd007 is in flight. */
  readonly transitionInFlight: boolean;
  /** How many times the credentials changed. */
  readonly generation: number;
  /** The most operations in flight at once (default 256). */
  setMaxInFlight(n: number): void;
  /** Session id, AES key, token, workId as JSON bytes for another instance (a secret: seal it at rest); `safra.session.not_ready` before a key is agreed. */
  exportCredentials(): Uint8Array;
  /** Takes over another instance's `exportCredentials()` (same bank URL and client code, else `safra.session.bad_snapshot`). */
  adoptCredentials(bytes: BytesLike): void;
  /** True when request `id` (in flight) is a handshake stage, psd005 or psd007. */
  isTransition(id: number): boolean;
  /** Shares the session with other instances (SPEC §5): transitions run only while the fleet's lease is granted (`SafraShare.grant`). */
  setShared(shared: boolean): void;
  /** A shared session met a transition it may not run without the fleet's lease (or a renewal fell due). */
  readonly wantsLease: boolean;
  free(): void;
}

/** A Redis script call the core built: run `EVALSHA sha1` (or `EVAL script` on NOSCRIPT) with `keys` and `args`; the reply is an integer. */
export interface ScriptCall {
  name: 'LEASE_ACQUIRE' | 'LEASE_EXTEND' | 'RELEASE_IF_OWNER' | 'PUBLISH_IF_GENERATION';
  script: string;
  sha1: string;
  keys: string[];
  args: string[];
}

/** Counters of one instance of a Safra fleet. */
export interface SafraShareStats {
  handshakes: number;
  renewals: number;
  adopted: number;
  leaseWaits: number;
  leaseSteals: number;
  storeErrors: number;
}

/**
 * One instance's view of a Safra session shared by a fleet (SPEC §5,
 * docs/shared-state.md), sans I/O. `selo/redis`'s `RedisSafraShare` runs
 * its calls on a node-redis client.
 */
export declare class SafraShare {
  constructor(opts: { name: string; sealKey: BytesLike; leaseTtlMs?: number; seed?: Uint8Array });
  readonly name: string;
  readonly leaseTtlMs: number;
  readonly recordKey: string;
  readonly adoptedGeneration: number;
  readonly holdsLease: boolean;
  stats(): SafraShareStats;
  storeError(): void;
  onRecord(session: SafraSession, record: string | null): 'empty' | 'current' | 'adopted';
  acquire(): ScriptCall;
  onAcquire(reply: number): { held: boolean; retryAfterMs: number };
  grant(session: SafraSession): void;
  readyToPublish(session: SafraSession): boolean;
  publish(session: SafraSession): ScriptCall;
  onPublish(session: SafraSession, reply: number): 'published' | 'notLeaseOwner' | 'fenceMovedOn' | 'generationChanged' | 'storedRecordMalformed';
  release(session: SafraSession): ScriptCall | null;
  onRelease(reply: number): 'released' | 'notOwner';
  free(): void;
}
/** The Redis key of a BMP pending transaction (docs/shared-state.md §2). */
export declare function sharedBmpPendingKey(idempotencyKey: string): string;
/** 604800 (7 days). */
export declare function sharedBmpPendingTtlSeconds(): number;
/** 30000. */
export declare function sharedDefaultLeaseTtlMs(): number;
/** 100. */
export declare function sharedWaitPollIntervalMs(): number;

export declare class SafraBank {
  constructor(opts: { bankKey: KeyLike; profile?: SafraProfile | string; tokenLifetime?: number } & CryptoOptions);
  handle(path: string, headers: HeadersLike, body: BytesLike | undefined | null, now?: UnixSeconds): HttpResponse;
  inject(fault: 'expire-key' | 'answer-480' | 'answer-550'): void;
  publicKey(): RsaPublicKey;
  boletos(): Array<{ nossoNumero: string; codigoBarras: string; request: BoletoRequest }>;
  sessionKeyB64(sessionId: string): string | undefined;
  free(): void;
}

export declare function safraDefaultProfile(): Required<SafraProfile>;
export declare function safraProfile(profile: SafraProfile | string): Required<SafraProfile>;
/** `provider`: where AES-256-CTR runs (`"node"`: Node's `crypto`; `"rustcrypto"`: in wasm; default: the default RSA provider's choice). */
export declare function safraSeal(key: BytesLike, plaintext: BytesLike, opts?: { iv?: BytesLike; provider?: RsaProviderName } & SeedOptions): string;
export declare function safraOpen(key: BytesLike, envelope: BytesLike, opts?: { provider?: RsaProviderName }): { iv: Uint8Array; plaintext: Uint8Array; text: string | null; json: unknown };
export declare function safraOpenJson(key: BytesLike, envelope: BytesLike, opts?: { provider?: RsaProviderName }): unknown;
export declare function safraWrapBody(envelope: string): Uint8Array;
export declare function safraUnwrapBody(body: BytesLike): string;
export declare function safraRandomIv(opts?: SeedOptions): string;
export declare function safraEnvelopeHeader(): string;
export declare function safraStage1Jwk(clientKey: RsaPrivateKey, sessionId: string, opts?: { keyFormat?: KeyFormatName } & CryptoOptions): string;
export declare function safraParseStage1Reply(body: BytesLike): RsaPublicKey;
export declare function safraParseStage2Reply(body: BytesLike, clientKey: RsaPrivateKey, bankKey: RsaPublicKey,
  opts?: { paddings?: PaddingName[]; signatureMessages?: string[] } & CryptoOptions): { keyB64: string; key: Uint8Array; padding: PaddingName; signatureMessage: string };
export declare function safraExtractKey(plaintext: BytesLike): Uint8Array;
export declare function safraDecodeToken(token: string): Record<string, unknown>;
export declare function safraTokenSchedule(token: string, t0: UnixSeconds, profile?: SafraProfile | string): TokenSchedule;
export declare function safraBoleto(boleto: BoletoRequest | string): BoletoRequest;
export declare function safraParseBoletoReply(reply: unknown): BoletoReply;
export declare function safraStatusProcessamento(reply: unknown): StatusProcessamento | null;

/**
 * Client TLS for mTLS, passed to a keep-alive `https.Agent` (Node's
 * `tls.connect` options: `passphrase` for an encrypted key, `pfx` for a
 * PKCS#12 bundle, `servername`, `minVersion`, … pass through as well).
 */
export interface TlsOptions {
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  ca?: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
  pfx?: string | Buffer | Array<string | Buffer>;
  [option: string]: unknown;
}
/** `redirect: 'manual'` on the GETs of `JwksSource` (a redirect is never followed). */
export type Fetch = (url: string, init: { method: string; headers: Array<[string, string]>; body?: Uint8Array; signal?: AbortSignal; redirect?: 'manual' }) => Promise<Response>;

export type BoletoResult =
  | {
      ok: true; nossoNumero: string | null; seuNumero: string | null; codigoBarras: string | null; registradoCip: string | null;
      statusProcessamento: StatusProcessamento | null;
      /** psd050's outcome was ambiguous; the session's psd052 query found the boleto registered (`raw` is that reply). */
      reconciled: boolean;
      ivReused: boolean;
      raw: unknown;
    }
  | { ok: false; statusProcessamento: StatusProcessamento | null; body: unknown };

/** What `SafraClient` asks of a share (`RedisSafraShare` implements it). */
export interface SafraSharedState {
  readonly holdsLease: boolean;
  readonly core: SafraShare;
  stats(): SafraShareStats;
  attach(session: SafraSession): void;
  readRecord(session: SafraSession): Promise<'empty' | 'current' | 'adopted'>;
  takeLease(session: SafraSession, opts?: { signal?: AbortSignal }): Promise<'granted' | 'adopted'>;
  publishIfReady(session: SafraSession): Promise<string | null>;
  release(session: SafraSession): Promise<string | null>;
}

/** Per-call options of `SafraClient`. */
export interface SafraCallOptions {
  /** Aborting it rejects the call with the signal's reason and cancels its operation. */
  signal?: AbortSignal;
}

export declare class SafraClient {
  constructor(opts: SafraSessionOptions & {
    tls?: TlsOptions; fetch?: Fetch; now?: () => UnixSeconds; keepAlive?: boolean;
    /** Per-request timeout in ms (default 30000; 0: none). A request with no reply by then is reported to the session as "timeout". */
    timeoutMs?: number;
    /** Replaces fetch/tls: send one request, resolve to the response; a rejection is a transport failure (an error with `transportFailure: TransportFailure` says which kind). */
    send?: (request: PreparedRequest) => Promise<HttpResponse>;
    session?: SafraSession; onEvent?: (e: { type: string; [k: string]: unknown }) => void;
    /** Most calls in flight at once (default 256); past it a call rejects with `safra.session.busy`. */
    maxInFlight?: number;
    /** Shares the session with other instances through a store (`RedisSafraShare` from `selo/redis`; SPEC §5). */
    shared?: SafraSharedState;
  });
  readonly session: SafraSession;
  readonly shared: SafraSharedState | null;
  /**
   * Calls run at once on the shared session: business calls share the
   * credentials; a handshake, psd005 or psd007 runs once while the calls
   * that need it wait (at most `timeoutMs` per wait, then `SeloError`
   * `safra.session.not_ready`). `signal` ends the call (rejects with its
   * reason) and cancels its operation.
   */
  run(operation: SafraOperation, opts?: SafraCallOptions): Promise<SafraReply>;
  handshake(): Promise<SafraReply>;
  authenticate(): Promise<SafraReply>;
  renew(): Promise<SafraReply>;
  /** Rejects with `SeloError` `safra.boleto.in_flight` while another call registers the same nossoNumero. */
  registerBoleto(boleto: BoletoRequest, opts?: SafraCallOptions): Promise<BoletoResult>;
  queryBoleto(query: BoletoQuery, opts?: SafraCallOptions): Promise<BoletoResult>;
  /** The session's unresolved registrations (see `SafraSession.unresolvedRegistrations`). */
  unresolvedRegistrations(): UnresolvedRegistration[];
  /** Forgets one (its outcome known by other means); true when it was unresolved. */
  resolveRegistration(nossoNumero: string | number): boolean;
  /** With `shared`: settles once the fleet's lease is given back (await it before closing the Redis client). */
  close(): void | Promise<void>;
}

// ---------------------------------------------------------------- BMP
export interface BmpProfile {
  macEncoding?: 'lowercase-hex' | 'uppercase-hex' | 'base64';
  acceptBase64?: boolean;
  relaxedKey?: boolean;
  moneyFields?: string[];
  moneyFormat?: 'two-digits' | 'dotnet';
  idempotencyKeyUuidV4?: boolean;
  confirmRequiredHeaders?: string[];
  confirmTimeoutMs?: number;
}
export interface BmpAccount {
  agencia: string; agenciaDigito?: string; conta: string; contaDigito?: string; tipoConta: 1 | 2 | 3 | 4;
  documentoFederal?: string; nome?: string; numeroBanco?: number; ispb?: string;
}
/** Amounts: a decimal string ("1345.80") or an integer number of reais; never a fractional number. */
export type Amount = string | number;
export type BmpTransaction =
  | { type: 'boletoPayment'; dataTransacao: string; contaOrigem: BmpAccount; valor: Amount; dataVencimento?: string; codigoBarras?: string; linhaDigitavel?: string }
  | { type: 'ted' | 'internalTransfer'; dataTransacao: string; contaOrigem: BmpAccount; contaDestino: BmpAccount; valor: Amount }
  | { type: 'pix'; dataTransacao: string; contaOrigem: BmpAccount; contaDestino?: BmpAccount; valor: Amount; chavePix: string; tipoChave: 0 | 1 | 2 | 3 | 4 }
  | { type: 'pixRefund'; dataTransacao: string; contaOrigem: BmpAccount; contaDestino: BmpAccount; valor: Amount; codigoMovimento: string };
export interface SignedTransaction { idempotencyKey: string; body: Uint8Array; bodyText: string; hmac: string; headers: Array<[string, string]>; endpoint?: string }
export interface ConfirmResult extends HttpResponse { confirmed: boolean; error: SeloError | null; difference: string | null; idempotencyKey: string | null }
export interface TransactionStore { set(idempotencyKey: string, body: Uint8Array): void | Promise<void>; get(idempotencyKey: string): BytesLike | null | Promise<BytesLike | null> }

export declare class BmpSigner {
  constructor(opts: { key: string; profile?: BmpProfile | string } & SeedOptions);
  sign(body: BytesLike | object): SignedTransaction;
  signBytes(body: BytesLike, idempotencyKey: string): SignedTransaction;
  signTransaction(tx: BmpTransaction, idempotencyKey?: string): SignedTransaction & { endpoint: string };
  free(): void;
}
export declare class BmpServer {
  constructor(opts: { key: string; profile?: BmpProfile | string });
  checkRequest(headers: HeadersLike, body: BytesLike): { idempotencyKey: string; body: Uint8Array };
  confirmationRequest(tx: { idempotencyKey: string; body: BytesLike }, partnerUrl: string, opts?: { extraHeaders?: HeadersLike; dotnet?: boolean }): { request: PreparedRequest; deadlineMs: number };
  checkConfirmationReply(call: { request: PreparedRequest; deadlineMs: number }, reply: ReceivedResponse): void;
  confirmationTimedOut(call: { request: PreparedRequest; deadlineMs: number }): SeloError;
  free(): void;
}
export declare class MemoryTransactionStore implements TransactionStore {
  set(idempotencyKey: string, body: Uint8Array): void;
  get(idempotencyKey: string): Uint8Array | null;
  delete(idempotencyKey: string): void;
}
export declare class BmpClient {
  constructor(opts: { key: string; baseUrl?: string; profile?: BmpProfile | string; store?: TransactionStore; fetch?: Fetch; tls?: TlsOptions; timeoutMs?: number } & SeedOptions);
  readonly store: TransactionStore;
  prepare(txOrBody: BmpTransaction | BytesLike | object, opts?: { idempotencyKey?: string }): Promise<SignedTransaction>;
  send(signed: SignedTransaction, opts?: { endpoint?: string; retries?: number; retryDelayMs?: number }): Promise<HttpResponse & { json: unknown; idempotencyKey: string; attempts: number }>;
  pay(tx: BmpTransaction, opts?: { idempotencyKey?: string; retries?: number; retryDelayMs?: number }): Promise<HttpResponse & { json: unknown; idempotencyKey: string; attempts: number }>;
  confirm(headers: HeadersLike, rawBody: BytesLike): Promise<ConfirmResult>;
  /** 413 over `maxBodyBytes` (default 1 MiB); a store or handler failure → `bmpConfirmInternalResponse()` (never the error's text), the error to `onError`. */
  nodeConfirmationHandler(opts?: { maxBodyBytes?: number; onError?: (err: unknown) => void }): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void>;
  expressConfirmationHandler(opts?: { maxBodyBytes?: number; onError?: (err: unknown) => void }): (req: any, res: any) => Promise<void>;
}
/** The 500 a BMP confirmation endpoint answers when its store or handler failed (code `bmp.confirm.internal`, a fixed message). */
export declare function bmpConfirmInternalResponse(): HttpResponse;
/** The 413 a server helper answers for a body over `limit` bytes (`http.body_too_large`). */
export declare function bodyTooLargeResponse(limit: number): HttpResponse;
export declare function bmpConfirmAsync(key: string, headers: HeadersLike, rawBody: BytesLike, store: TransactionStore, profile?: BmpProfile | string): Promise<ConfirmResult>;
export declare function bmpConfirm(key: string, headers: HeadersLike, body: BytesLike, lookup: (idempotencyKey: string) => BytesLike | null | undefined, profile?: BmpProfile | string): ConfirmResult;
export declare function bmpDefaultProfile(): Required<BmpProfile>;
export declare function bmpProfile(profile: BmpProfile | string): Required<BmpProfile>;
export declare function bmpGenerateKey(opts?: SeedOptions): string;
export declare function bmpSign(key: string, body: BytesLike, profile?: BmpProfile | string): string;
export declare function bmpVerify(key: string, body: BytesLike, hmac: string, profile?: BmpProfile | string): void;
export declare function bmpCanonical(body: BytesLike | object, profile?: BmpProfile | string): Uint8Array;
export declare function bmpMoney(amount: Amount): { cents: number; json: string };
export declare function bmpMoneyFromCents(cents: number): { cents: number; json: string };
export declare function bmpDecimalEq(a: string, b: string): boolean;
export declare function bmpFirstDifference(original: BytesLike, received: BytesLike): string | undefined;
export declare function bmpIsProtectedEndpoint(path: string): boolean;
export declare function bmpProtectedEndpoints(): string[];
export declare function bmpEndpoint(tx: BmpTransaction): string;

// ---------------------------------------------------------------- br
export declare function isValidCpf(s: string): boolean;
export declare function isValidCnpj(s: string): boolean;
export declare function isValidDocument(s: string): boolean;
export declare function normalizeCpf(s: string): string;
export declare function normalizeCnpj(s: string): string;
export declare function formatCpf(s: string): string;
export declare function formatCnpj(s: string): string;
export declare function parseDocument(s: string): { type: 'cpf' | 'cnpj'; value: string };
export interface ParsedBoleto {
  kind: 'bank' | 'arrecadacao'; barcode: string; linhaDigitavel: string; amountCents: number | null;
  bank?: string; currency?: number; dueDateFactor?: number; segment?: number; valueId?: number;
}
export declare function parseBoleto(s: string): ParsedBoleto;
export declare function linhaToBarcode(s: string): string;
export declare function barcodeToLinha(s: string): string;
export declare function isValidBarcode(s: string): boolean;
export declare function isValidLinhaDigitavel(s: string): boolean;
export declare function boletoDueDate(factor: number, reference: string): string | undefined;
export declare function isValidIspb(s: string): boolean;
export declare function validateIspb(s: string): void;
export type PixKeyTypeName = 'cpf' | 'cnpj' | 'phone' | 'email' | 'evp';
export declare function validatePixKey(type: PixKeyTypeName | 0 | 1 | 2 | 3 | 4, key: string): { type: PixKeyTypeName; value: string };
export declare function isValidPixKey(type: PixKeyTypeName | 0 | 1 | 2 | 3 | 4, key: string): boolean;
export declare function detectPixKey(key: string): { type: PixKeyTypeName; value: string } | null;

// ---------------------------------------------------------------- Open Finance Brasil
export interface OfbProfile {
  typ?: 'jwt' | 'absent-or-jwt';
  iatFutureSkew?: number;
  iatMaxAge?: number;
  jtiFormat?: 'uuid-v4' | 'any';
  iatFormat?: 'integer' | 'string';
}
export interface OfbClaims { aud: string[]; iss: string; jti: string; iat: number; exp: number | null; nbf: number | null }
export interface OfbVerified { header: Record<string, unknown>; payload: Record<string, unknown>; claims: OfbClaims; kid: string }
export interface OfbSigned { token: string; jti: string; iat: number }
export type OfbRequestDecision =
  | { ok: true; verified: OfbVerified; replayKey?: { clientId: string; jti: string } }
  | { ok: false; error: SeloError; response: HttpResponse };

export declare class OfbSigner {
  constructor(opts: { key: KeyLike; kid: string; iss: string; profile?: OfbProfile | string } & CryptoOptions);
  readonly kid: string;
  sign(payload: object | string, opts: { aud: string; exp?: UnixSeconds; now?: UnixSeconds }): OfbSigned;
  signResponse(status: number, payload: object | string, opts: { aud: string; exp?: UnixSeconds; now?: UnixSeconds }): HttpResponse;
  free(): void;
}
export declare class OfbPrepared {
  private constructor();
  readonly signingInput: Uint8Array;
  readonly kid: string;
  readonly jti: string;
  readonly iat: number;
  finish(signature: BytesLike, publicKey: RsaPublicKey, opts?: ProviderOptions): OfbSigned;
  free(): void;
}
export declare function ofbPrepare(payload: object | string, opts: { kid: string; aud: string; iss: string; exp?: UnixSeconds; now?: UnixSeconds; profile?: OfbProfile | string } & SeedOptions): OfbPrepared;
export declare class JtiCache {
  /** `capacity` defaults to 1 000 000 entries (the core's DEFAULT_CAPACITY). */
  constructor(opts?: { capacity?: number; whenFull?: 'refuse' | 'evict-oldest'; ttl?: number });
  checkAndInsert(clientId: string, jti: string, now?: UnixSeconds): 'fresh' | 'replayed';
  readonly size: number;
  free(): void;
}
export interface OfbRequestInput { method?: string; contentType?: string; body?: BytesLike; now?: UnixSeconds }
export interface OfbExpectations { aud: string; iss: string; clientId: string }
/**
 * A request that passed every check but replay (`OfbVerifier.checkRequest`).
 * Ask your replay store to record `storeKey(prefix?)` for `ttlSeconds(now)`
 * atomically (Redis: `SET key 1 NX EX ttl`: "OK" → "fresh", nil →
 * "replayed"), then `finish(answer)`.
 */
export declare class OfbPendingRequest {
  private constructor();
  readonly clientId: string;
  /** Lower-case when it is a UUID. */
  readonly jti: string;
  /** `<prefix>:<length of clientId>:<clientId>:<jti>`; `prefix` default "selo:ofb:jti". */
  storeKey(prefix?: string | null): string;
  /** The token's remaining acceptance window at `now`: 1 to 86 400 s. */
  ttlSeconds(now?: UnixSeconds | null): number;
  /** Exactly "fresh" or "replayed"; anything else → 503 `ofb.replay.store_failed` (a body without the answer's text). Spends the request. */
  finish(answer: unknown): OfbRequestDecision;
  free(): void;
}
export type OfbCheck = { ok: true; pending: OfbPendingRequest } | { ok: false; error: SeloError; response: HttpResponse };
export declare class OfbVerifier {
  constructor(opts: { jwks: JwkSet | string; profile?: OfbProfile | string; responses?: boolean } & ProviderOptions);
  setJwks(jwks: JwkSet | string): void;
  /** Uses the set a `JwksCache` holds (shared, not copied), after each of its "use" decisions; throws `ofb.jwks.unavailable` before the first set. */
  setJwksFrom(cache: JwksCache): void;
  hasKid(kid: string): boolean;
  /** Phase one of a server check with your own replay store: method, content type, size, stages 1–6, one verification. */
  checkRequest(request: OfbRequestInput, expected: OfbExpectations): OfbCheck;
  verify(token: BytesLike, opts: { aud: string; iss: string; now?: UnixSeconds }): OfbVerified;
  verifyRequest(request: OfbRequestInput, expected: OfbExpectations, cache: JtiCache): OfbRequestDecision;
  verifyRequestWithReplayStatus(request: OfbRequestInput, expected: OfbExpectations, replayStatus: 'fresh' | 'replayed' | null): OfbRequestDecision;
  free(): void;
}
export declare function ofbDefaultProfile(): Required<OfbProfile>;
export declare function ofbResponseProfile(): Required<OfbProfile>;
export declare function ofbProfile(profile: OfbProfile | string): Required<OfbProfile>;
/** The OFB error response for an `ofb.*` code: `{ status, headers, body }` (throws for a code of another area). */
export declare function ofbErrorResponse(code: string, message: string): HttpResponse;
/**
 * How a client reads a reply: `{ kind: "jws", token }` to verify (an
 * `application/jwt` body, whatever the status), `{ kind: "unverified" }` (a
 * non-2xx without a JWS, only with `allowUnsignedErrors`); throws
 * `ofb.client.unsigned` (a 2xx that is not a JWS) or `ofb.client.http_status`.
 */
export declare function ofbReadReply(status: number, contentType: string | null | undefined, body: BytesLike, allowUnsignedErrors: boolean): { kind: 'jws'; token: string } | { kind: 'unverified' };
export declare function ofbDecode(token: BytesLike): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: Uint8Array; signingInput: string };
export declare const OFB_MEDIA_TYPE: 'application/jwt';

/**
 * Your replay store (the contract every selo host shares): record `key` for
 * `ttlSeconds` atomically and answer exactly 'fresh' (it was absent) or
 * 'replayed' (it was there); anything else, a throw or a rejection is a 503
 * `ofb.replay.store_failed`. `key` and `ttlSeconds` are the core's
 * (`OfbPendingRequest.storeKey` / `.ttlSeconds`). A store without `record`
 * is asked `checkAndInsert(clientId, jti, now, { key, ttlSeconds })` instead.
 */
export type ReplayStore =
  | { record(key: string, ttlSeconds: number): 'fresh' | 'replayed' | Promise<'fresh' | 'replayed'> }
  | { checkAndInsert(clientId: string, jti: string, now: UnixSeconds, entry: { key: string; ttlSeconds: number }): 'fresh' | 'replayed' | Promise<'fresh' | 'replayed'> };
/** @deprecated the name of `ReplayStore` before 0.3. */
export type AsyncJtiCache = ReplayStore;
export interface SkippedJwk { index: number; kid?: string | null; error: string }
/** The remote-JWKS policy (SPEC §3.3a), the core's member names; absent members take their defaults. */
export interface JwksPolicy {
  /** 600 000 */ max_age_ms?: number;
  /** 30 000 */ cooldown_ms?: number;
  /** 5 000: one deadline for the whole fetch. */ timeout_ms?: number;
  /** 1 000, doubling per failure. */ backoff_initial_ms?: number;
  /** 300 000 */ backoff_max_ms?: number;
  /** 86 400 000 */ stale_grace_ms?: number;
  /** 524 288 */ max_bytes?: number;
  /** false: http only to loopback. */ allow_http?: boolean;
}
export interface JwksTicket { id: number; url: string; timeoutMs: number; maxBytes: number }
export type JwksDecision =
  | { kind: 'use'; refresh?: JwksTicket }
  | { kind: 'fetch'; ticket: JwksTicket }
  | { kind: 'wait'; untilMs: number };
export type JwksFetchFailure = 'timeout' | 'network' | 'too-large' | 'refused';
/** The remote JWK Set policy, sans-I/O (the core's): ask `decide` before each verification and do what it says. */
export declare class JwksCache {
  /** Throws `ofb.jwks.url` for a refused URL (not https, not loopback) or policy. */
  constructor(opts: { url: string; policy?: JwksPolicy });
  /** Throws `ofb.jwks.unavailable` (503) when no set can be used. */
  decide(nowMs: number, token?: string | null): JwksDecision;
  /** The answer to fetch `ticketId` (at most `maxBytes` of body): the keys skipped, or throws `ofb.jwks.fetch`. */
  fetched(ticketId: number, nowMs: number, status: number, body: BytesLike): SkippedJwk[];
  /** Fetch `ticketId` ended without a complete response; returns the recorded `SeloError` (`ofb.jwks.fetch`). */
  failed(ticketId: number, nowMs: number, kind: JwksFetchFailure, detail?: string | null): SeloError;
  stats(): { fetches: number; failures: number; refused: number; consecutive_failures: number };
  skipped(): SkippedJwk[];
  hasKid(kid: string): boolean;
  readonly policy: Required<JwksPolicy>;
  readonly url: string;
  free(): void;
}
/** `JwksSource` options that set the policy (camelCase of `JwksPolicy`). */
export interface JwksPolicyOptions {
  /** Reuse a set this long, then refresh it in the background; default 10 min. */ maxAgeMs?: number;
  /** An unknown kid fetches only when no fetch started within this (the first fetch included); default 30 s. */ cooldownMs?: number;
  /** One deadline for a whole fetch (connect to last byte); default 5 s. */ timeoutMs?: number;
  /** Wait after a failed fetch, doubling; default 1 s. */ backoffInitialMs?: number;
  /** Longest wait between failed fetches; default 5 min. */ backoffMaxMs?: number;
  /** Serve the last good set this long past its age while fetches fail; default 24 h. */ staleGraceMs?: number;
  /** Largest body read; default 512 KiB. */ maxBytes?: number;
  /** Accept http:// to a non-loopback host. */ allowHttp?: boolean;
  /** The policy in the core's member names (the options above win). */ policy?: JwksPolicy;
}
export declare class JwksSource {
  constructor(opts: JwksPolicyOptions & {
    /** A fixed set, or */ jwks?: JwkSet | string;
    /** where to fetch it (https, or http to loopback). */ url?: string;
    fetch?: Fetch; tls?: TlsOptions;
    /** Clock in ms (default Date.now). */ now?: () => number;
    onSkippedKey?: (s: SkippedJwk) => void;
    /** Each failed fetch (also in `lastError`). */ onFetchError?: (e: JwksFetchError) => void;
    profile?: OfbProfile; responses?: boolean;
  } & ProviderOptions);
  /** null for a fixed set. */
  readonly url: string | null;
  readonly policy: Required<JwksPolicy> | null;
  /** Keys of the current set that did not parse (skipped). */
  readonly skipped: SkippedJwk[];
  /** Fetches started so far. */
  readonly fetches: number;
  readonly lastError: JwksFetchError | null;
  stats(): { fetches: number; failures: number; refused: number; consecutiveFailures: number };
  hasKid(kid: string): boolean;
  /** Waits for the fetch in flight or performs the one the policy allows now; rejects with its `JwksFetchError`. */
  refresh(): Promise<void>;
  /** The verifier for `token` (its kid read by the core), after what the policy says; rejects with `ofb.jwks.unavailable` (503). */
  verifier(token?: BytesLike | null): Promise<OfbVerifier>;
  close(): void;
}
/** A JWK Set fetch failed: the core's "ofb.jwks.fetch". */
export declare class JwksFetchError extends SeloError {
  readonly code: 'ofb.jwks.fetch';
  readonly kind: JwksFetchFailure | 'status' | 'malformed';
}
export declare class OfbClient {
  constructor(opts: {
    key: KeyLike; kid: string; organisationId: string; jwks?: JwkSet | string | JwksSource; jwksUrl?: string; jwksPolicy?: JwksPolicyOptions;
    fetch?: Fetch; tls?: TlsOptions; profile?: OfbProfile; responseProfile?: OfbProfile; now?: () => UnixSeconds; timeoutMs?: number;
    /** Resolve a non-2xx reply without a JWS as `{ unverified: true }` instead of throwing `OfbHttpError`. */
    allowUnsignedErrors?: boolean;
  } & CryptoOptions);
  signRequest(url: string, payload: object, opts?: { exp?: UnixSeconds }): { body: string; headers: Array<[string, string]>; jti: string; iat: number };
  verifyResponse(body: BytesLike, opts: { iss: string }): Promise<OfbVerified>;
  /**
   * A JWS reply is verified whatever its status; a 2xx that is not a JWS throws `ofb.client.unsigned`; a non-2xx
   * that is not a JWS throws `OfbHttpError`, or with `allowUnsignedErrors` resolves unverified.
   */
  request(url: string, opts: { method?: string; payload: object; iss: string; allowUnsignedErrors?: boolean }): Promise<
    | { status: number; verified: OfbVerified; unverified?: undefined }
    | { status: number; verified: null; unverified: true; headers: Array<[string, string]>; body: Uint8Array }>;
}
/** `OfbClient.request`: a non-2xx reply whose body is not a JWS (the core's "ofb.client.http_status"). */
export declare class OfbHttpError extends SeloError {
  readonly code: 'ofb.client.http_status';
  readonly status: number;
  readonly headers: Array<[string, string]>;
  readonly body: Uint8Array;
  /** The body as UTF-8 text. */
  readonly text: string;
}
export declare class OfbRequestVerifier {
  constructor(opts: {
    jwks?: JwkSet | string | JwksSource; jwksUrl?: string; fetch?: Fetch; tls?: TlsOptions; cache?: JtiCache | ReplayStore;
    /** The replay store key prefix (default "selo:ofb:jti"). */ replayKeyPrefix?: string;
    profile?: OfbProfile; now?: () => UnixSeconds;
    /** Sees a replay store's error (never sent to the client). */ onStoreError?: (err: unknown) => void;
    jwksTimeoutMs?: number; jwksMaxAgeMs?: number; jwksCooldownMs?: number; jwksNow?: () => number;
    /** Other `JwksSource` options for `jwksUrl`. */ jwksPolicy?: JwksPolicyOptions;
    /** `middleware` body limit; default 1 MiB (413 beyond). */ maxBodyBytes?: number;
  } & ProviderOptions);
  readonly jwks: JwksSource;
  verify(request: { method?: string; headers?: HeadersLike; contentType?: string; body?: BytesLike }, expected: OfbExpectations): Promise<OfbRequestDecision>;
  middleware(expected: (req: any) => OfbExpectations | Promise<OfbExpectations>): (req: any, res: any, next?: (err?: unknown) => void) => Promise<void>;
}

