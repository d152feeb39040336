import { describe, expect, it } from 'vitest';
import { BatchReporter } from '../../lib/cli/batch/batch-reporter';
import { LiveBlock } from '../../lib/cli/batch/live-block';
import type { BatchTotals, SourceOutcome } from '../../lib/cli/batch/outcome';
import { Output } from '../../lib/cli/output';
import { SourceError } from '../../lib/cli/source-error';
import type { SourceItem } from '../../lib/cli/sources/source-item';
import type { UploadSummary } from '../../lib/cli/summary';
import { VirtualTerminal } from './virtual-terminal';

const MiB = 1024 * 1024;
const SECRET = 'sk_reporter_SECRET_4';

function harness(mode: 'live' | 'lines', json = false) {
  let now = 0;
  let tick: (() => void) | undefined;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const streams = { stdout: { write: (t: string) => stdout.push(t) }, stderr: { write: (t: string) => stderr.push(t), isTTY: mode === 'live', columns: 100 } };
  const out = new Output(streams, [SECRET], json);
  const reporter = new BatchReporter(out, streams, {
    mode,
    now: () => now,
    every: (_ms, fn) => {
      tick = fn;
      return () => (tick = undefined);
    },
  });
  return {
    reporter,
    stdout,
    stderr,
    advance(ms: number) {
      now += ms;
      tick?.();
    },
  };
}

const file = (name: string, size: number): SourceItem => ({ kind: 'file', source: `shoot/${name}`, path: `shoot/${name}`, stats: { size, mtimeMs: 1 } });
const summary = (bytes: number, rateLimit = { waitedMs: 0, refusals: 0 }): UploadSummary => ({
  ok: true,
  target: 'api',
  baseUrl: 'http://x',
  filename: 'a.mp4',
  contentType: 'video/mp4',
  bytes,
  elapsedMs: 500,
  mibPerSecond: 2,
  mediaUploadId: 'upload:1',
  mediaId: 42,
  mediaType: 'video',
  sha256: 'f'.repeat(64),
  rateLimit,
});
const totals: BatchTotals = {
  sources: 3,
  uploaded: 2,
  skipped: 0,
  failed: 1,
  cancelled: 0,
  notStarted: 0,
  bytes: 3 * MiB,
  elapsedMs: 1000,
  interrupted: false,
  rateLimit: { waitedMs: 0, refusals: 0 },
};

