import type { MalformedPlanKind } from './malformed-plans';
// Public types of the emulator. Kept apart from the implementation so users' tests can
// import them without pulling the server in, and so the shapes read as the contract.

export type UploadType = 'single' | 'multipart';

/** `end` is INCLUSIVE, as in the OFAuth plan. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One part of the plan the emulator hands out (the library's own, validated `PlanPart` is another type). */
export interface EmulatorPlanPart {
  partNumber: number;
  uploadUrl: string;
  byteRange: ByteRange;
}

/** The answer of `POST /v2/access/uploads/init` in the plan-giving modes. */
export interface InitPlan {
  mediaUploadId: string;
  uploadType: UploadType;
  totalParts: number;
  partSize: number;
  expiresAt: string;
  parts: EmulatorPlanPart[];
  completeUrl: string;
}

/** The answer of init in 'planless' mode (the newer API generation). */
export interface PlanlessInit {
  mediaUploadId: string;
}

export type EmulatorMode = 'auto' | 'single' | 'multipart' | 'planless';
/** Spellings of the issue and docs, accepted for the canonical modes ('plan-less' = 'planless', 'single-finalize' = 'single'). */
export type EmulatorModeAlias = 'plan-less' | 'single-finalize';

/**
 * What the emulator hashes as bytes arrive:
 * - 'full' (default): part etags are the md5 of the part, and the whole media's sha256 is kept.
 * - 'sha256': sha256 of the whole media, but part etags come from a constant-size sample
 *   (md5 of the first 64 KiB, the last chunk and the length): roughly doubles throughput.
 * - 'none': sampled etags and no whole-media hash (`sha256` stays undefined, nothing is ever held
 *   for ordering): for benchmarks where the emulator must not be the bottleneck.
 */
export type EmulatorHashing = 'full' | 'sha256' | 'none';

export type RouteName = 'init' | 'part' | 'single' | 'complete' | 'check' | 'unknown';

/** 'any' matches every known route (init, part, single, complete, check), never 'unknown'. */
export type FaultRoute = Exclude<RouteName, 'unknown'> | 'any';

export type FaultAction =
  /** Drain the body, store nothing, answer this status. Default body: JSON `{ error }`. */
  | { type: 'status'; status: number; retryAfter?: number | string; body?: string; contentType?: string }
  /** Read `afterBytes` of the body (default 0), then destroy the socket. Nothing is stored. */
  | { type: 'reset'; afterBytes?: number }
  /** Wait, then handle normally. */
  | { type: 'delay'; ms: number }
  /** Throttle reading the body to this rate, then handle normally. */
  | { type: 'slowRead'; bytesPerSecond: number }
  /**
   * Read `afterBytes` of the body (default 0), store nothing, answer at once with `status`
   * (default 200) and `body` (default: a success answer of the route, naming a media for the
   * single PUT and complete), then close the connection, as a gateway that answers before the
   * body is read. A client must not count such a 2xx as stored.
   */
  | { type: 'answerEarly'; status?: number; body?: string; afterBytes?: number }
  /** Drain the body, store nothing, never answer (the socket is destroyed by `close()`). */
  | { type: 'hang' }
  /** Handle normally (the part IS stored), send headers and half of the JSON body, then stall. */
  | { type: 'stallBody' }
  /** Handle normally (the part IS stored), answer this raw body instead. Default status 200, content type application/json. */
  | { type: 'body'; status?: number; body: string; contentType?: string }
  /** Handle normally, answer `fn(normal answer)` as JSON with the normal status and headers. */
  | { type: 'mutate'; fn: (answer: Record<string, unknown>) => unknown };

export interface FaultRule {
  /** Default 'any'. */
  route?: FaultRoute;
  /** Only part PUTs with this part number match (a rule with partNumber never matches other routes). */
  partNumber?: number;
  /**
   * 1-based index (or indices) among the requests this rule matches by route/partNumber.
   * Every matching request advances the rule's counter, whether or not the rule or another one fires.
   * Omitted: every matching request is eligible.
   */
  nth?: number | number[];
  /** Maximum number of times this rule fires. Omitted: unlimited (bounded only by `nth`). */
  times?: number;
  action: FaultAction;
}

