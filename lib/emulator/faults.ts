import { mulberry32 } from './prng';
import type { FaultAction, FaultRoute, FaultRule, RandomFaultKind, RandomFaults, RouteName } from './types';

export interface PickedFault {
  action: FaultAction;
  /** What the request record shows, e.g. 'status:503' or 'random:reset@1024'. */
  label: string;
}

export interface FaultTarget {
  route: RouteName;
  partNumber?: number;
  /** Declared body length; random reset/slowRead scale to it. */
  contentLength?: number;
}

const ROUTES: readonly FaultRoute[] = ['init', 'part', 'single', 'complete', 'check', 'any'];
const KNOWN_ROUTES: readonly FaultRoute[] = ['init', 'part', 'single', 'complete', 'check'];
const RANDOM_KINDS: readonly RandomFaultKind[] = ['500', '502', '503', '429', 'reset', 'delay', 'slowRead'];
const DEFAULT_MAX_DELAY_MS = 100;

interface RuleState {
  rule: FaultRule;
  nth: ReadonlySet<number> | undefined;
  seen: number;
  fired: number;
}

/**
 * Decides, per request, which fault (if any) to inject. Explicit rules are checked in order and the
 * first eligible one fires; random faults apply only when no rule fired, so a test can pin a fault
 * on top of a random background without shifting the random sequence's meaning.
 */
export class FaultInjector {
  private rules: RuleState[] = [];
  private rng: () => number;

  constructor(
    rules: FaultRule[],
    private readonly random: RandomFaults | undefined,
  ) {
    if (random) validateRandom(random);
    this.rng = mulberry32(random?.seed ?? 0);
    this.setRules(rules);
  }

  setRules(rules: FaultRule[]): void {
    rules.forEach(validateRule);
    this.rules = rules.map((rule) => ({
      rule,
      nth: rule.nth === undefined ? undefined : new Set(typeof rule.nth === 'number' ? [rule.nth] : rule.nth),
      seen: 0,
      fired: 0,
    }));
  }

  /** Counters start over and the random sequence replays from its seed. */
  reset(): void {
    for (const state of this.rules) {
      state.seen = 0;
      state.fired = 0;
    }
    this.rng = mulberry32(this.random?.seed ?? 0);
  }

  pick(target: FaultTarget): PickedFault | undefined {
    if (target.route === 'unknown') return undefined;
    let chosen: PickedFault | undefined;
    for (const state of this.rules) {
      if (!ruleMatches(state.rule, target)) continue;
      // Every matching request advances every matching rule, so `nth` counts requests, not misses.
      state.seen += 1;
      if (chosen) continue;
      if (state.nth && !state.nth.has(state.seen)) continue;
      if (state.rule.times !== undefined && state.fired >= state.rule.times) continue;
      state.fired += 1;
      chosen = { action: state.rule.action, label: describe(state.rule.action) };
    }
    return chosen ?? this.pickRandom(target);
  }

  private pickRandom(target: FaultTarget): PickedFault | undefined {
    const random = this.random;
    if (!random) return undefined;
    const routes = random.routes ?? KNOWN_ROUTES;
    if (!routes.includes('any') && !routes.includes(target.route as FaultRoute)) return undefined;
    if (this.rng() >= random.rate) return undefined;
    const kinds = random.kinds ?? RANDOM_KINDS;
    const kind = kinds[Math.floor(this.rng() * kinds.length)];
    // Always drawn, so one request consumes the same amount of randomness whatever the kind.
    const param = this.rng();
    if (kind === undefined) return undefined;
    const action = randomAction(kind, param, random, target.contentLength ?? 0);
    return { action, label: `random:${describe(action)}` };
  }
}

function ruleMatches(rule: FaultRule, target: FaultTarget): boolean {
  const route = rule.route ?? 'any';
  if (route !== 'any' && route !== target.route) return false;
  if (rule.partNumber !== undefined && rule.partNumber !== target.partNumber) return false;
  return true;
}

function randomAction(kind: RandomFaultKind, param: number, random: RandomFaults, length: number): FaultAction {
  const maxDelayMs = random.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const retryAfter = random.retryAfterSeconds;
  switch (kind) {
    case '500':
    case '502':
      return { type: 'status', status: Number(kind) };
    case '503':
    case '429':
      return retryAfter === undefined
        ? { type: 'status', status: Number(kind) }
        : { type: 'status', status: Number(kind), retryAfter };
    case 'reset':
      return { type: 'reset', afterBytes: Math.floor(param * length) };
    case 'delay':
      return { type: 'delay', ms: Math.floor(param * maxDelayMs) };
    case 'slowRead':
      // Spread the body over about maxDelayMs, so random slow reads never dominate a test's run time.
      return { type: 'slowRead', bytesPerSecond: Math.max(1024, Math.ceil((length * 1000) / Math.max(1, maxDelayMs))) };
  }
}

