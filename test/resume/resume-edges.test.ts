import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../lib/emulator';
import { AbortError, type ResumeInfo, SourceChangedError, type UploadFileOptions, uploadFile } from '../../lib/index';
import { KiB, bytes, fastRetry, openFilesIn, sha256 } from '../helpers';

// What uploadFile with resume leaves behind, and what it makes of what others left: debris of
// killed writers, a journal slot it cannot read, a file that changed, a journal naming parts the
// plan does not have, and its own file handles.

const API_KEY = 'sk_live_resume_edges_secret_5';
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
  dir = mkdtempSync(join(tmpdir(), 'resume-edges-'));
  resumeDir = join(dir, 'journals');
  data = bytes(PARTS * P - 100, 33);
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

const left = () => (existsSync(resumeDir) ? readdirSync(resumeDir).sort() : []);
const partPuts = (e: Emulator, fromId = 0) => e.requests.filter((r) => r.route === 'part' && r.id > fromId);
const lastId = (e: Emulator) => e.requests.at(-1)?.id ?? 0;

/** Runs uploadFile and aborts it once `parts` parts were acknowledged; returns the journal's file name. */
async function interrupted(e: Emulator, parts: number): Promise<string> {
  const controller = new AbortController();
  const error = await uploadFile(path, options(e, { signal: controller.signal, onProgress: ({ partsCompleted }) => partsCompleted >= parts && controller.abort() })).catch(
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AbortError);
  const name = left().find((f) => f.endsWith('.json'));
  if (name === undefined) throw new Error('no journal');
  return name;
}

async function warningsDuring<T>(run: () => Promise<T>): Promise<{ value: T; codes: string[]; messages: string[] }> {
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const value = await run();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    return { value, codes: warnings.map((w) => w.code ?? ''), messages: warnings.map((w) => w.message) };
  } finally {
    process.off('warning', onWarning);
  }
}

describe('resume: debris and an unusable journal never cost an upload', () => {
  it("a killed writer's temp journal is removed by the next upload, as is the package's abandoned debris, and nothing else", async () => {
    const e = await emulator({ latencyMs: 2 });
    const journal = await interrupted(e, 2);
    const name = journal.replace(/\.json$/, '');
    const hourAndMore = new Date(Date.now() - 2 * 3_600_000);
    const other = 'f'.repeat(32);
    const debris = {
      // This journal's, from a writer killed mid-write (any age: the lock holder owns the journal).
      ownTemp: `${journal}.4242.tmp`,
      // A draft of this lock, left by an acquirer killed while placing it.
      ownDraft: `${name}.lock.0b0c5a3e-8a1b-4c53-9d0e-2f1a3b4c5d6e.tmp`,
      // Another upload's, abandoned hours ago.
      abandoned: `${other}.json.77.tmp`,
    };
    const kept = {
      // Another upload's, fresh: its writer may be at work right now.
      fresh: `${other}.json.78.tmp`,
      // Not the package's: never touched, however old.
      foreign: 'notes.tmp',
    };
    for (const file of [...Object.values(debris), ...Object.values(kept)]) writeFileSync(join(resumeDir, file), Buffer.alloc(155 * KiB));
    for (const file of [debris.abandoned, kept.foreign]) utimesSync(join(resumeDir, file), hourAndMore, hourAndMore);
    // A draft lives for milliseconds: one a few minutes old is abandoned.
    const minutesAgo = new Date(Date.now() - 5 * 60_000);
    utimesSync(join(resumeDir, debris.ownDraft), minutesAgo, minutesAgo);

    const result = await uploadFile(path, options(e));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(left()).toEqual(Object.values(kept).sort());
  });

  it('a journal slot that cannot be read (a directory) does not fail the upload: a warning, and a fresh upload', async () => {
    const e = await emulator();
    // Find the slot's name with a first upload's journal, then put a directory there.
    const journal = await interrupted(e, 1);
    rmSync(join(resumeDir, journal));
    mkdirSync(join(resumeDir, journal));
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const { value: result, codes, messages } = await warningsDuring(() => uploadFile(path, options(e, { onResume: (info) => seen.push(info) })));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(seen).toEqual([]);
    expect(partPuts(e, mark)).toHaveLength(PARTS);
    expect(codes).toContain('OFAUTH_RESUME_JOURNAL');
    expect(messages.join('\n')).toContain('EISDIR');
    // Left as it was found (it is not the package's to delete), and no lock or temp file beside it.
    expect(left()).toEqual([journal]);
  });
});

describe('resume: what an upload leaves when it ends', () => {
  it('the file changed mid-upload: the journal is removed and the lock released; the changed file then uploads afresh', async () => {
    const e = await emulator({ latencyMs: 2 });
    let changed = false;
    const error = await uploadFile(
      path,
      options(e, {
        concurrency: 1,
        onProgress: ({ partsCompleted }) => {
          if (partsCompleted >= 2 && !changed) {
            changed = true;
            utimesSync(path, new Date(), new Date(Date.now() + 10_000));
          }
        },
      }),
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SourceChangedError);
    expect(left()).toEqual([]);

    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([]);
    expect(e.requests.filter((r) => r.id > mark && r.route === 'init')).toHaveLength(1);
    expect(partPuts(e, mark)).toHaveLength(PARTS);
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
    expect(left()).toEqual([]);
  });

  it('a journal naming parts beyond the plan still resumes: those are ignored, only the missing parts are sent', async () => {
    const e = await emulator({ latencyMs: 2 });
    const name = await interrupted(e, 3);
    const file = join(resumeDir, name);
    const journal = JSON.parse(readFileSync(file, 'utf8')) as { parts: Array<{ partNumber: number; etag?: string }> };
    const done = journal.parts.map((p) => p.partNumber).sort((a, b) => a - b);
    journal.parts.push({ partNumber: PARTS + 1, etag: '"stray"' }, { partNumber: 99 });
    writeFileSync(file, JSON.stringify(journal));
    const mark = lastId(e);
    const seen: ResumeInfo[] = [];
    const result = await uploadFile(path, options(e, { onResume: (info) => seen.push(info) }));
    expect(seen).toEqual([expect.objectContaining({ partsDone: done.length, bytesDone: done.length * P, totalParts: PARTS, restarted: false })]);
    const sent = partPuts(e, mark).map((r) => r.partNumber).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(sent).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1).filter((n) => !done.includes(n)));
    expect(result.parts.map((p) => p.partNumber)).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1));
    expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
  });

  for (const resume of [true, false]) {
    it(`no file descriptor is left on the file, nor in the journal dir, once uploadFile resolves or rejects (resume: ${resume})`, async () => {
      const e = await emulator({ faults: [{ route: 'complete', nth: 1, action: { type: 'status', status: 400 } }] });
      const real = realpathSync(path);
      const extra = resume ? {} : { resume: false as const };
      const ours = () => openFilesIn().filter((p) => p === real || p.startsWith(`${realpathSync(dir)}/`));
      await expect(uploadFile(path, options(e, extra))).rejects.toMatchObject({ status: 400 });
      expect(ours()).toEqual([]);
      const result = await uploadFile(path, options(e, extra));
      expect(e.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(ours()).toEqual([]);
    });
  }
});
