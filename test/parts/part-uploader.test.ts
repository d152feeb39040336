import { afterEach, describe, expect, it, vi } from 'vitest';
import { ANSWER_WAITS_NEEDED, LONG_ANSWER_WAIT_MS } from '../../lib/parts/answer-waits';
import { type FilledPart, bufferBody } from '../../lib/parts/part-body';
import { PartUploader } from '../../lib/parts/part-uploader';

const part = (n: number): FilledPart => ({
  part: { partNumber: n, uploadUrl: 'http://x/', byteRange: { start: n, end: n } },
  body: bufferBody(Buffer.alloc(1)),
  release: () => {},
});
const signal = new AbortController().signal;

describe('PartUploader', () => {
  it('keeps at most `concurrency` sends in flight and reports each part once', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    const uploader = new PartUploader<number>({
      concurrency: 2,
      signal,
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
      signal,
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
      signal,
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

  describe('a part waiting for its answer', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /**
     * Parts whose bodies take `sendMs` to leave and whose answers come `answerMs` later, on fake
     * time (the clock the answer waits are measured with included), so machine load cannot
     * change what the uploader sees. Returns the most parts open and the most bodies being sent.
     */
    async function run(concurrency: number, parts: number, sendMs: number, answerMs: number, retried = new Set<number>()) {
      vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
      let open = 0;
      let sending = 0;
      const peak = { open: 0, sending: 0 };
      const done: number[] = [];
      const uploader = new PartUploader<number>({
        concurrency,
        signal,
        // As http.ts does: `starting` before each attempt, the whole body again on a retry.
        send: async (f, attempt) => {
          open++;
          peak.open = Math.max(peak.open, open);
          for (let n = 1; n <= 1 + (retried.has(f.part.partNumber) ? 1 : 0); n++) {
            await attempt.starting();
            sending++;
            peak.sending = Math.max(peak.sending, sending);
            await new Promise((r) => setTimeout(r, sendMs));
            sending--;
            attempt.bodySent();
            await new Promise((r) => setTimeout(r, answerMs)); // an answer, then (maybe) a 500
          }
          open--;
          return f.part.partNumber;
        },
        onDone: (_f, n) => done.push(n),
        onError: () => {},
      });
      for (let n = 1; n <= parts; n++) uploader.submit(part(n));
      const idle = uploader.idle();
      await vi.advanceTimersByTimeAsync((parts + retried.size) * (sendMs + answerMs));
      await idle;
      expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, i) => i + 1));
      return { ...peak, elapsed: performance.now() };
    }

    it('on a far link (answers a long round trip after the body) lets one more part start, never more', async () => {
      const parts = 4 * (ANSWER_WAITS_NEEDED + 4);
      const far = await run(4, parts, 1000, LONG_ANSWER_WAIT_MS + 100);
      expect(far.open).toBe(5);
      expect(far.sending).toBe(4);
    });

    it('on a near link a part holds its slot until its answer: concurrency is the most requests open', async () => {
      const parts = 4 * (ANSWER_WAITS_NEEDED + 4);
      const near = await run(4, parts, 1000, LONG_ANSWER_WAIT_MS - 10);
      expect(near.open).toBe(4);
      expect(near.sending).toBe(4);
    });

    it('at concurrency 1 on a far link, parts overlap only while one waits for its answer', async () => {
      const far = await run(1, ANSWER_WAITS_NEEDED + 5, 1000, 150);
      expect(far.open).toBe(2);
      expect(far.sending).toBe(1);
    });
  
    it('a retry of a part whose body was sent waits for a sending slot: never more than `concurrency` bodies', async () => {
      // Parts 5, 6 and 9 fail after their bodies (a 500 or a reset) and send them again once the
      // link is known far, while other parts have taken the slots they gave up.
      const far = await run(2, 4 * (ANSWER_WAITS_NEEDED + 3), 1000, LONG_ANSWER_WAIT_MS + 100, new Set([5, 6, 9]));
      expect(far.sending).toBe(2);
      expect(far.open).toBe(3);
    });

    it('a body reported sent before `send` returns starts no more than one part more', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
      let open = 0;
      let peak = 0;
      const uploader = new PartUploader<void>({
        concurrency: 2,
        signal,
        send: (_f, attempt) => {
          open++;
          peak = Math.max(peak, open);
          attempt.bodySent(); // synchronously, as a body small enough for one write might
          return new Promise<void>((r) => setTimeout(r, LONG_ANSWER_WAIT_MS + 100)).then(() => {
            open--;
          });
        },
        onDone: () => {},
        onError: () => {},
      });
      for (let n = 1; n <= 20; n++) uploader.submit(part(n));
      const idle = uploader.idle();
      await vi.advanceTimersByTimeAsync(20 * (LONG_ANSWER_WAIT_MS + 100));
      await idle;
      expect(peak).toBe(3);
    });

    it('a retry waiting for a sending slot is released with the error when another part fails', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
      const boom = new Error('part 5 failed');
      const slow = () => new Promise((r) => setTimeout(r, LONG_ANSWER_WAIT_MS + 100));
      const uploader = new PartUploader<void>({
        concurrency: 1,
        signal, // never aborted: only the uploader itself can release the waiting retry
        send: async (f, attempt) => {
          await attempt.starting();
          await slow(); // the body
          if (f.part.partNumber === 5) throw boom; // cut before its body was all sent
          attempt.bodySent();
          await slow(); // the answer
          if (f.part.partNumber === 4) await attempt.starting(); // a 500: part 5 has the slot now
        },
        onDone: () => {},
        onError: () => {},
      });
      for (let n = 1; n <= 5; n++) uploader.submit(part(n));
      let outcome: unknown;
      const idle = uploader.idle().catch((error: unknown) => (outcome = error));
      await vi.advanceTimersByTimeAsync(20 * (LONG_ANSWER_WAIT_MS + 100));
      expect(outcome).toBe(boom);
      await idle;
    });
  });
});
