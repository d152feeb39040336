import type { UploadProgress } from '../../options';
import type { Output, OutputStreams } from '../output';
import type { SourceItem } from '../sources/source-item';
import type { UploadEvents } from '../sources/stream-to-vault';
import { rateLimitWait } from '../progress-renderer';
import { formatBytes, formatClock, mibPerSecond } from '../units';
import { resumeNotice } from '../resume-notice';
import { LiveBlock } from './live-block';
import { type BatchTotals, type SourceOutcome, knownSize } from './outcome';
import { outcomeLine, outcomeRecord, problemLine, totalsLine, totalsRecord } from './records';
import type { Reporter } from './reporter';

/** 'live': a line per running upload and a total line, redrawn in place (a terminal); 'lines': a line per finished source. */
export type BatchMode = 'live' | 'lines';

export interface BatchReporterOptions {
  mode: BatchMode;
  now?: () => number;
  /** Injectable so tests drive the redraws; returns a canceller. */
  every?: (ms: number, tick: () => void) => () => void;
  intervalMs?: number;
}

interface Row {
  item: SourceItem;
  name: string;
  size: number | undefined;
  /** Bytes read so far while a source of unknown size is spooled. */
  spooled: number | undefined;
  progress: UploadProgress | undefined;
  startedAt: number;
  /** Until when the connection's rate limit holds a request of this upload (epoch ms). */
  rateLimitedUntil: number;
}

const realEvery = (ms: number, tick: () => void): (() => void) => {
  const timer = setInterval(tick, ms);
  // Progress must never be what keeps the process alive.
  timer.unref();
  return () => clearInterval(timer);
};

