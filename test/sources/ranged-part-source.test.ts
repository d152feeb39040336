import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RangeSource } from '../../lib/index';
import { RangedPartSource } from '../../lib/sources/ranged-part-source';
import { bytes } from '../helpers';

const policy = { retries: 3, timeout: 20, baseDelay: 1, maxDelay: 2 };

function memory(data: Buffer, chunk: number): RangeSource & { reads: number } {
  const source = {
    size: data.length,
    name: 'mem://x',
    version: 'v1',
    reads: 0,
    async *readRange(start: number, end: number) {
      source.reads++;
      for (let at = start; at <= end; at += chunk) yield data.subarray(at, Math.min(at + chunk, end + 1));
    },
  };
  return source;
}

describe('RangedPartSource', () => {
  it('the idle timeout counts only the wait for the source: a consumer slower than the timeout causes no re-read', async () => {
    const data = bytes(8 * 1024, 1);
    const source = memory(data, 1024);
    const parts = new RangedPartSource(source, policy, new AbortController().signal);
    const got: Buffer[] = [];
    for await (const chunk of parts.stream(0, data.length)) {
      got.push(Buffer.from(chunk));
      // The consumer (a PUT the socket holds back) takes 2.5× the timeout per chunk.
      await sleep(50);
    }
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(source.reads).toBe(1);
    expect(parts.stats).toEqual({ mode: 'ranged', bytes: data.length, requests: 1, rereads: 0 });
  });

  it('an abort of the upload stops a read at once, with the upload’s reason, even from a source that ignores its signal; not retried', async () => {
    const controller = new AbortController();
    let reads = 0;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const source: RangeSource = {
      size: 100,
      name: 'mem://hang',
      version: 'v',
      async *readRange() {
        reads++;
        started();
        // Never a byte, and deaf to the signal.
        await new Promise(() => undefined);
      },
    };
    const parts = new RangedPartSource(source, { ...policy, timeout: 0 }, controller.signal);
    const reason = new Error('stop');
    const reading = parts.read(new Uint8Array(100), 0);
    await running;
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
    expect(reads).toBe(1);
  });

  it('a source deaf to its signal that stalls is still given up after the idle timeout, and read again', async () => {
    const data = bytes(100, 2);
    let reads = 0;
    const source: RangeSource = {
      size: 100,
      name: 'mem://deaf',
      version: 'v',
      async *readRange(start, end) {
        reads++;
        yield data.subarray(start, start + 10);
        if (reads === 1) await new Promise(() => undefined);
        yield data.subarray(start + 10, end + 1);
      },
    };
    const into = new Uint8Array(100);
    const parts = new RangedPartSource(source, policy, new AbortController().signal);
    await parts.read(into, 0);
    expect(Buffer.from(into).equals(data)).toBe(true);
    expect(parts.stats).toMatchObject({ requests: 2, rereads: 1, bytes: 100 });
  });
});
