import type { IncomingMessage } from 'node:http';
import { REDACTED, redactSecrets } from '../redact';
import type { HeldBytesMeter } from './ordered-hasher';
import type { RouteMatch, ServerKind } from './router';
import type { EmulatorStats, RequestRecord } from './types';

const SECRET_HEADERS = new Set(['apikey', 'authorization', 'proxy-authorization', 'cookie']);

function zeroStats(): EmulatorStats {
  return {
    initCalls: 0,
    partPuts: 0,
    singlePuts: 0,
    completeCalls: 0,
    checkCalls: 0,
    activePuts: 0,
    maxConcurrentPuts: 0,
    faultsInjected: 0,
    rateLimited: 0,
    authViolations: 0,
    heldBytes: 0,
    maxHeldBytes: 0,
  };
}

/**
 * The emulator's observable side: the request log and the counters, mutated in place. The log is
 * a ring of the most recent `maxRequests` records: one array, trimmed from the front as it grows,
 * so `requests` stays the same live array and a long-running emulator stays bounded.
 */
export class Recorder implements HeldBytesMeter {
  readonly requests: RequestRecord[] = [];
  readonly stats: EmulatorStats = zeroStats();
  private nextId = 1;

  constructor(
    private readonly apiKey: string,
    private readonly maxRequests: number,
  ) {}

  begin(req: IncomingMessage, server: ServerKind, match: RouteMatch): RequestRecord {
    const record: RequestRecord = {
      id: this.nextId,
      server,
      method: req.method ?? '',
      path: match.path,
      route: match.route,
      status: 0,
      bytesReceived: 0,
      startedAt: Date.now(),
      headers: this.redactHeaders(req),
    };
    this.nextId += 1;
    if (match.partNumber !== undefined) record.partNumber = match.partNumber;
    if (match.mediaUploadId !== undefined) record.mediaUploadId = match.mediaUploadId;
    this.log(record);
    const stats = this.stats;
    if (match.route === 'init') stats.initCalls += 1;
    else if (match.route === 'part') stats.partPuts += 1;
    else if (match.route === 'single') stats.singlePuts += 1;
    else if (match.route === 'complete') stats.completeCalls += 1;
    else if (match.route === 'check') stats.checkCalls += 1;
    return record;
  }

  private log(record: RequestRecord): void {
    if (this.maxRequests === 0) return;
    this.requests.push(record);
    // One record in, one out: shift() on a full ring is cheap next to handling a request.
    if (this.requests.length > this.maxRequests) this.requests.shift();
  }

  /** Counts a PUT as active until the returned function is called (idempotent). */
  putStarted(): () => void {
    const stats = this.stats;
    stats.activePuts += 1;
    stats.maxConcurrentPuts = Math.max(stats.maxConcurrentPuts, stats.activePuts);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      stats.activePuts -= 1;
    };
  }

  hold(bytes: number): void {
    this.stats.heldBytes += bytes;
    this.stats.maxHeldBytes = Math.max(this.stats.maxHeldBytes, this.stats.heldBytes);
  }

  release(bytes: number): void {
    this.stats.heldBytes -= bytes;
  }

  reset(): void {
    this.requests.length = 0;
    this.nextId = 1;
    // Requests still in flight will release their PUT slot and held bytes later; keep those
    // gauges so they return to zero instead of going negative.
    const { activePuts, heldBytes } = this.stats;
    Object.assign(this.stats, zeroStats(), { activePuts, maxConcurrentPuts: activePuts, heldBytes, maxHeldBytes: heldBytes });
  }

  /** A JSON request body for the log: every string with the key redacted, as in the headers. */
  redactJson(value: unknown): unknown {
    if (typeof value === 'string') return redactSecrets(value, [this.apiKey]);
    if (Array.isArray(value)) return value.map((item) => this.redactJson(item));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [redactSecrets(key, [this.apiKey]), this.redactJson(item)]));
    }
    return value;
  }

  private redactHeaders(req: IncomingMessage): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      const text = Array.isArray(value) ? value.join(', ') : value;
      headers[name] = SECRET_HEADERS.has(name) ? REDACTED : redactSecrets(text, [this.apiKey]);
    }
    return headers;
  }
}
