import { describe, expect, it } from 'vitest';
import { type ProgressMode, ProgressRenderer } from '../../lib/cli/progress-renderer';

const MiB = 1024 * 1024;

function harness(mode: ProgressMode, columns = 100) {
  let now = 1_000;
  let tick: (() => void) | undefined;
  let cancelled = false;
  const written: string[] = [];
  const renderer = new ProgressRenderer({
    mode,
    out: { write: (text: string) => written.push(text), columns },
    now: () => now,
    every: (_ms, fn) => {
      tick = fn;
      return () => (cancelled = true);
    },
  });
  return {
    renderer,
    written,
    advance(ms: number) {
      now += ms;
      tick?.();
    },
    get scheduled() {
      return tick !== undefined;
    },
    get cancelled() {
      return cancelled;
    },
  };
}

const progress = (bytesUploaded: number, totalBytes = 100 * MiB) => ({ bytesUploaded, totalBytes, partsCompleted: 0, totalParts: 20 });

describe('ProgressRenderer', () => {
  it('unknown size: "buffering … (size unknown)" with a rate while spooling, then the usual bar from the upload start', () => {
    const h = harness('bar');
    h.renderer.start(undefined);
    h.renderer.spooled(123.4 * MiB);
    h.advance(2000);
    expect(h.written.at(-1)).toBe('\rbuffering 123.4 MiB (size unknown)… 61.7 MiB/s\x1b[K');
    h.renderer.beginUpload(200 * MiB);
    h.renderer.update(progress(50 * MiB, 200 * MiB));
    h.advance(1000);
    const frame = h.written.at(-1) ?? '';
    expect(frame).toContain(' 25%');
    // The rate counts from the upload's start, not from the spool's.
    expect(frame).toContain('50.0 MiB/s');
  });

  it('unknown size in lines mode: the buffering line is printed as a line', () => {
    const h = harness('lines');
    h.renderer.start(undefined);
    h.renderer.spooled(10 * MiB);
    h.advance(5000);
    expect(h.written.at(-1)).toBe('buffering 10.0 MiB (size unknown)… 2.0 MiB/s\n');
  });

  it('bar: redraws in place with percentage, bytes, rate and ETA', () => {
    const h = harness('bar');
    h.renderer.start(100 * MiB);
    h.renderer.update(progress(25 * MiB));
    h.advance(1000);
    const frame = h.written.at(-1) ?? '';
    expect(frame.startsWith('\r[')).toBe(true);
    expect(frame.endsWith('\x1b[K')).toBe(true);
    expect(frame).toContain(' 25%');
    expect(frame).toContain('25.0 MiB / 100.0 MiB');
    expect(frame).toContain('25.0 MiB/s');
    expect(frame).toContain('ETA 0:03');
    expect(frame.length).toBeLessThanOrEqual(100 + 4); // fits the terminal (+ \r and the escape)
  });

  it('a resumed upload: the bytes an earlier run sent count in the bar, not in the rate or ETA', () => {
    const h = harness('bar');
    h.renderer.start(100 * MiB);
    h.renderer.resumedFrom(60 * MiB);
    h.renderer.update(progress(70 * MiB));
    h.advance(1000);
    const frame = h.written.at(-1) ?? '';
    expect(frame).toContain(' 70%');
    expect(frame).toContain('10.0 MiB/s');
    expect(frame).toContain('ETA 0:03');
  });

  it('clearLine: a notice after a drawn bar starts by erasing it; nothing to erase otherwise', () => {
    const h = harness('bar');
    h.renderer.start(100 * MiB);
    expect(h.renderer.clearLine()).toBe('');
    h.advance(100);
    expect(h.renderer.clearLine()).toBe('\r\x1b[K');
    expect(h.renderer.clearLine()).toBe('');
    const lines = harness('lines');
    lines.renderer.start(1);
    lines.advance(5000);
    expect(lines.renderer.clearLine()).toBe('');
  });

  it('bar: finish draws it full and ends the line; abandon only ends the line', () => {
    const ok = harness('bar');
    ok.renderer.start(10);
    ok.renderer.finish();
    expect(ok.written.at(-1)).toMatch(/^\r\[█+\] 100%.*\n$/);
    expect(ok.cancelled).toBe(true);

    const failed = harness('bar');
    failed.renderer.start(10);
    failed.advance(100);
    failed.renderer.abandon();
    expect(failed.written.at(-1)).toBe('\n');
  });

  it('lines: one plain line per tick, even when the upload stalls', () => {
    const h = harness('lines');
    h.renderer.start(100 * MiB);
    h.renderer.update(progress(50 * MiB));
    h.advance(5000);
    h.advance(5000); // no progress in between: the rate falls, the ETA grows
    expect(h.written).toEqual([' 50%, 50.0 MiB / 100.0 MiB, 10.0 MiB/s, ETA 0:05\n', ' 50%, 50.0 MiB / 100.0 MiB, 5.0 MiB/s, ETA 0:10\n']);
    h.renderer.finish();
    expect(h.written).toHaveLength(2);
  });

  it('before any byte, the ETA is unknown rather than infinite', () => {
    const h = harness('lines');
    h.renderer.start(MiB);
    h.advance(5000);
    expect(h.written[0]).toContain('ETA --:--');
  });

  it('a wait for the rate limit is said in the line while it lasts, in bar and lines mode', () => {
    for (const mode of ['bar', 'lines'] as const) {
      const h = harness(mode);
      h.renderer.start(100 * MiB);
      h.renderer.update(progress(10 * MiB));
      h.renderer.rateLimited(11_200);
      h.advance(1000);
      expect(h.written.at(-1)).toContain('rate limited: waiting 11 s');
      h.advance(11_000);
      expect(h.written.at(-1)).not.toContain('rate limited');
    }
  });

  it('off: schedules nothing, writes nothing', () => {
    const h = harness('off');
    h.renderer.start(MiB);
    h.renderer.update(progress(MiB, MiB));
    h.renderer.finish();
    expect(h.scheduled).toBe(false);
    expect(h.written).toEqual([]);
  });
});
