import { describe, expect, it } from 'vitest';
import type { FilledPart } from '../lib/part-assembler';
import { PartUploader } from '../lib/part-uploader';

const part = (n: number): FilledPart => ({
  part: { partNumber: n, uploadUrl: 'http://x/', byteRange: { start: n, end: n } },
  data: Buffer.alloc(1),
  buffer: Buffer.alloc(1),
});

describe('PartUploader', () => {
  it('keeps at most `concurrency` sends in flight and reports each part once', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    const uploader = new PartUploader<number>({
      concurrency: 2,
      send: async (f) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return f.part.partNumber;
      },
      onDone: (_f, n) => done.push(n),
      onError: () => {},
    });
    for (let n = 1; n <= 6; n++) uploader.submit(part(n));
    await uploader.idle();
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('after a failure starts nothing more, reports the first error once, and idle() rejects with it', async () => {
    const errors: unknown[] = [];
    const started: number[] = [];
    const boom = new Error('part 2 failed');
    const uploader = new PartUploader<void>({
      concurrency: 1,
      send: async (f) => {
        started.push(f.part.partNumber);
        if (f.part.partNumber === 2) throw boom;
      },
      onDone: () => {},
      onError: (e) => errors.push(e),
    });
    for (let n = 1; n <= 4; n++) uploader.submit(part(n));
    await expect(uploader.idle()).rejects.toBe(boom);
    expect(started).toEqual([1, 2]);
    expect(errors).toEqual([boom]);
    await uploader.settled();
  });

  it('a throwing onDone fails the upload instead of escaping as an unhandled rejection', async () => {
    const errors: unknown[] = [];
    const oops = new Error('listener threw');
    const uploader = new PartUploader<void>({
      concurrency: 1,
      send: async () => {},
      onDone: () => {
        throw oops;
      },
      onError: (e) => errors.push(e),
    });
    uploader.submit(part(1));
    await expect(uploader.idle()).rejects.toBe(oops);
    expect(errors).toEqual([oops]);
  });

  it('frees a slot once a part body is sent: the next part starts while the first waits for its answer', async () => {
    const events: string[] = [];
    const answers = new Map<number, () => void>();
    let sending = 0;
    let peakSending = 0;
    let open = 0;
    let peakOpen = 0;
    const uploader = new PartUploader<number>({
      concurrency: 2,
      send: async (f, bodySent) => {
        const n = f.part.partNumber;
        events.push(`start ${n}`);
        sending++;
        open++;
        peakSending = Math.max(peakSending, sending);
        peakOpen = Math.max(peakOpen, open);
        await new Promise((r) => setImmediate(r)); // the body goes out
        sending--;
        bodySent();
        bodySent(); // a retry calls it again: only the first counts
        await new Promise<void>((resolve) => answers.set(n, resolve));
        open--;
        return n;
      },
      onDone: (_f, n) => events.push(`done ${n}`),
      onError: () => {},
    });
    for (let n = 1; n <= 4; n++) uploader.submit(part(n));
    const answer = async (n: number) => {
      // Turns, not milliseconds: the test does not depend on how busy the machine is.
      for (let i = 0; i < 1000 && !answers.has(n); i++) await new Promise((r) => setImmediate(r));
      answers.get(n)!();
    };
    // Parts 1 and 2 sent their bodies; 3 and 4 took their slots before any answer came.
    await answer(1);
    await answer(2);
    await answer(3);
    await answer(4);
    await uploader.idle();
    expect(events.indexOf('start 3')).toBeLessThan(events.indexOf('done 1'));
    expect(events.indexOf('start 4')).toBeLessThan(events.indexOf('done 1'));
    expect(peakSending).toBe(2); // never more than `concurrency` bodies at once
    expect(peakOpen).toBe(4); // here nothing else bounds them; in an upload the buffer pool does
    expect(events.filter((e) => e.startsWith('done')).sort()).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
  });

  it('a part that fails after its body was sent frees no second slot', async () => {
    let sending = 0;
    let peak = 0;
    const boom = new Error('answer was a 400');
    const uploader = new PartUploader<void>({
      concurrency: 1,
      send: async (f, bodySent) => {
        sending++;
        peak = Math.max(peak, sending);
        await new Promise((r) => setTimeout(r, 2));
        sending--;
        bodySent();
        if (f.part.partNumber === 1) throw boom;
      },
      onDone: () => {},
      onError: () => {},
    });
    for (let n = 1; n <= 3; n++) uploader.submit(part(n));
    await expect(uploader.idle()).rejects.toBe(boom);
    expect(peak).toBe(1);
  });
});
