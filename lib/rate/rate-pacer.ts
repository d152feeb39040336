import type { IncomingHttpHeaders } from 'node:http';
import { type RateHeaders, readRateHeaders } from './rate-headers';

/** Time as the pacer sees it; a test gives it a clock of its own. */
export interface PacerClock {
  /** The current time, in ms (as `Date.now()`). */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; the returned function cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

const systemClock: PacerClock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** One request's permission to start: what the pacer needs to read its answer. */
export interface RateGrant {
  /** The grant's place in the order the pacer gave them, from 1. */
  readonly seq: number;
  /** When it was given, on the pacer's clock (ms). */
  readonly startedAt: number;
  /** How long the request waited for it, in ms. */
  readonly waitedMs: number;
}

/** What a request that has to wait is told before it waits (`take`'s `onWait`). */
export interface PacerWait {
  /** How long the pacer expects the wait to be, in ms: an estimate, which answers that come in meanwhile may shorten or lengthen. */
  waitMs: number;
  /** Whole requests the pacer believes are left in the bucket (0 when it waits), if it knows. */
  remaining: number | undefined;
}

/** The options of `new RatePacer(options)`. */
export interface RatePacerOptions {
  /**
   * The refill rate assumed until the server's answers tell the real one, in requests per
   * minute: a finite number > 0 (else the constructor throws a `TypeError`).
   *
   * @defaultValue `60` (OFAuth's standard plan)
   */
  assumedPerMinute?: number | undefined;
  /**
   * The longest `Retry-After` a 429 may hold the connection for, in ms, when `observe` is given
   * none (the uploads of this package always give their own `retryAfterMax` option).
   *
   * @defaultValue `60_000` (ms)
   */
  retryAfterMax?: number | undefined;
  /**
   * For tests: the pacer's clock.
   *
   * @defaultValue the system's (`Date.now()` and `setTimeout`)
   */
  clock?: PacerClock | undefined;
}

interface Waiter {
  resolve: (grant: RateGrant) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
  enqueuedAt: number;
  onWait: ((wait: PacerWait) => void) | undefined;
  told: boolean;
}

interface GrantRecord {
  seq: number;
  startedAt: number;
  answered: boolean;
  /** undefined until answered; a 429 took no token from the server's bucket. */
  refused?: boolean;
}



/** An X-RateLimit-Remaining reading, kept to measure the refill rate over a span of time. */
interface Anchor {
  at: number;
  remaining: number;
  /** Grants the server counted up to and including this one (refusals take no token). */
  taken: number;
}

/** A rate measured over less than this is too coarse (Remaining is a whole number). */
const MIN_SPAN_MS = 2_000;
/** Anchors older than this are dropped: the plan (or other clients' share) may change. */
const MAX_SPAN_MS = 120_000;
const GRANT_HISTORY = 512;
/**
 * While nothing is known of the bucket (no Remaining header, no refusal yet), the requests of
 * several uploads started together would all be refused at once when it runs dry, before the
 * first refusal could tell: until then no more are let out at once than one upload asked for
 * (its concurrency). After this many went through with no sign of a limit, none is assumed.
 */
const UNLIMITED_AFTER = 50;
/** Start times kept per epoch: enough for the first probe, which is all they serve. */
const EPOCH_ACCEPTS = 1024;
/** A grant unanswered this long no longer counts as outstanding (its request was lost to us). */
const OUTSTANDING_MS = 120_000;

/**
 * Paces the requests of one OFAuth connection (a token bucket on the server: refilled at some
 * rate, up to some burst; an empty bucket answers 429). Every request of every upload on the
 * connection takes a grant before it starts, in the order they asked; no grant is given while the
 * pacer believes the bucket is empty. It assumes no meaning of the rate-limit headers it cannot
 * check, and learns the bucket from what happens:
 *
 * - `X-RateLimit-Remaining` is the bucket's level when the server counted that request: the
 *   level is re-anchored there, less the requests granted since, so nothing starts into an empty
 *   bucket. Two readings some seconds apart give the refill rate (what came back over the span,
 *   plus what was taken in it).
 * - `X-RateLimit-Reset` (time to a full bucket, read as a Unix time or seconds from now by its
 *   size) gives a first rate, until the readings above replace it.
 * - `Retry-After` holds every request until it has passed.
 * - With no header at all, 429s alone: the first one means the bucket is empty (its size is what
 *   went through before it); after it, every request that went through bounds the rate from below
 *   and every refusal from above ((accepted ± 1) / time since the first refusal), and the pacer
 *   runs between the two, nearer the lower, so refusals stay rare as the bounds close in.
 */
export class RatePacer {
  readonly #clock: PacerClock;
  readonly #retryAfterMax: number;
  readonly #assumedPerMs: number;
  readonly #queue: Waiter[] = [];
  #cancelTimer: (() => void) | undefined;
  #seq = 0;
  readonly #grants: GrantRecord[] = [];
  /** Refusals among grants dropped from #grants (all older than any kept). */
  #prunedRefusals = 0;

