import type { UploadProgress } from '../options';
import { formatBytes, formatClock, mibPerSecond } from './units';

/** 'bar': a live line redrawn in place (a terminal). 'lines': a plain line now and then (logs, CI). */
export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressOutput {
  write(text: string): unknown;
  /** Terminal width; the bar shrinks to fit. */
  columns?: number;
}

export interface ProgressRendererOptions {
  mode: ProgressMode;
  out: ProgressOutput;
  now?: () => number;
  /** Injectable so tests drive the clock; returns a canceller. */
  every?: (ms: number, tick: () => void) => () => void;
  barIntervalMs?: number;
  lineIntervalMs?: number;
}

/** `rate limited: waiting 12 s` while a wait for the rate limit lasts, else undefined. */
export function rateLimitWait(until: number, now: number): string | undefined {
  return until > now ? `rate limited: waiting ${Math.ceil((until - now) / 1000)} s` : undefined;
}

const realEvery = (ms: number, tick: () => void): (() => void) => {
  const timer = setInterval(tick, ms);
  // Progress must never be what keeps the process alive.
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Draws upload progress on a timer rather than on every event: events arrive per socket write
 * (thousands a second), and a stalled upload still needs its rate and ETA to move.
 */
export class ProgressRenderer {
  readonly #mode: ProgressMode;
  readonly #out: ProgressOutput;
  readonly #now: () => number;
  readonly #every: (ms: number, tick: () => void) => () => void;
  readonly #intervalMs: number;
  #startedAt = 0;
  #latest: UploadProgress | undefined;
  /** Bytes spooled so far, while a source of unknown size is read to its end. */
  #spooled: number | undefined;
  #cancel: (() => void) | undefined;
  #drawn = false;
  /** Bytes already in the vault when this run started (a resumed upload): not this run's rate. */
  #baseline = 0;
  /** Until when the connection's rate limit holds a request of this upload (epoch ms). */
  #rateLimitedUntil = 0;

  constructor(options: ProgressRendererOptions) {
    this.#mode = options.mode;
    this.#out = options.out;
    this.#now = options.now ?? Date.now;
    this.#every = options.every ?? realEvery;
    this.#intervalMs = options.mode === 'bar' ? (options.barIntervalMs ?? 100) : (options.lineIntervalMs ?? 5000);
  }

  /** `totalBytes` undefined: the size is unknown and the source is spooled first (see `spooled`). */
  start(totalBytes: number | undefined): void {
    this.#startedAt = this.#now();
    if (totalBytes === undefined) this.#spooled = 0;
    else this.#latest = { bytesUploaded: 0, totalBytes, partsCompleted: 0, totalParts: 0 };
    if (this.#mode !== 'off') this.#cancel = this.#every(this.#intervalMs, () => this.#tick());
  }

  /** While spooling: how much of the source of unknown size has been read. */
  spooled(bytes: number): void {
    this.#spooled = bytes;
  }

  /** The spooled source ended: its size is known, and the upload itself starts now. */
  beginUpload(totalBytes: number): void {
    this.#startedAt = this.#now();
    this.#latest = { bytesUploaded: 0, totalBytes, partsCompleted: 0, totalParts: 0 };
  }

  /** A resumed upload: its first `bytes` were sent by an earlier run, so the rate and ETA leave them out. */
  resumedFrom(bytes: number): void {
    this.#baseline = bytes;
    this.#startedAt = this.#now();
  }

  /** What to write before a notice line, so it does not land in the middle of the bar. */
  clearLine(): string {
    if (this.#mode !== 'bar' || !this.#drawn) return '';
    this.#drawn = false;
    return '\r\x1b[K';
  }

  update(progress: UploadProgress): void {
    this.#latest = progress;
  }

  /** A request waits `waitMs` for the connection's rate limit: said in the line until then. */
  rateLimited(waitMs: number): void {
    this.#rateLimitedUntil = Math.max(this.#rateLimitedUntil, this.#now() + waitMs);
  }

  /** Success: the bar is drawn full and the line ended, so what follows starts on its own line. */
  finish(): void {
    this.#stop();
    if (this.#mode === 'bar' && this.#latest) this.#out.write(`\r${this.#barLine({ ...this.#latest, bytesUploaded: this.#latest.totalBytes })}\n`);
  }

  /** Failure or abort: leave the partial bar visible and move to a fresh line for the error. */
  abandon(): void {
    this.#stop();
    if (this.#mode === 'bar' && this.#drawn) this.#out.write('\n');
  }

  #stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #tick(): void {
    const p = this.#latest;
    if (!p) {
      if (this.#spooled !== undefined) this.#draw(this.#spoolLine(this.#spooled));
      return;
    }
    if (this.#mode === 'bar') {
      // \r + erase-to-end: redraw in place without leaving the tail of a longer previous line.
      this.#out.write(`\r${this.#barLine(p)}\x1b[K`);
      this.#drawn = true;
    } else {
      this.#out.write(`${this.#stats(p).join(', ')}\n`);
    }
  }

  #draw(line: string): void {
    if (this.#mode === 'bar') {
      this.#out.write(`\r${line}\x1b[K`);
      this.#drawn = true;
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  #spoolLine(bytes: number): string {
    const rate = mibPerSecond(bytes, this.#now() - this.#startedAt);
    return `buffering ${formatBytes(bytes)} (size unknown)… ${rate.toFixed(1)} MiB/s`;
  }

  #stats(p: UploadProgress): string[] {
    const elapsed = this.#now() - this.#startedAt;
    const rate = mibPerSecond(Math.max(0, p.bytesUploaded - this.#baseline), elapsed);
    const percent = p.totalBytes > 0 ? Math.floor((p.bytesUploaded / p.totalBytes) * 100) : 0;
    const remaining = p.totalBytes - p.bytesUploaded;
    const eta = remaining === 0 ? '0:00' : rate > 0 ? formatClock(remaining / (rate * 1024 ** 2)) : '--:--';
    const stats = [`${String(percent).padStart(3)}%`, `${formatBytes(p.bytesUploaded)} / ${formatBytes(p.totalBytes)}`, `${rate.toFixed(1)} MiB/s`, `ETA ${eta}`];
    const waiting = rateLimitWait(this.#rateLimitedUntil, this.#now());
    return waiting === undefined ? stats : [...stats, waiting];
  }

  #barLine(p: UploadProgress): string {
    const text = this.#stats(p).join('  ');
    const width = Math.max(10, Math.min(40, (this.#out.columns || 80) - text.length - 4));
    const filled = p.totalBytes > 0 ? Math.round((p.bytesUploaded / p.totalBytes) * width) : 0;
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${text}`;
  }
}