describe('BatchReporter on a terminal', () => {
  it('a line per running upload and a total line, redrawn in place; a finished one is printed above them', () => {
    const h = harness('live');
    const [a, b, c] = [file('a.mp4', 4 * MiB), file('b.mp4', 2 * MiB), file('c.mp4', 2 * MiB)] as [SourceItem, SourceItem, SourceItem];
    h.reporter.begin([a, b, c]);
    const ea = h.reporter.started(a);
    const eb = h.reporter.started(b);
    ea.opened('a.mp4', 4 * MiB);
    eb.opened('b.mp4', 2 * MiB);
    ea.progress({ bytesUploaded: 2 * MiB, totalBytes: 4 * MiB, partsCompleted: 2, totalParts: 4 });
    h.advance(1000);
    const first = h.stderr.join('');
    // Each line ends with its newline: the cursor waits on a line of its own below the block.
    expect(first.split('\n')).toEqual([
      '  shoot/a.mp4  ████████░░░░░░░░  50%  2.0 MiB / 4.0 MiB  2.0 MiB/s',
      '  shoot/b.mp4  starting…',
      '0/3 done (0 uploaded, 0 skipped, 0 failed)  2.0 MiB / 8.0 MiB  2.0 MiB/s  ETA 0:03',
      '',
    ]);
    h.stderr.length = 0;
    h.advance(1000);
    // Back up over the block's three lines, erase to the end of the screen, redraw.
    expect(h.stderr.join('')).toMatch(/^\x1b\[3A\r\x1b\[J {2}shoot\/a\.mp4/);

    h.stderr.length = 0;
    h.reporter.finished({ type: 'uploaded', item: a, summary: summary(4 * MiB) });
    // Erased, the result printed on stdout, then the block (one row fewer) drawn again.
    expect(h.stderr[0]).toBe('\x1b[3A\r\x1b[J');
    expect(h.stdout).toEqual(['uploaded  shoot/a.mp4  4.0 MiB in 0.50 s  media 42 (video)  upload:1\n']);
    expect(h.stderr.slice(1).join('').split('\n')).toHaveLength(3);
    expect(h.stderr.slice(1).join('')).toContain('1/3 done (1 uploaded, 0 skipped, 0 failed)  4.0 MiB / 8.0 MiB');

    h.stderr.length = 0;
    h.reporter.finished({ type: 'failed', item: b, error: new SourceError(`b failed, key ${SECRET}`, { reason: 'read', source: 'shoot/b.mp4' }) });
    expect(h.stderr.join('')).toContain('ofauth-upload: failed shoot/b.mp4: ERR_SOURCE: b failed, key [REDACTED]\n');
    expect(h.stderr.join('')).not.toContain(SECRET);
    h.stderr.length = 0;
    h.reporter.end(totals);
    // Only the total line was left (nothing running): back up one line and erase it.
    expect(h.stderr).toEqual(['\x1b[1A\r\x1b[J']);
    expect(h.stdout.at(-1)).toBe('Done, with failures: 3 sources, 2 uploaded, 0 skipped, 1 failed; 3.0 MiB in 1.00 s (3.0 MiB/s)\n');
    // The timer is gone: nothing is drawn after the end.
    h.advance(1000);
    expect(h.stderr).toHaveLength(1);
  });

  it('a source of unknown size shows what is buffered, and the total says its end is not known', () => {
    const h = harness('live');
    const item: SourceItem = { kind: 'url', source: 'https://cdn.example/live', url: new URL('https://cdn.example/live') };
    h.reporter.begin([item]);
    const events = h.reporter.started(item);
    events.opened('take.mov', undefined);
    events.spooled(3 * MiB);
    h.advance(1000);
    expect(h.stderr.join('')).toContain('https://cdn.example/live → take.mov  buffering 3.0 MiB (size unknown)');
    expect(h.stderr.join('')).toMatch(/0\/1 done .* 0 B \/ 0 B\+ {2}0\.0 MiB\/s {2}ETA --:--\n$/);
  });
});

describe('BatchReporter and the rate limit', () => {
  it('a running upload held by the rate limit says so while it waits; its line and the summary say what it cost', () => {
    const h = harness('live');
    const a = file('a.mp4', 4 * MiB);
    h.reporter.begin([a]);
    const events = h.reporter.started(a);
    events.opened('a.mp4', 4 * MiB);
    events.progress({ bytesUploaded: MiB, totalBytes: 4 * MiB, partsCompleted: 1, totalParts: 4 });
    events.rateLimited({ reason: 'paced', waitMs: 11_500, remaining: 0, connectionId: 'c' });
    h.advance(100);
    expect(h.stderr.join('')).toContain('1.0 MiB / 4.0 MiB  10.0 MiB/s  rate limited: waiting 12 s');
    h.stderr.length = 0;
    // Once the wait is over, the line no longer says it.
    h.advance(12_000);
    expect(h.stderr.join('')).not.toContain('rate limited');
    h.reporter.finished({ type: 'uploaded', item: a, summary: summary(4 * MiB, { waitedMs: 12_300, refusals: 2 }) });
    expect(h.stdout.at(-1)).toContain('rate limited: waited 0:12 (2 refusals)');
    h.reporter.end({ ...totals, rateLimit: { waitedMs: 12_300, refusals: 2 } });
    expect(h.stdout.at(-1)).toContain('; rate limited: uploads waited 0:12 (2 refusals) in all');
  });

  it('--json carries the totals per source and in the summary', () => {
    const h = harness('lines', true);
    const a = file('a.mp4', MiB);
    h.reporter.begin([a]);
    h.reporter.started(a);
    h.reporter.finished({ type: 'uploaded', item: a, summary: summary(MiB, { waitedMs: 900, refusals: 1 }) });
    h.reporter.end({ ...totals, rateLimit: { waitedMs: 900, refusals: 1 } });
    const lines = h.stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'uploaded', rateLimit: { waitedMs: 900, refusals: 1 } });
    expect(lines[1]).toMatchObject({ type: 'summary', rateLimit: { waitedMs: 900, refusals: 1 } });
  });
});

describe('BatchReporter without a terminal', () => {
  it('only a line per finished source and the summary, no escape codes', () => {
    const h = harness('lines');
    const a = file('a.mp4', MiB);
    h.reporter.begin([a]);
    h.reporter.started(a).progress({ bytesUploaded: 1, totalBytes: MiB, partsCompleted: 0, totalParts: 1 });
    h.advance(1000);
    h.reporter.finished({ type: 'skipped', item: a, entry: { source: '/abs/a.mp4', size: MiB, sha256: 'a', mediaUploadId: 'upload:9', mediaId: 1 } });
    h.reporter.end({ ...totals, uploaded: 0, skipped: 1, failed: 0, sources: 1, bytes: 0 });
    expect(h.stderr).toEqual([]);
    expect(h.stdout).toEqual([
      'skipped   shoot/a.mp4  1.0 MiB  already uploaded (manifest: mediaUploadId upload:9)\n',
      'Done: 1 source, 0 uploaded, 1 skipped, 0 failed; 0 B in 1.00 s (0.0 MiB/s)\n',
    ]);
  });

  it('--json: one line per source (failures too, on stdout) and a summary line', () => {
    const h = harness('lines', true);
    const [a, b] = [file('a.mp4', MiB), file('b.mp4', MiB)] as [SourceItem, SourceItem];
    h.reporter.begin([a, b]);
    const outcomes: SourceOutcome[] = [
      { type: 'uploaded', item: a, summary: summary(MiB) },
      { type: 'cancelled', item: b, mediaUploadId: 'upload:2' },
    ];
    for (const o of outcomes) h.reporter.finished(o);
    h.reporter.end({ ...totals, uploaded: 1, failed: 0, cancelled: 1, interrupted: true, sources: 2 });
    const lines = h.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'uploaded', ok: true, source: 'shoot/a.mp4', size: MiB, mediaUploadId: 'upload:1', mediaId: 42, sha256: 'f'.repeat(64) });
    expect(lines[1]).toEqual({
      type: 'cancelled',
      ok: false,
      source: 'shoot/b.mp4',
      error: {
        name: 'AbortError',
        code: 'ABORT_ERR',
        message: 'Interrupted (SIGINT): in-flight requests cancelled before the upload was confirmed; mediaUploadId upload:2 was left unfinished',
        mediaUploadId: 'upload:2',
      },
    });
    expect(lines[2]).toMatchObject({ type: 'summary', ok: false, interrupted: true, cancelled: 1 });
    expect(h.stderr).toEqual([]);
  });
});