  /** Tokens believed in the bucket at #levelAt; Infinity until anything was learned. */
  #level = Number.POSITIVE_INFINITY;
  #levelAt = 0;
  /** Refill per ms, once known (else #assumedPerMs is used while waiting). */
  #rate: number | undefined;
  /** The bucket's size, once seen (the highest Remaining + 1, or what went through before the first 429). */
  #capacity: number | undefined;
  #blockedUntil = 0;
  #usedAt: number;

  // Remaining-based learning.
  #anchors: Anchor[] = [];
  #sawRemaining = false;
  #rateFromSpan = false;

  // 429-based learning (no Remaining header).
  #epochAt: number | undefined;
  /** The epoch began knowing nothing of the rate (so its first probe may have lost tokens to a full bucket). */
  #epochFromDark = true;
  /** When the epoch's first refusal was seen: requests started before then were not paced by it. */
  #epochKnownAt = 0;
  /** The rate believed when the epoch began: where probing starts from. */
  #epochPrior = 0;
  /** The bucket may have filled since the epoch began (tokens past the burst were lost): the next refusal starts a new one. */
  #epochStale = false;
  #acceptedInEpoch = 0;
  /** When the requests that went through in this epoch started (for #couldHaveFilled). */
  #epochAccepts: number[] = [];
  #lower = 0;
  #upper = Number.POSITIVE_INFINITY;
  #acceptedBeforeFirstRefusal = 0;

  /** The most one requester asked to have out at once: the cap while the bucket is unknown. */
  #window = 1;
  #known = false;

  constructor(options: RatePacerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#usedAt = this.#clock.now();
    this.#retryAfterMax = options.retryAfterMax ?? 60_000;
    const perMinute = options.assumedPerMinute ?? 60;
    if (!(Number.isFinite(perMinute) && perMinute > 0)) throw new TypeError(`RatePacer: assumedPerMinute must be a number > 0, got ${String(perMinute)}`);
    this.#assumedPerMs = perMinute / 60_000;
  }