const BAR = 16;

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR, Math.round((done / total) * BAR)) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}`;
}

/**
 * Many sources: each finished one gets a line (stdout; failures on stderr), or a JSON line with
 * --json, then a summary. On a terminal, the running uploads and the totals are drawn live below
 * those lines on stderr, every 100 ms (not per event: events come per socket write).
 */
export class BatchReporter implements Reporter {
  readonly #out: Output;
  readonly #block: LiveBlock | undefined;
  readonly #now: () => number;
  readonly #every: (ms: number, tick: () => void) => () => void;
  readonly #intervalMs: number;
  readonly #rows = new Map<SourceItem, Row>();
  readonly #pending = new Set<SourceItem>();
  #cancelTimer: (() => void) | undefined;
  #startedAt = 0;
  #count = 0;
  #done = 0;
  #failed = 0;
  #skipped = 0;
  /** Bytes of the finished uploads. */
  #doneBytes = 0;

  constructor(out: Output, streams: OutputStreams, options: BatchReporterOptions) {
    this.#out = out;
    this.#block = options.mode === 'live' ? new LiveBlock(streams.stderr) : undefined;
    this.#now = options.now ?? Date.now;
    this.#every = options.every ?? realEvery;
    this.#intervalMs = options.intervalMs ?? 100;
  }

  begin(items: readonly SourceItem[]): void {
    this.#startedAt = this.#now();
    this.#count = items.length;
    for (const item of items) this.#pending.add(item);
    if (this.#block !== undefined) this.#cancelTimer = this.#every(this.#intervalMs, () => this.#redraw());
  }

  started(item: SourceItem): UploadEvents {
    this.#pending.delete(item);
    const row: Row = { item, name: item.source, size: knownSize(item), spooled: undefined, progress: undefined, startedAt: this.#now(), rateLimitedUntil: 0 };
    this.#rows.set(item, row);
    return {
      opened: (filename, size) => {
        row.size = size;
        if (size === undefined) row.spooled = 0;
        // A download is named by the source; its filename says what the vault will call it.
        if (item.kind === 'url' || item.kind === 'stdin') row.name = `${item.source} → ${filename}`;
      },
      spooled: (bytes) => (row.spooled = bytes),
      uploading: (total) => {
        row.size = total;
        row.spooled = undefined;
      },
      progress: (p) => (row.progress = p),
      session: () => undefined,
      resumed: (info) => {
        this.#block?.clear();
        this.#out.notice(`${item.source}: ${resumeNotice(info)}`);
        this.#redraw();
      },
      rateLimited: (event) => (row.rateLimitedUntil = Math.max(row.rateLimitedUntil, this.#now() + event.waitMs)),
    };
  }

  finished(outcome: SourceOutcome): void {
    this.#pending.delete(outcome.item);
    this.#rows.delete(outcome.item);
    if (outcome.type === 'uploaded') this.#doneBytes += outcome.summary.bytes;
    if (outcome.type === 'skipped') this.#skipped++;
    else if (outcome.type === 'uploaded' && outcome.summary.ok) this.#done++;
    else this.#failed++;
    this.#block?.clear();
    const problem = problemLine(outcome);
    if (this.#out.json) this.#out.result('', outcomeRecord(outcome));
    else if (outcome.type === 'uploaded' || outcome.type === 'skipped') {
      if (outcome.type === 'skipped' || outcome.summary.ok) this.#out.result(`${outcomeLine(outcome)}\n`, {});
    }
    if (problem !== undefined && !this.#out.json) this.#out.problem(problem);
    this.#redraw();
  }

  notice(line: string): void {
    this.#block?.clear();
    this.#out.notice(line);
    this.#redraw();
  }

  end(totals: BatchTotals): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#block?.clear();
    this.#out.result(`${totalsLine(totals)}\n`, totalsRecord(totals));
  }

  #redraw(): void {
    if (this.#block === undefined || this.#cancelTimer === undefined) return;
    this.#block.draw([...[...this.#rows.values()].map((row) => this.#rowLine(row)), this.#totalLine()]);
  }

  #rowLine(row: Row): string {
    const width = Math.min(40, Math.max(...[...this.#rows.values()].map((r) => r.name.length)));
    const name = row.name.length > width ? `…${row.name.slice(-(width - 1))}` : row.name.padEnd(width);
    if (row.spooled !== undefined) return `  ${name}  buffering ${formatBytes(row.spooled)} (size unknown)`;
    const p = row.progress;
    if (p === undefined || row.size === undefined) return `  ${name}  starting…`;
    const percent = p.totalBytes > 0 ? Math.floor((p.bytesUploaded / p.totalBytes) * 100) : 0;
    const rate = mibPerSecond(p.bytesUploaded, this.#now() - row.startedAt);
    const waiting = rateLimitWait(row.rateLimitedUntil, this.#now());
    return `  ${name}  ${bar(p.bytesUploaded, p.totalBytes)} ${String(percent).padStart(3)}%  ${formatBytes(p.bytesUploaded)} / ${formatBytes(p.totalBytes)}  ${rate.toFixed(1)} MiB/s${waiting === undefined ? '' : `  ${waiting}`}`;
  }

  #totalLine(): string {
    let running = 0;
    let remaining = 0;
    let unknown = false;
    for (const row of this.#rows.values()) {
      const sent = row.progress?.bytesUploaded ?? 0;
      running += sent;
      if (row.size === undefined) unknown = true;
      else remaining += row.size - sent;
    }
    for (const item of this.#pending) {
      const size = knownSize(item);
      if (size === undefined) unknown = true;
      else remaining += size;
    }
    const sent = this.#doneBytes + running;
    const elapsed = this.#now() - this.#startedAt;
    const rate = mibPerSecond(sent, elapsed);
    const eta = remaining === 0 && !unknown ? '0:00' : rate > 0 ? `${formatClock(remaining / (rate * 1024 ** 2))}${unknown ? '+' : ''}` : '--:--';
    const counts = `${this.#done + this.#skipped + this.#failed}/${this.#count} done (${this.#done} uploaded, ${this.#skipped} skipped, ${this.#failed} failed)`;
    return `${counts}  ${formatBytes(sent)} / ${formatBytes(sent + remaining)}${unknown ? '+' : ''}  ${rate.toFixed(1)} MiB/s  ETA ${eta}`;
  }
}