export type RandomFaultKind = '500' | '502' | '503' | '429' | 'reset' | 'delay' | 'slowRead';

export interface RandomFaults {
  seed: number;
  /** Probability (0..1) that a matching request gets a fault. */
  rate: number;
  /** Default: every known route. */
  routes?: FaultRoute[];
  /** Default: all kinds. */
  kinds?: RandomFaultKind[];
  /** Sent as Retry-After on random 429 and 503 answers when set. */
  retryAfterSeconds?: number;
  /** Upper bound of random delays, and the time a random slowRead spreads the body over. Default 100. */
  maxDelayMs?: number;
}

export type MediaType = 'photo' | 'video' | 'gif' | 'audio';

export interface MediaObject {
  id: string;
  type: MediaType;
  isReady: boolean;
  hasError: boolean;
  createdAt: string;
  files: { full: { url: string; width?: number; height?: number; size: number } };
}

export interface StoredPart {
  partNumber: number;
  /** Quoted md5 hex (of a sample unless hashing is 'full'), as sent to the client. */
  etag: string;
  size: number;
}

/** A snapshot of one upload session, finalized or not. */
export interface StoredMedia {
  mediaUploadId: string;
  filename: string;
  contentType: string;
  /** 'planless' sessions have no parts table: only the single-part PUT finalizes them. */
  uploadType: UploadType | 'planless';
  size: number;
  expiresAt: string;
  /** Parts accepted so far, by part number. */
  parts: StoredPart[];
  completed: boolean;
  /** The media object answered to the client; set once finalized. */
  media?: MediaObject;
  /** sha256 hex of the whole media, in byte order; set once finalized (unless hashing is 'none'). */
  sha256?: string;
  /** The finalized bytes, only with `keepBytes`. */
  bytes?: Buffer;
}

export interface RequestRecord {
  /** 1-based arrival index, counted since start or `reset()`, also over records the log dropped. */
  id: number;
  /** Which server received it: the API origin or the foreign (presigned) part server. */
  server: 'api' | 'foreign';
  method: string;
  /** Path as received, without the query string. */
  path: string;
  route: RouteName;
  partNumber?: number;
  mediaUploadId?: string;
  /** Status sent; 0 while pending and when no answer was sent (reset, hang, client gone). */
  status: number;
  bytesReceived: number;
  /** Label of the injected fault, e.g. 'status:503', 'random:reset@1024'. */
  fault?: string;
  /** Set when the request body ended short or the handler threw. */
  error?: string;
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt?: number;
  /** Lower-cased names; apiKey/authorization values and any occurrence of the key are '[REDACTED]'. */
  headers: Record<string, string>;
  /**
   * The JSON body of init, complete and check as the route understood it (fields its schema does
   * not know are dropped), once it passed that schema; any occurrence of the key is '[REDACTED]'.
   */
  body?: unknown;
}

export interface EmulatorStats {
  initCalls: number;
  partPuts: number;
  singlePuts: number;
  completeCalls: number;
  checkCalls: number;
  activePuts: number;
  maxConcurrentPuts: number;
  faultsInjected: number;
  /** Requests the rate limiter refused (429). */
  rateLimited: number;
  /** apiKey / x-connection-id headers received by the foreign part server. */
  authViolations: number;
  /** Part bytes held right now for in-order hashing (out-of-order or not-yet-next parts). */
  heldBytes: number;
  maxHeldBytes: number;
}

export interface PlanContext {
  size: number;
}

/**
 * OFAuth's per-connection limiter (its "Rate Limiting" page): a token bucket per x-connection-id
 * over every route of the API origin, refilled at `perMinute` a minute up to `burst`. An empty
 * bucket answers 429 at once, before reading the body, as a gateway would.
 */