export function describe(action: FaultAction): string {
  switch (action.type) {
    case 'status':
      return `status:${action.status}`;
    case 'reset':
      return `reset@${action.afterBytes ?? 0}`;
    case 'delay':
      return `delay:${action.ms}ms`;
    case 'slowRead':
      return `slowRead:${action.bytesPerSecond}B/s`;
    case 'body':
      return `body:${action.status ?? 200}`;
    case 'answerEarly':
      return `answerEarly:${action.status ?? 200}@${action.afterBytes ?? 0}`;
    case 'hang':
    case 'stallBody':
    case 'mutate':
      return action.type;
  }
}

function isPositiveInt(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function validateRule(rule: FaultRule, index: number): void {
  const where = `emulator: faults[${index}]`;
  if (rule.route !== undefined && !ROUTES.includes(rule.route)) throw new TypeError(`${where}: unknown route ${String(rule.route)}`);
  if (rule.partNumber !== undefined && !isPositiveInt(rule.partNumber)) throw new TypeError(`${where}: partNumber must be a positive integer`);
  if (rule.nth !== undefined) {
    const list = typeof rule.nth === 'number' ? [rule.nth] : rule.nth;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isPositiveInt)) {
      throw new TypeError(`${where}: nth must be a positive integer or a non-empty array of them (1-based)`);
    }
  }
  if (rule.times !== undefined && !(Number.isSafeInteger(rule.times) && rule.times >= 0)) {
    throw new TypeError(`${where}: times must be a non-negative integer`);
  }
  validateAction(rule.action, where);
}

function validateAction(action: FaultAction, where: string): void {
  switch (action.type) {
    case 'status':
      if (!Number.isInteger(action.status) || action.status < 100 || action.status > 599) throw new TypeError(`${where}: status must be 100..599`);
      return;
    case 'reset':
      if (action.afterBytes !== undefined && !(Number.isSafeInteger(action.afterBytes) && action.afterBytes >= 0)) {
        throw new TypeError(`${where}: afterBytes must be a non-negative integer`);
      }
      return;
    case 'delay':
      if (!Number.isFinite(action.ms) || action.ms < 0) throw new TypeError(`${where}: delay ms must be >= 0`);
      return;
    case 'slowRead':
      if (!Number.isFinite(action.bytesPerSecond) || action.bytesPerSecond <= 0) throw new TypeError(`${where}: bytesPerSecond must be > 0`);
      return;
    case 'body':
      if (action.status !== undefined && (!Number.isInteger(action.status) || action.status < 100 || action.status > 599)) {
        throw new TypeError(`${where}: status must be 100..599`);
      }
      if (typeof action.body !== 'string') throw new TypeError(`${where}: body must be a string`);
      return;
    case 'mutate':
      if (typeof action.fn !== 'function') throw new TypeError(`${where}: mutate needs fn`);
      return;
    case 'answerEarly':
      if (action.status !== undefined && (!Number.isInteger(action.status) || action.status < 100 || action.status > 599)) {
        throw new TypeError(`${where}: status must be 100..599`);
      }
      if (action.body !== undefined && typeof action.body !== 'string') throw new TypeError(`${where}: body must be a string`);
      if (action.afterBytes !== undefined && !(Number.isSafeInteger(action.afterBytes) && action.afterBytes >= 0)) {
        throw new TypeError(`${where}: afterBytes must be a non-negative integer`);
      }
      return;
    case 'hang':
    case 'stallBody':
      return;
    default:
      throw new TypeError(`${where}: unknown action ${String((action as { type: unknown }).type)}`);
  }
}

function validateRandom(random: RandomFaults): void {
  if (!Number.isFinite(random.seed)) throw new TypeError('emulator: randomFaults.seed must be a number');
  if (!(random.rate >= 0 && random.rate <= 1)) throw new TypeError('emulator: randomFaults.rate must be within 0..1');
  if (random.kinds !== undefined && (random.kinds.length === 0 || !random.kinds.every((k) => RANDOM_KINDS.includes(k)))) {
    throw new TypeError(`emulator: randomFaults.kinds must be a non-empty subset of ${RANDOM_KINDS.join(', ')}`);
  }
  if (random.routes !== undefined && !random.routes.every((r) => ROUTES.includes(r))) {
    throw new TypeError('emulator: randomFaults.routes has an unknown route');
  }
}
