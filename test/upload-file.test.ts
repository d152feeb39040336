import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../lib/emulator';
import {
  AbortError,
  EmptySourceError,
  InvalidOptionsError,
  OFAuthUploadError,
  SourceChangedError,
  type UploadFileOptions,
  type UploadProgress,
  uploadFile,
} from '../lib/index';
import { KiB, MiB, NEAR_LINK_TIMING, bytes, fastRetry, sha256, watchingBuffers } from './helpers';

const API_KEY = 'sk_live_file_secret_11';
const P = 64 * KiB;
let emu: Emulator | undefined;
let dir: string;

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator({ apiKey: API_KEY, partSize: P, ...options });
  return emu;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-file-'));
});

afterEach(async () => {
  await emu?.close();
  emu = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function options(e: Pick<Emulator, 'url'>, extra: Partial<UploadFileOptions> = {}): UploadFileOptions {
  return { apiKey: API_KEY, connectionId: 'conn_test', baseUrl: e.url, ...fastRetry, ...extra };
}

function file(name: string, data: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

const puts = (e: Emulator) => e.requests.filter((r) => r.route === 'part' || r.route === 'single');

describe('uploadFile', () => {
  for (const mode of ['multipart', 'planless', 'single'] as const) {
    it(`${mode}: the file arrives intact, named after it, typed from its extension`, async () => {
      const e = await emulator({ mode, ...(mode === 'single' ? { partSize: MiB } : {}) });
      const data = bytes(5 * P + 123, 3);
      const sessions: string[] = [];
      const result = await uploadFile(file('Clip.MOV', data), options(e, { onSession: (s) => sessions.push(s.mediaUploadId) }));
      expect(sessions).toEqual([result.mediaUploadId]);
      expect(result.size).toBe(data.length);
      expect(e.media(result.mediaUploadId)).toMatchObject({ filename: 'Clip.MOV', contentType: 'video/quicktime', size: data.length, completed: true, sha256: sha256(data) });
      expect(e.requests.filter((r) => r.route === 'init')).toHaveLength(1);
    });
  }

  it('filename and contentType options win over the defaults; an unknown extension is application/octet-stream', async () => {
    const e = await emulator();
    const path = file('raw.data', bytes(1000, 4));
    const first = await uploadFile(path, options(e));
    const second = await uploadFile(path, options(e, { filename: 'clip.mp4', contentType: 'video/x-custom' }));
    expect(e.media(first.mediaUploadId)).toMatchObject({ filename: 'raw.data', contentType: 'application/octet-stream' });
    expect(e.media(second.mediaUploadId)).toMatchObject({ filename: 'clip.mp4', contentType: 'video/x-custom' });
  });

  it('every part is read at its offset and sent once: parts in flight never exceed concurrency', NEAR_LINK_TIMING, async () => {
    const e = await emulator({ latencyMs: 5 });
    const data = bytes(20 * P + 5, 5);
    const progress: UploadProgress[] = [];
    const result = await uploadFile(file('a.mp4', data), options(e, { concurrency: 3, onProgress: (p) => progress.push(p) }));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(puts(e).map((r) => r.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(e.stats.maxConcurrentPuts).toBeLessThanOrEqual(3);
    expect(progress.at(-1)).toEqual({ bytesUploaded: data.length, totalBytes: data.length, partsCompleted: 21, totalParts: 21 });
  });

  it('a part whose connection is reset mid-body is read again and retried', async () => {
    const e = await emulator({ faults: [{ route: 'part', partNumber: 2, nth: 1, action: { type: 'reset', afterBytes: P / 2 } }] });
    const data = bytes(4 * P, 6);
    const result = await uploadFile(file('a.mp4', data), options(e));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(puts(e).filter((r) => r.partNumber === 2)).toHaveLength(2);
  });

  it('plan-less, 64 MiB, a reset mid-body: the whole PUT is retried by reading the file again', async () => {
    const e = await emulator({ mode: 'planless', hashing: 'sha256', faults: [{ route: 'single', nth: 1, action: { type: 'reset', afterBytes: 32 * MiB } }] });
    const data = bytes(64 * MiB, 7);
    const result = await uploadFile(file('big.mp4', data), options(e, { maxBufferMemory: 8 * MiB }));
    const singles = puts(e);
    expect(singles.map((r) => r.status)).toEqual([0, 200]);
    expect(singles[0]?.bytesReceived).toBeGreaterThanOrEqual(32 * MiB);
    expect(singles[0]?.bytesReceived).toBeLessThan(64 * MiB);
    expect(e.media(result.mediaUploadId)).toMatchObject({ completed: true, sha256: sha256(data) });
  });

  it('options are validated once, before the file is opened: an unknown one names uploadFile', async () => {
    const e = await emulator();
    const bad = { ...options(e), size: 10 } as unknown as UploadFileOptions;
    const error = await uploadFile(join(dir, 'missing.mp4'), bad).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe('Invalid uploadFile options: unknown option "size"');
    await expect(uploadFile('x', options(e, { resume: 'yes' as unknown as boolean }))).rejects.toThrow(/option "resume": expected true, false or \{ dir\?: string \}/);
    expect(e.requests).toEqual([]);
  });

  it('an empty file: EmptySourceError; a directory: ERR_OFAUTH_NOT_A_FILE; a missing file: ENOENT. No request', async () => {
    const e = await emulator();
    await expect(uploadFile(file('empty.mp4', new Uint8Array(0)), options(e))).rejects.toBeInstanceOf(EmptySourceError);
    const notFile = await uploadFile(dir, options(e)).catch((err: unknown) => err);
    expect(notFile).toBeInstanceOf(OFAuthUploadError);
    expect(notFile).toMatchObject({ code: 'ERR_OFAUTH_NOT_A_FILE' });
    await expect(uploadFile(join(dir, 'nope.mp4'), options(e))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(e.requests).toEqual([]);
  });

  it('a named pipe is refused at once, typed, without waiting for a writer (run in a child: a blocked open hangs even exit)', async () => {
    const fifo = join(dir, 'pipe.mp4');
    execFileSync('mkfifo', [fifo]);
    const script = `
      import { uploadFile } from ${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))};
      const error = await uploadFile(${JSON.stringify(fifo)}, { apiKey: 'k', connectionId: 'c', baseUrl: 'http://127.0.0.1:9' }).catch((e) => e);
      console.log(JSON.stringify({ code: error?.code, message: error?.message }));
      process.exit(0);`;
    // No writer ever opens the pipe: a blocking open would wait for one until the timeout kills it.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(child.signal).toBeNull();
    expect(JSON.parse(child.stdout)).toEqual({ code: 'ERR_OFAUTH_NOT_A_FILE', message: expect.stringContaining('is a named pipe') });
  });

  it('the signal aborts it: AbortError, no complete', async () => {
    const e = await emulator({ latencyMs: 50 });
    const controller = new AbortController();
    const running = uploadFile(file('a.mp4', bytes(8 * P, 8)), options(e, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 30);
    await expect(running).rejects.toBeInstanceOf(AbortError);
    expect(e.requests.filter((r) => r.route === 'complete')).toEqual([]);
    await expect(uploadFile(file('b.mp4', bytes(10, 1)), options(e, { signal: AbortSignal.abort() }))).rejects.toBeInstanceOf(AbortError);
  });
});

describe('a file that changes while it is uploaded is never finalized', () => {
  const changes: Array<[string, (path: string) => void]> = [
    ['grows', (path) => appendFileSync(path, 'x')],
    ['is touched (mtime)', (path) => utimesSync(path, new Date(), new Date(Date.now() + 5000))],
    ['shrinks under the reader', (path) => truncateSync(path, 2 * P)],
  ];
  for (const [label, change] of changes) {
    it(`multipart: it ${label} after the first part → SourceChangedError, no complete`, async () => {
      const e = await emulator();
      const path = file('a.mp4', bytes(6 * P, 9));
      let changed = false;
      const error = await uploadFile(
        path,
        options(e, {
          concurrency: 1,
          onProgress: ({ partsCompleted }) => {
            if (partsCompleted >= 1 && !changed) {
              changed = true;
              change(path);
            }
          },
        }),
      ).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(SourceChangedError);
      expect(error).toMatchObject({ code: 'ERR_OFAUTH_SOURCE_CHANGED', path, expected: { size: 6 * P } });
      expect(e.requests.filter((r) => r.route === 'complete')).toEqual([]);
      expect(e.uploads().every((u) => !u.completed)).toBe(true);
    });
  }

  it('single plan (its one PUT finalizes): touched before its part is read → SourceChangedError, nothing sent', async () => {
    const e = await emulator({ mode: 'single' });
    const path = file('s.mp4', bytes(P / 2, 12));
    // Touched once init has answered, before the part is read: the read must be checked before
    // the PUT, since that PUT finalizes by itself.
    const error = await uploadFile(path, options(e, { onSession: () => utimesSync(path, new Date(), new Date(Date.now() + 5000)) })).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SourceChangedError);
    expect(e.requests.filter((r) => r.route === 'single' || r.route === 'part')).toEqual([]);
    expect(e.uploads().every((u) => !u.completed)).toBe(true);
  });

  it('plan-less: it grows mid-PUT → SourceChangedError before the last byte, nothing finalized', async () => {
    const e = await emulator({ mode: 'planless' });
    const path = file('a.mp4', bytes(4 * MiB, 11));
    let changed = false;
    const error = await uploadFile(
      path,
      options(e, {
        onProgress: ({ bytesUploaded }) => {
          if (bytesUploaded >= MiB && !changed) {
            changed = true;
            appendFileSync(path, 'x');
          }
        },
      }),
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SourceChangedError);
    expect(e.uploads().every((u) => !u.completed)).toBe(true);
    expect(puts(e).every((r) => r.bytesReceived < 4 * MiB)).toBe(true);
  });
});

describe('one file after another', () => {
  it("the next file is read into the last one's part buffers, not new ones, and arrives intact", async () => {
    const e = await emulator({ mode: 'multipart' });
    await watchingBuffers(P, async (watch) => {
      const first = bytes(6 * P, 31);
      await uploadFile(file('first.mp4', first), options(e, { concurrency: 2 }));
      // Held here until the next file is done, so no collection can take the spares meanwhile.
      const firstBuffers = watch.allocated();
      expect(firstBuffers.length === 2 || firstBuffers.length === 3).toBe(true);
      watch.clear();
      const second = bytes(4 * P + 9, 32);
      const result = await uploadFile(file('second.mp4', second), options(e, { concurrency: 2 }));
      expect(watch.allocated().length).toBeLessThanOrEqual(3 - firstBuffers.length);
      expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(second));
    });
  });
});