export interface EmulatorRateLimit {
  /** Tokens refilled per minute (the standard plan: 60). */
  perMinute: number;
  /** Bucket size: requests that may go at once after a pause (the standard plan: 90). Default `perMinute`. */
  burst?: number;
  /**
   * The X-RateLimit-* headers on every answer of the API origin: Limit (`perMinute`), Remaining
   * (whole tokens left), Reset (when the bucket is full again: 'epoch' Unix seconds, or 'delta'
   * seconds from now), or 'none' to send none. Default 'epoch'.
   */
  headers?: 'epoch' | 'delta' | 'none';
  /** Send Retry-After (seconds until a token is back) on refusals. Default false: the docs do not promise it. */
  retryAfter?: boolean;
}

export interface EmulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default DEFAULT_EMULATOR_API_KEY. */
  apiKey?: string;
  /** If set, x-connection-id must equal it; otherwise any non-empty value is accepted. */
  connectionId?: string;
  /** Default 5 MiB. */
  partSize?: number;
  /** Default 'auto': size <= partSize gets a 'single' plan, else 'multipart'. */
  mode?: EmulatorMode | EmulatorModeAlias;
  /** Put multipart uploadUrls on a second server (another origin), presigned-style. */
  foreignOrigin?: boolean;
  /** Keep finalized bytes in memory (small tests only). Default false. */
  keepBytes?: boolean;
  /** Default 'full'. See EmulatorHashing. */
  hashing?: EmulatorHashing;
  /** Plan expiresAt = now + this. Default 3_600_000; negative hands out already-expired plans. */
  expiresInMs?: number;
  /**
   * Maps the plan before it is sent; whatever it returns is sent as JSON. The session is still
   * created from the real plan. Not called in 'planless' mode (use a 'mutate' fault on 'init').
   */
  planTransform?: (plan: InitPlan, ctx: PlanContext) => unknown;
  /** Answer every init with a plan broken this way (see MALFORMED_PLAN_KINDS); planTransform wins if both are set. */
  malformedPlan?: MalformedPlanKind;
  faults?: FaultRule[];
  randomFaults?: RandomFaults;
  /** Added before every response. Default 0. */
  latencyMs?: number;
  /**
   * `requests` keeps only the most recent this many records (a ring), so a long-running emulator
   * does not grow. Default 10_000 (DEFAULT_MAX_REQUEST_LOG); Infinity keeps all.
   */
  maxRequestLog?: number;
  /**
   * A finalized session is forgotten this long after it was finalized, an unfinished one this long
   * after it expired: then its parts, complete and single PUT answer 404 as for an unknown id,
   * `media(id)` is undefined and `check` no longer finds it. Default 300_000 (5 minutes,
   * DEFAULT_FORGET_AFTER_MS); Infinity keeps every session.
   */
  forgetAfterMs?: number;
  /**
   * Parts one session may hold for in-order hashing while an earlier part is missing. A part that
   * would be held beyond this is refused with 503 and `Retry-After: 1`, before its body is stored:
   * the client retries it once the gap may have closed. Default 16 (DEFAULT_MAX_HELD_PARTS);
   * Infinity holds any number. Never applies with hashing 'none' (nothing is held then).
   */
  maxHeldParts?: number;
  /** Model OFAuth's per-connection rate limit. Default: none (every request is served). */
  rateLimit?: EmulatorRateLimit;
}

export interface Emulator {
  /** API base URL, e.g. 'http://127.0.0.1:PORT' (no trailing slash). */
  readonly url: string;
  /** Origin of the foreign part server, when `foreignOrigin`. */
  readonly foreignUrl?: string;
  readonly apiKey: string;
  /** The most recent `maxRequestLog` requests in arrival order (live array; `id` keeps counting). */
  readonly requests: RequestRecord[];
  /** Live counters. */
  readonly stats: EmulatorStats;
  /** Snapshot of a session (finalized or not) by mediaUploadId. */
  media(mediaUploadId: string): StoredMedia | undefined;
  /** Snapshots of every session, in creation order. */
  uploads(): StoredMedia[];
  /** Replace the fault rules; their counters start over. */
  setFaults(rules: FaultRule[]): void;
  /** Clear requests, stats, sessions and fault counters; re-seed random faults. */
  reset(): void;
  /** Close both servers, destroying open sockets (hanging requests included). */
  close(): Promise<void>;
}