describe('LiveBlock', () => {
  it('cuts lines to the terminal width, so a wrapped line cannot throw the redraw off', () => {
    const written: string[] = [];
    const block = new LiveBlock({ write: (t: string) => written.push(t), columns: 30 });
    block.draw(['x'.repeat(50), 'short']);
    expect(written[0]).toBe(`${'x'.repeat(28)}…\nshort\n`);
    block.clear();
    expect(written[1]).toBe('\x1b[2A\r\x1b[J');
    block.clear();
    expect(written).toHaveLength(2);
  });
});

describe('Ctrl-C on a terminal (issue 26): nothing of the live block is left above the outcome lines', () => {
  /** The reporter writing to one terminal (stdout and stderr both), `columns` wide. */
  function onTerminal(columns: number) {
    const terminal = new VirtualTerminal(columns);
    let tick: (() => void) | undefined;
    let now = 0;
    const streams = { stdout: { write: (t: string) => terminal.write(t) }, stderr: { write: (t: string) => terminal.write(t), isTTY: true, columns } };
    const out = new Output(streams, [SECRET], false);
    const reporter = new BatchReporter(out, streams, { mode: 'live', now: () => now, every: (_ms, fn) => ((tick = fn), () => (tick = undefined)) });
    return { terminal, reporter, advance: (ms: number) => ((now += ms), tick?.()) };
  }
  const interrupted: BatchTotals = { ...totals, sources: 2, uploaded: 0, failed: 0, cancelled: 2, bytes: 0, interrupted: true };

  it('the terminal echoes ^C after a full-width last line: the cancelled lines and the summary, and nothing else', () => {
    const t = onTerminal(80);
    const [a, b] = [file('a.mp4', 4 * MiB), file('b.mp4', 4 * MiB)] as [SourceItem, SourceItem];
    t.reporter.begin([a, b]);
    for (const item of [a, b]) {
      const events = t.reporter.started(item);
      events.opened(item.source, 4 * MiB);
      events.progress({ bytesUploaded: 2 * MiB, totalBytes: 4 * MiB, partsCompleted: 2, totalParts: 4 });
    }
    t.advance(1000);
    // The total line is longer than the terminal: cut to its width, it fills the last column but one.
    expect(t.terminal.screen().at(-1)).toHaveLength(79);
    // What the terminal itself writes where the cursor is when Ctrl-C is pressed.
    t.terminal.write('^C');
    t.advance(100);
    t.reporter.finished({ type: 'cancelled', item: a, mediaUploadId: 'upload:a' });
    t.reporter.finished({ type: 'cancelled', item: b, mediaUploadId: 'upload:b' });
    t.reporter.end(interrupted);
    expect(t.terminal.screen()).toEqual([
      'ofauth-upload: cancelled shoot/a.mp4: mediaUploadId upload:a left unfinished',
      'ofauth-upload: cancelled shoot/b.mp4: mediaUploadId upload:b left unfinished',
      // The summary, wrapped by the terminal.
      'Interrupted (Ctrl-C): 2 sources, 0 uploaded, 0 skipped, 0 failed, 2 cancelled, 0',
      ' not started; 0 B in 1.00 s (0.0 MiB/s)',
    ]);
  });

  it('a notice while the block is drawn (an upload Ctrl-C lets finish) goes above it, and the block is drawn once', () => {
    const t = onTerminal(100);
    const a = file('a.mp4', 4 * MiB);
    t.reporter.begin([a]);
    const events = t.reporter.started(a);
    events.opened(a.source, 4 * MiB);
    events.progress({ bytesUploaded: 4 * MiB, totalBytes: 4 * MiB, partsCompleted: 4, totalParts: 4 });
    t.advance(1000);
    t.reporter.notice('ofauth-upload: finishing shoot/a.mp4: all of it is in the vault');
    t.advance(100);
    expect(t.terminal.screen()).toEqual([
      'ofauth-upload: finishing shoot/a.mp4: all of it is in the vault',
      '  shoot/a.mp4  ████████████████ 100%  4.0 MiB / 4.0 MiB  3.6 MiB/s',
      '0/1 done (0 uploaded, 0 skipped, 0 failed)  4.0 MiB / 4.0 MiB  3.6 MiB/s  ETA 0:00',
    ]);
  });
});