  /**
   * How long nothing has been asked of or told to this pacer, in ms (0 while a request waits or
   * is out): the process's registry forgets pacers idle for long, so a server that served
   * thousands of connections does not keep one for each forever.
   */
  idleFor(now = this.#clock.now()): number {
    if (this.#queue.length > 0 || this.#outstanding(now) > 0) return 0;
    return Math.max(0, now - this.#usedAt);
  }

  /** What the pacer believes now (for diagnostics and tests). */
  get estimate(): { perMinute: number | undefined; burst: number | undefined; level: number; waiting: number } {
    return {
      perMinute: this.#rate === undefined ? undefined : this.#rate * 60_000,
      burst: this.#capacity,
      level: this.#levelNow(this.#clock.now()),
      waiting: this.#queue.length,
    };
  }

  /**
   * Resolves with a grant once a request may start (at once when the bucket is believed to hold
   * a token and nobody is ahead); rejects with the signal's reason as soon as it aborts.
   * `onWait` is called once, before a wait, with its expected length. `concurrency`: how many
   * requests the caller keeps going at once. Every grant must be given back to `observe`.
   */
  take(signal: AbortSignal, onWait?: (wait: PacerWait) => void, concurrency = 1): Promise<RateGrant> {
    if (signal.aborted) return Promise.reject(signal.reason);
    this.#window = Math.max(this.#window, concurrency);
    return new Promise<RateGrant>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        enqueuedAt: this.#clock.now(),
        onWait,
        told: false,
        onAbort: () => {
          const at = this.#queue.indexOf(waiter);
          if (at < 0) return;
          this.#queue.splice(at, 1);
          reject(signal.reason);
          this.#reschedule();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /**
   * What the server answered to a granted request: its status and headers, or undefined when no
   * answer came (a network error: nothing is learned). Returns whether the limit refused it.
   * `retryAfterMax`: the longest Retry-After this caller honours.
   */
  observe(grant: RateGrant, answer: { status: number; headers: IncomingHttpHeaders } | undefined, retryAfterMax = this.#retryAfterMax): { refused: boolean; headers: RateHeaders } {
    const record = this.#grants.find((g) => g.seq === grant.seq);
    if (record !== undefined) record.answered = true;
    this.#usedAt = this.#clock.now();
    if (answer === undefined) {
      this.#reschedule();
      return { refused: false, headers: {} };
    }
    const now = this.#clock.now();
    const headers = readRateHeaders(answer.headers, retryAfterMax, now);
    const refused = answer.status === 429;
    if (record !== undefined) record.refused = refused;
    if (headers.remaining !== undefined || refused || (!this.#known && ++this.#acceptedBeforeFirstRefusal >= UNLIMITED_AFTER)) this.#known = true;
    // A refusal's Retry-After holds every request of the connection (another status's is that
    // request's own business: its retry waits for it).
    if (refused && headers.retryAfterMs !== undefined) this.#blockedUntil = Math.max(this.#blockedUntil, now + headers.retryAfterMs);
    // Requests granted after this one were counted after it (if at all): its reading is the level
    // before them. One granted before it but still unanswered may have reached the server after it
    // (a slower connection, a new one still in its handshake): then this reading is too high by
    // that one, so it may only lower the level the pacer believes, never raise it.
    const later = this.#grants.filter((g) => g.seq > grant.seq && g.refused !== true).length;
    const overtaken = this.#grants.some((g) => g.seq < grant.seq && !g.answered);
    if (headers.remaining !== undefined) {
      this.#sawRemaining = true;
      // The bucket held at least this one and what is left (a refusal took nothing: no news).
      if (!refused) this.#capacity = Math.max(this.#capacity ?? 0, headers.remaining + 1);
      const level = headers.remaining - later;
      if (!overtaken || level + (this.#rate ?? this.#assumedPerMs) * (now - grant.startedAt) < this.#levelNow(now)) this.#anchor(grant, level);
      if (!refused) this.#learnFromRemaining(grant, headers.remaining);
      if (!this.#rateFromSpan && headers.resetMs !== undefined && headers.resetMs > 0 && this.#capacity !== undefined && this.#capacity - headers.remaining >= 1) {
        // Time to a full bucket: a first rate, until two Remaining readings measure it.
        this.#rate = (this.#capacity - headers.remaining) / headers.resetMs;
      }
    } else if (refused) {
      this.#anchor(grant, 0 - later);
    } else if (this.#levelNow(now) < -later) {
      // It went through, so the bucket held a token for it: never believe less than that.
      this.#anchor(grant, 0 - later);
    }
    if (!this.#sawRemaining) this.#learnFromOutcome(grant, refused);
    this.#reschedule();
    return { refused, headers };
  }

  /** The bucket held `level` tokens just after `grant` was counted. */
  #anchor(grant: RateGrant, level: number): void {
    this.#level = level;
    this.#levelAt = grant.startedAt;
  }

  #learnFromRemaining(grant: RateGrant, remaining: number): void {
    const taken = this.#takenUpTo(grant.seq);
    const now: Anchor = { at: grant.startedAt, remaining, taken };
    this.#anchors = this.#anchors.filter((a) => now.at - a.at <= MAX_SPAN_MS);
    // A reading at a full bucket says nothing of the rate: tokens past the burst are lost.
    const notFull = (a: Anchor) => this.#capacity === undefined || a.remaining < this.#capacity - 1;
    if (notFull(now)) {
      const from = this.#anchors.find((a) => notFull(a) && now.at - a.at >= MIN_SPAN_MS);
      if (from !== undefined) {
        // Remaining is a whole number, so the tokens that came back are known to ±1: take the
        // lower end. Pacing a little slow costs little (the next reading re-anchors the level and
        // frees what came back); pacing fast would run into the empty bucket.
        const refilled = now.remaining - from.remaining + (now.taken - from.taken) - 1;
        if (refilled > 0) {
          this.#rate = refilled / (now.at - from.at);
          this.#rateFromSpan = true;
        }
      }
      this.#anchors.push(now);
    } else {
      // A full bucket starts a new span: what came before it was capped.
      this.#anchors = [];
    }
  }

  /** Grants up to `seq` that took a token (all but the refused ones). */
  #takenUpTo(seq: number): number {
    const refusedBefore = this.#grants.filter((g) => g.seq <= seq && g.refused === true).length;
    return seq - refusedBefore - this.#prunedRefusals;
  }

  #learnFromOutcome(grant: RateGrant, refused: boolean): void {
    // A refusal that ends the first probe of an epoch begun in the dark (the first ever, or after
    // the bucket may have filled): if that probe ran so far below the real rate that the bucket
    // could have filled and lost tokens, (accepted + 1) / time is no upper bound. The bucket is
    // empty now: a new epoch starts here.
    const probeEnded =
      refused &&
      this.#epochAt !== undefined &&
      this.#epochFromDark &&
      !Number.isFinite(this.#upper) &&
      grant.startedAt >= this.#epochKnownAt &&
      this.#couldHaveFilled(grant.startedAt);
    if (this.#epochAt === undefined || (refused && this.#epochStale) || probeEnded) {
      if (!refused) return;
      this.#epochFromDark = !probeEnded;
      // The bucket is empty now: what went through since we started is about its size. From
      // here, with demand all along, (accepted ± 1) / time bounds the rate.
      this.#capacity ??= Math.max(1, this.#acceptedBeforeFirstRefusal);
      // After a probe: the rate it proved (a lower bound, whatever the bucket lost), from which a
      // new probe soon finds the real one with little lost.
      this.#epochPrior = probeEnded ? (this.#lower > 0 ? this.#lower : (this.#rate ?? this.#assumedPerMs) / 2) : (this.#rate ?? this.#assumedPerMs);
      this.#rate = this.#epochPrior;
      this.#epochAt = grant.startedAt;
      this.#epochKnownAt = this.#clock.now();
      this.#epochStale = false;
      this.#acceptedInEpoch = 0;
      this.#epochAccepts = [];
      this.#lower = 0;
      this.#upper = Number.POSITIVE_INFINITY;
      return;
    }
    const span = grant.startedAt - this.#epochAt;
    if (span <= 0) return;
    if (refused) {
      // One already on its way when the epoch's first refusal came says nothing of the rate.
      if (grant.startedAt < this.#epochKnownAt) return;
      this.#upper = Math.min(this.#upper, (this.#acceptedInEpoch + 1) / span);
    } else {
      this.#acceptedInEpoch++;
      if (this.#epochAccepts.length < EPOCH_ACCEPTS) this.#epochAccepts.push(grant.startedAt);
      this.#lower = Math.max(this.#lower, (this.#acceptedInEpoch - 1) / span);
    }
    const rate = this.#rate ?? this.#epochPrior;
    if (!Number.isFinite(this.#upper)) {
      // No refusal since the epoch began: probe upwards, half again per request that went
      // through, so a bucket faster than the prior (or no bucket at all: a passing overload) is
      // found within a few seconds; the next refusal bounds it.
      // After a first probe, the prior is a proven rate near the real one: creep, not leap.
      const step = this.#epochFromDark ? 1.5 : 1.15;
      if (!refused) this.#rate = Math.max(rate * step, this.#lower * step);
      return;
    }
    // Between the bounds, nearer the lower; never more than half again the best proven rate (or
    // the prior), so a loose bound (a refusal just after the epoch began) sends no burst.
    // Below the upper bound by a tenth as well: pacing converges towards it, and a bound a few
    // per cent above the real rate would otherwise cost a refusal every so often.
    const ceiling = Math.max(this.#epochPrior, this.#lower * 1.5);
    const upper = Math.max(this.#upper, this.#lower);
    this.#rate = Math.min(ceiling, Math.max(this.#lower, 0.9 * upper), this.#lower + 0.35 * (upper - this.#lower));
  }

  /**
   * Whether, were the rate as high as this refusal allows ((accepted + 1) / time since the epoch
   * began), the bucket would have held its whole size at some moment of the epoch: then tokens may
   * have been lost, and that bound cannot be trusted.
   */
  #couldHaveFilled(refusedAt: number): boolean {
    const from = this.#epochAt ?? refusedAt;
    const span = refusedAt - from;
    if (span <= 0 || this.#capacity === undefined) return true;
    const upper = (this.#acceptedInEpoch + 1) / span;
    const accepts = [...this.#epochAccepts].sort((a, b) => a - b);
    let most = upper * span - this.#acceptedInEpoch;
    accepts.forEach((at, before) => (most = Math.max(most, upper * (at - from) - before)));
    return most >= this.#capacity - 1;
  }

  #levelNow(now: number): number {
    // Until the rate is learned, the assumed one refills (what the wait was computed with).
    const rate = this.#rate ?? this.#assumedPerMs;
    const refilled = this.#level + rate * Math.max(0, now - this.#levelAt);
    return Math.min(this.#capacity ?? Number.POSITIVE_INFINITY, refilled);
  }

  /** How long the next request must wait, in ms (0: it may start now). */
  #waitMs(now: number): number | 'answer' {
    if (now < this.#blockedUntil) return this.#blockedUntil - now;
    if (!this.#known && this.#outstanding(now) >= this.#window) return 'answer';
    const level = this.#levelNow(now);
    if (level >= 1) return 0;
    const rate = this.#rate ?? this.#assumedPerMs;
    return Math.max(1, Math.ceil((1 - level) / rate));
  }

  #outstanding(now: number): number {
    return this.#grants.filter((g) => !g.answered && now - g.startedAt < OUTSTANDING_MS).length;
  }

  #reschedule(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#pump();
  }

  #pump(): void {
    if (this.#cancelTimer !== undefined) return;
    // Bounded: each round grants one waiter or sets a timer and stops.
    for (let round = 0; round <= this.#queue.length; round++) {
      const head = this.#queue[0];
      if (head === undefined) return;
      const now = this.#clock.now();
      const wait = this.#waitMs(now);
      if (wait === 'answer') {
        // Until an answer comes in (`observe` pumps again), or the oldest grant stops counting.
        const oldest = Math.min(...this.#grants.filter((g) => !g.answered).map((g) => g.startedAt));
        this.#cancelTimer = this.#clock.setTimer(() => {
          this.#cancelTimer = undefined;
          this.#pump();
        }, Math.max(1, oldest + OUTSTANDING_MS - now));
        return;
      }
      if (wait > 0) {
        for (const waiter of this.#queue) this.#tell(waiter, wait);
        this.#cancelTimer = this.#clock.setTimer(() => {
          this.#cancelTimer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      head.signal.removeEventListener('abort', head.onAbort);
      this.#grant(head, now);
    }
  }

  #tell(waiter: Waiter, wait: number): void {
    if (waiter.told || waiter.onWait === undefined) return;
    waiter.told = true;
    const level = this.#levelNow(this.#clock.now());
    try {
      waiter.onWait({ waitMs: wait, remaining: Number.isFinite(level) ? Math.max(0, Math.floor(level)) : undefined });
    } catch {
      // A listener's failure is the listener's: pacing goes on.
    }
  }

  #grant(waiter: Waiter, now: number): void {
    const level = this.#levelNow(now);
    if (this.#capacity !== undefined && level >= this.#capacity) this.#epochStale = true;
    this.#level = level - 1;
    this.#levelAt = now;
    const grant: RateGrant = { seq: ++this.#seq, startedAt: now, waitedMs: now - waiter.enqueuedAt };
    this.#grants.push({ seq: grant.seq, startedAt: now, answered: false });
    // Only recent grants matter (what was counted after what, what is still out): keep a few
    // minutes' worth, and never more than GRANT_HISTORY.
    let drop = Math.max(0, this.#grants.length - GRANT_HISTORY);
    while (drop < this.#grants.length && this.#grants[drop]!.answered && now - this.#grants[drop]!.startedAt > OUTSTANDING_MS) drop++;
    for (const old of this.#grants.splice(0, drop)) if (old.refused === true) this.#prunedRefusals++;
    this.#usedAt = now;
    waiter.resolve(grant);
  }
}
