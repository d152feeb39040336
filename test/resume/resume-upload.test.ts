import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, type FaultRule, startEmulator } from '../../lib/emulator';
import { AbortError, type ResumeInfo, type UploadFileOptions, UploadLockedError, uploadFile } from '../../lib/index';
import { KiB, bytes, fastRetry, sha256 } from '../helpers';

const API_KEY = 'sk_live_resume_secret_42';
const P = 64 * KiB;
const PARTS = 10;
let emu: Emulator | undefined;
let dir: string;
let resumeDir: string;
let path: string;
let data: Buffer;

async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator({ apiKey: API_KEY, partSize: P, ...options });
  return emu;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resume-upload-'));
  resumeDir = join(dir, 'journals');
  data = bytes(PARTS * P - 100, 21);
  path = join(dir, 'clip.mp4');
  writeFileSync(path, data);
});

afterEach(async () => {
  await emu?.close();
  emu = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function options(e: Pick<Emulator, 'url'>, extra: Partial<UploadFileOptions> = {}): UploadFileOptions {
  return { apiKey: API_KEY, connectionId: 'conn_test', baseUrl: e.url, resume: { dir: resumeDir }, concurrency: 2, ...fastRetry, ...extra };
}

const journals = () => (existsSync(resumeDir) ? readdirSync(resumeDir).filter((f) => f.endsWith('.json')) : []);
function journal(): { session: { mediaUploadId: string }; parts: Array<{ partNumber: number; etag?: string }> } {
  const [name] = journals();
  if (name === undefined) throw new Error('no journal');
  return JSON.parse(readFileSync(join(resumeDir, name), 'utf8'));
}
const partPuts = (e: Emulator, fromId = 0) => e.requests.filter((r) => r.route === 'part' && r.id > fromId);
const lastId = (e: Emulator) => e.requests.at(-1)?.id ?? 0;

/** Runs uploadFile and aborts it once `parts` parts were acknowledged; the journal stays. */
async function interrupted(e: Emulator, parts = 3, extra: Partial<UploadFileOptions> = {}): Promise<void> {
  const controller = new AbortController();
  const error = await uploadFile(
    path,
    options(e, {
      signal: controller.signal,
      onProgress: ({ partsCompleted }) => {
        if (partsCompleted >= parts) controller.abort();
      },
      ...extra,
    }),
  ).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(AbortError);
}

describe('resume: a later call for the same unchanged file sends only what the vault lacks', () => {
  it('after an interruption: only the parts the journal lacks are PUT, one complete, journal and lock gone', async () => {
    const e = await emulator({ latencyMs: 2 });
    await interrupted(e, 3);
    const left = journal();
    const done = left.parts.map((p) => p.partNumber).sort((a, b) => a - b);
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(left.parts.every((p) => typeof p.etag === 'string')).toBe(true);
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));

    expect(seen).toEqual([{ mediaUploadId: left.session.mediaUploadId, partsDone: done.length, bytesDone: done.length * P, totalParts: PARTS, restarted: false }]);
    expect(result.mediaUploadId).toBe(left.session.mediaUploadId);
    const sent = partPuts(e, mark).map((r) => r.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(sent).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1).filter((n) => !done.includes(n)));
    expect(e.requests.filter((r) => r.id > mark && r.route === 'init')).toEqual([]);
    expect(e.requests.filter((r) => r.id > mark && r.route === 'complete')).toHaveLength(1);
    expect(result.parts.map((p) => p.partNumber)).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(readdirSync(resumeDir)).toEqual([]);
  });

  it('the journal never holds the API key, is private (0600), and names the session', async () => {
    const e = await emulator({ latencyMs: 2 });
    await interrupted(e, 2);
    const [name] = journals();
    const bytesOnDisk = readFileSync(join(resumeDir, name ?? ''));
    expect(bytesOnDisk.includes(API_KEY)).toBe(false);
    expect(bytesOnDisk.includes('sk_live')).toBe(false);
    expect(bytesOnDisk.toString()).toContain(journal().session.mediaUploadId);
    expect(statSync(join(resumeDir, name ?? '')).mode & 0o777).toBe(0o600);
  });

  it('it is written whole: read at any moment of an upload, it parses', async () => {
    const e = await emulator({ latencyMs: 1 });
    let reads = 0;
    let running = true;
    const reader = (async () => {
      while (running) {
        for (const name of journals()) {
          const text = (() => {
            try {
              return readFileSync(join(resumeDir, name), 'utf8');
            } catch {
              return undefined; // removed between listing and reading
            }
          })();
          if (text !== undefined) {
            expect(() => JSON.parse(text)).not.toThrow();
            reads++;
          }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await uploadFile(path, options(e, { concurrency: 4 }));
    running = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(journals()).toEqual([]);
  });

  it('all parts were acknowledged but complete failed: the next call only completes', async () => {
    const e = await emulator({ faults: [{ route: 'complete', nth: 1, action: { type: 'status', status: 400 } }] });
    await expect(uploadFile(path, options(e))).rejects.toMatchObject({ status: 400 });
    expect(journal().parts).toHaveLength(PARTS);
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([expect.objectContaining({ partsDone: PARTS, bytesDone: data.length, totalParts: PARTS, restarted: false })]);
    expect(e.requests.filter((r) => r.id > mark).map((r) => r.route)).toEqual(['complete']);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });
});

describe('resume: when the journal cannot be trusted, a new session', () => {
  it('a session with under a minute left: new init, onResume says restarted (expired)', async () => {
    const e = await emulator({ expiresInMs: 50_000, latencyMs: 2 });
    await interrupted(e, 2);
    const previous = journal().session.mediaUploadId;
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(result.mediaUploadId).not.toBe(previous);
    expect(seen).toEqual([{ mediaUploadId: result.mediaUploadId, partsDone: 0, bytesDone: 0, totalParts: PARTS, restarted: true, reason: 'expired', previousMediaUploadId: previous }]);
    expect(e.requests.filter((r) => r.id > mark && r.mediaUploadId === previous)).toEqual([]);
    expect(partPuts(e, mark)).toHaveLength(PARTS);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  const gone: Array<[string, (e: Emulator) => void, number]> = [
    ['the server forgot the session (404)', (e) => e.reset(), 404],
    ['the server says it expired (410)', (e) => e.setFaults([{ route: 'part', nth: 1, action: { type: 'status', status: 410 } } satisfies FaultRule]), 410],
  ];
  for (const [label, forget, status] of gone) {
    it(`${label}: the resumed session is dropped and a new one uploads everything`, async () => {
      const e = await emulator({ latencyMs: 2 });
      await interrupted(e, 2);
      const previous = journal().session.mediaUploadId;
      forget(e);
      const mark = lastId(e);
      const seen: ResumeInfo[] = [];
      const sessions: string[] = [];
      const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info), onSession: (s) => sessions.push(s.mediaUploadId) }));
      expect(sessions).toEqual([previous, result.mediaUploadId]);
      expect(seen.map((s) => [s.restarted, s.reason])).toEqual([
        [false, undefined],
        [true, 'gone'],
      ]);
      expect(seen[1]).toMatchObject({ mediaUploadId: result.mediaUploadId, previousMediaUploadId: previous, partsDone: 0 });
      const after = e.requests.filter((r) => r.id > mark);
      expect(after.filter((r) => r.mediaUploadId === previous).map((r) => r.status)).toContain(status);
      expect(after.filter((r) => r.route === 'init')).toHaveLength(1);
      expect(after.filter((r) => r.route === 'part' && r.mediaUploadId === result.mediaUploadId && r.status === 200)).toHaveLength(PARTS);
      expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(journals()).toEqual([]);
    });
  }

  it('the file changed since (mtime): no resume, onResume says it restarted because it changed, the stale journal replaced', async () => {
    const e = await emulator({ latencyMs: 2 });
    await interrupted(e, 2);
    const previous = journal().session.mediaUploadId;
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([{ mediaUploadId: result.mediaUploadId, partsDone: 0, bytesDone: 0, totalParts: PARTS, restarted: true, reason: 'changed', previousMediaUploadId: previous }]);
    expect(result.mediaUploadId).not.toBe(previous);
    expect(partPuts(e, mark)).toHaveLength(PARTS);
    expect(journals()).toEqual([]);
  });

  it('a plan-less session has no parts to skip: it starts over (onResume: planless)', async () => {
    const e = await emulator({ mode: 'planless', latencyMs: 2 });
    const controller = new AbortController();
    const error = await uploadFile(path, options(e, { signal: controller.signal, onProgress: ({ bytesUploaded }) => bytesUploaded > P && controller.abort() })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AbortError);
    const previous = journal().session.mediaUploadId;
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([{ mediaUploadId: result.mediaUploadId, partsDone: 0, bytesDone: 0, totalParts: 1, restarted: true, reason: 'planless', previousMediaUploadId: previous }]);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  it('no journal, no onResume; without resume no journal is written at all', async () => {
    const e = await emulator();
    const seen: ResumeInfo[] = [];
    await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    const controller = new AbortController();
    await uploadFile(path, options(e, { resume: false, signal: controller.signal, onProgress: ({ partsCompleted }) => partsCompleted >= 2 && controller.abort() })).catch(() => undefined);
    expect(seen).toEqual([]);
    expect(existsSync(resumeDir) ? readdirSync(resumeDir) : []).toEqual([]);
  });
});

describe('resume: where, and one at a time', () => {
  it('a journal dir the system refuses does not cost the upload: a warning, and the upload without a journal', async () => {
    const e = await emulator();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // /sys refuses new entries, even to root.
      const result = await uploadFile(path, options(e, { resume: { dir: '/sys/ofauth-upload-stream-journals' } }));
      expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('OFAUTH_RESUME_JOURNAL');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('resume: true keeps its journal in $XDG_CACHE_HOME/ofauth-upload-stream', async () => {
    const e = await emulator({ latencyMs: 2 });
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(dir, 'cache');
    try {
      resumeDir = join(dir, 'cache', 'ofauth-upload-stream');
      await interrupted(e, 2, { resume: true });
      expect(journals()).toHaveLength(1);
      await uploadFile(path, options(e, { resume: true }));
      expect(readdirSync(resumeDir)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('a second upload of the same file while the first runs fails at once, naming the lock', async () => {
    const e = await emulator({ latencyMs: 20 });
    const first = uploadFile(path, options(e));
    // Once the first holds its lock (a few file operations on a busy disk: not a fixed time).
    const lockName = () => (existsSync(resumeDir) ? readdirSync(resumeDir).find((f) => f.endsWith('.lock')) : undefined);
    let lock = lockName();
    for (let i = 0; i < 500 && lock === undefined; i++) {
      await new Promise((r) => setTimeout(r, 2));
      lock = lockName();
    }
    expect(lock).toBeDefined();
    const started = Date.now();
    const error = await uploadFile(path, options(e, { filename: 'other-name.mp4' })).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(UploadLockedError);
    expect(error).toMatchObject({ code: 'ERR_OFAUTH_UPLOAD_LOCKED', pid: process.pid, lockPath: join(resumeDir, lock ?? '') });
    expect((error as Error).message).toContain(join(resumeDir, lock ?? ''));
    await first;
    expect(e.requests.filter((r) => r.route === 'init')).toHaveLength(1);
    expect(readdirSync(resumeDir)).toEqual([]);
  });
});
