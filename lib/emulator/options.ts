import { MALFORMED_PLAN_KINDS, type MalformedPlanKind } from './malformed-plans';
import type { EmulatorHashing, EmulatorMode, EmulatorOptions, EmulatorRateLimit, FaultRule, InitPlan, PlanContext, RandomFaults } from './types';

export const DEFAULT_EMULATOR_API_KEY = 'emulator-test-key';
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_EXPIRES_IN_MS = 3_600_000;
/** Requests kept in `emulator.requests`: about 5 MB of records, enough for any one test. */
export const DEFAULT_MAX_REQUEST_LOG = 10_000;
/** How long a finalized or expired session is still answered before it is forgotten (404). */
export const DEFAULT_FORGET_AFTER_MS = 5 * 60_000;
/** Parts held per session while an earlier part is missing; more are refused with 503. */
export const DEFAULT_MAX_HELD_PARTS = 16;

export interface ResolvedOptions {
  host: string;
  port: number;
  apiKey: string;
  connectionId: string | undefined;
  partSize: number;
  mode: EmulatorMode;
  foreignOrigin: boolean;
  keepBytes: boolean;
  hashing: EmulatorHashing;
  expiresInMs: number;
  planTransform: ((plan: InitPlan, ctx: PlanContext) => unknown) | undefined;
  malformedPlan: MalformedPlanKind | undefined;
  faults: FaultRule[];
  randomFaults: RandomFaults | undefined;
  latencyMs: number;
  maxRequestLog: number;
  forgetAfterMs: number;
  maxHeldParts: number;
  rateLimit: Required<EmulatorRateLimit> | undefined;
}

const MODES: readonly EmulatorMode[] = ['auto', 'single', 'multipart', 'planless'];
const MODE_ALIASES: Partial<Record<string, EmulatorMode>> = { 'plan-less': 'planless', 'single-finalize': 'single' };
const HASHING: readonly EmulatorHashing[] = ['full', 'sha256', 'none'];

// Misconfiguration must fail at start, loudly, rather than as a confusing protocol answer later.
export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    apiKey: options.apiKey ?? DEFAULT_EMULATOR_API_KEY,
    connectionId: options.connectionId,
    partSize: options.partSize ?? DEFAULT_PART_SIZE,
    mode: MODE_ALIASES[options.mode ?? 'auto'] ?? ((options.mode ?? 'auto') as EmulatorMode),
    foreignOrigin: options.foreignOrigin ?? false,
    keepBytes: options.keepBytes ?? false,
    hashing: options.hashing ?? 'full',
    expiresInMs: options.expiresInMs ?? DEFAULT_EXPIRES_IN_MS,
    planTransform: options.planTransform,
    malformedPlan: options.malformedPlan,
    faults: options.faults ?? [],
    randomFaults: options.randomFaults,
    latencyMs: options.latencyMs ?? 0,
    maxRequestLog: options.maxRequestLog ?? DEFAULT_MAX_REQUEST_LOG,
    forgetAfterMs: options.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS,
    maxHeldParts: options.maxHeldParts ?? DEFAULT_MAX_HELD_PARTS,
    rateLimit: resolveRateLimit(options.rateLimit),
  };
  if (!Number.isSafeInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new TypeError(`emulator: port must be an integer 0..65535, got ${String(options.port)}`);
  }
  if (resolved.apiKey.length === 0) throw new TypeError('emulator: apiKey must be non-empty');
  if (resolved.connectionId !== undefined && resolved.connectionId.length === 0) {
    throw new TypeError('emulator: connectionId, when set, must be non-empty');
  }
  if (!Number.isSafeInteger(resolved.partSize) || resolved.partSize <= 0) {
    throw new TypeError(`emulator: partSize must be a positive integer, got ${String(options.partSize)}`);
  }
  if (!HASHING.includes(resolved.hashing)) throw new TypeError(`emulator: unknown hashing ${String(options.hashing)}`);
  if (resolved.malformedPlan !== undefined && !MALFORMED_PLAN_KINDS.includes(resolved.malformedPlan)) {
    throw new TypeError(`emulator: unknown malformedPlan ${String(options.malformedPlan)}; expected one of ${MALFORMED_PLAN_KINDS.join(', ')}`);
  }
  if (!MODES.includes(resolved.mode)) throw new TypeError(`emulator: unknown mode ${String(options.mode)}`);
  if (!Number.isFinite(resolved.expiresInMs)) throw new TypeError('emulator: expiresInMs must be finite');
  if (!Number.isFinite(resolved.latencyMs) || resolved.latencyMs < 0) {
    throw new TypeError('emulator: latencyMs must be >= 0');
  }
  // The three bounds of a long-running emulator: Infinity turns one off, as before they existed.
  for (const name of ['maxRequestLog', 'forgetAfterMs', 'maxHeldParts'] as const) {
    const value = resolved[name];
    if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 0))) {
      throw new TypeError(`emulator: ${name} must be an integer >= 0 or Infinity, got ${String(options[name])}`);
    }
  }
  return resolved;
}

function resolveRateLimit(limit: EmulatorRateLimit | undefined): Required<EmulatorRateLimit> | undefined {
  if (limit === undefined) return undefined;
  const resolved = { perMinute: limit.perMinute, burst: limit.burst ?? limit.perMinute, headers: limit.headers ?? 'epoch', retryAfter: limit.retryAfter ?? false };
  if (!(Number.isFinite(resolved.perMinute) && resolved.perMinute > 0)) {
    throw new TypeError(`emulator: rateLimit.perMinute must be a number > 0, got ${String(limit.perMinute)}`);
  }
  if (!(Number.isSafeInteger(resolved.burst) && resolved.burst >= 1)) {
    throw new TypeError(`emulator: rateLimit.burst must be an integer >= 1, got ${String(limit.burst)}`);
  }
  if (!['epoch', 'delta', 'none'].includes(resolved.headers)) {
    throw new TypeError(`emulator: rateLimit.headers must be 'epoch', 'delta' or 'none', got ${String(limit.headers)}`);
  }
  if (typeof resolved.retryAfter !== 'boolean') throw new TypeError('emulator: rateLimit.retryAfter must be a boolean');
  return resolved;
}
