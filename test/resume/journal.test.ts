import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MultipartPlan } from '../../lib/plan';
import { Journal, type JournalKey, defaultResumeDir, journalName } from '../../lib/resume/journal';
import { resumePoint } from '../../lib/resume/resume-point';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = 'http://127.0.0.1:9';
const key: JournalKey = {
  baseUrl: ORIGIN,
  connectionId: 'conn',
  path: '/videos/clip.mp4',
  size: 30,
  mtimeNs: '1700000000123456789',
  filename: 'clip.mp4',
  contentType: 'video/mp4',
  vaultUpload: null,
};

function plan(expiresInMs = 3_600_000): MultipartPlan {
  const part = (n: number, start: number, end: number) => ({ partNumber: n, uploadUrl: `${ORIGIN}/v2/access/uploads/u1/parts/${n}`, byteRange: { start, end } });
  return {
    mediaUploadId: 'upload:u1',
    uploadType: 'multipart',
    totalParts: 3,
    partSize: 10,
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    parts: [part(1, 0, 9), part(2, 10, 19), part(3, 20, 29)],
  };
}

describe('Journal', () => {
  it('start, acknowledge, load: the parts with their etags, read back only for the same key', async () => {
    const journal = new Journal(dir, key);
    await journal.start(plan());
    journal.acknowledge('upload:u1', { partNumber: 2, etag: '"b"' });
    journal.acknowledge('upload:u1', { partNumber: 1, etag: '"a"' });
    journal.acknowledge('upload:other', { partNumber: 3, etag: '"late"' });
    await journal.settle();
    const entry = await new Journal(dir, key).load(ORIGIN);
    expect(entry?.session.mediaUploadId).toBe('upload:u1');
    expect(entry?.parts).toEqual([
      { partNumber: 1, etag: '"a"' },
      { partNumber: 2, etag: '"b"' },
    ]);
    expect(readdirSync(dir)).toEqual([`${journalName(key)}.json`]);
  });

  it.each([
    ['size', { size: 31 }],
    ['mtime', { mtimeNs: '1700000000123456790' }],
    ['filename', { filename: 'other.mp4' }],
    ['content type', { contentType: 'video/webm' }],
    ['vault user', { vaultUpload: { userId: 'u2' } }],
  ])('a journal left for another %s is not used, and is removed', async (_label, change) => {
    const journal = new Journal(dir, key);
    await journal.start(plan());
    const other = new Journal(dir, { ...key, ...change });
    expect(other.path).toBe(journal.path);
    expect(await other.load(ORIGIN)).toBeUndefined();
    expect(existsSync(journal.path)).toBe(false);
  });

  it('the key compares by value, whatever the order of its fields', async () => {
    const withUser = { ...key, vaultUpload: { mode: 'message' as const, userId: 'u1' } };
    await new Journal(dir, withUser).start(plan());
    expect(await new Journal(dir, { ...key, vaultUpload: { userId: 'u1', mode: 'message' } }).load(ORIGIN)).toBeDefined();
  });

  it.each([
    ['damaged JSON', () => '{"version":1,'],
    ['another version', () => JSON.stringify({ version: 2, key, session: plan(), parts: [] })],
    ['a plan that does not cover the size', () => JSON.stringify({ version: 1, key: { ...key }, session: { ...plan(), parts: plan().parts.slice(0, 2), totalParts: 2 }, parts: [] })],
  ])('%s: not used, removed', async (_label, text) => {
    const journal = new Journal(dir, key);
    writeFileSync(journal.path, text());
    expect(await journal.load(ORIGIN)).toBeUndefined();
    expect(existsSync(journal.path)).toBe(false);
  });

  it('a slot it cannot read (a directory) is no error: a warning, undefined, left alone; a failed write warns once more', async () => {
    const journal = new Journal(dir, key);
    mkdirSync(journal.path);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      expect(await journal.load(ORIGIN)).toBeUndefined();
      await journal.start(plan());
      journal.acknowledge('upload:u1', { partNumber: 1 });
      await journal.settle();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => [(w as Error & { code?: string }).code, /could not be (read|written) \((\w+)\)/.exec(w.message)?.slice(1)])).toEqual([
      ['OFAUTH_RESUME_JOURNAL', ['read', 'EISDIR']],
      ['OFAUTH_RESUME_JOURNAL', ['written', 'EISDIR']],
    ]);
    expect(statSync(journal.path).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual([`${journalName(key)}.json`]);
  });

  it('remove waits for the writes in flight, then deletes: nothing is written after it', async () => {
    const journal = new Journal(dir, key);
    await journal.start(plan());
    for (let n = 1; n <= 3; n++) journal.acknowledge('upload:u1', { partNumber: n, etag: `"${n}"` });
    await journal.remove();
    await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('acknowledgements that arrive during a write are written together by the next one', async () => {
    const journal = new Journal(dir, key);
    await journal.start(plan());
    for (let n = 1; n <= 3; n++) journal.acknowledge('upload:u1', { partNumber: n });
    await journal.settle();
    expect(JSON.parse(readFileSync(journal.path, 'utf8')).parts).toEqual([{ partNumber: 1 }, { partNumber: 2 }, { partNumber: 3 }]);
  });
});

describe('resumePoint', () => {
  it('carries on with time left, starts over with under a minute, or for a plan-less session', () => {
    expect(resumePoint({ session: plan(61_000), parts: [{ partNumber: 1 }] }, Date.now())).toMatchObject({ kind: 'continue', done: [{ partNumber: 1 }] });
    expect(resumePoint({ session: plan(59_000), parts: [] }, Date.now())).toEqual({ kind: 'restart', reason: 'expired', previous: 'upload:u1' });
    expect(resumePoint({ session: { mediaUploadId: 'upload:p' }, parts: [] }, Date.now())).toEqual({ kind: 'restart', reason: 'planless', previous: 'upload:p' });
  });
});

describe('defaultResumeDir', () => {
  it('$XDG_CACHE_HOME when absolute, else ~/.cache', () => {
    expect(defaultResumeDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/ofauth-upload-stream');
    expect(defaultResumeDir({ XDG_CACHE_HOME: 'relative' })).toBe(join(homedir(), '.cache', 'ofauth-upload-stream'));
    expect(defaultResumeDir({})).toBe(join(homedir(), '.cache', 'ofauth-upload-stream'));
  });
});
