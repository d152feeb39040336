import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_EMULATOR, Manifest, type ManifestEntry } from '../../lib/cli/batch/manifest';
import { UsageError } from '../../lib/cli/usage-error';

const TARGET = { baseUrl: 'https://api.ofauth.com', connectionId: 'creator_alice' };
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ofauth-manifest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (source: string, more: Partial<ManifestEntry> = {}): ManifestEntry => ({
  source,
  size: 100,
  sha256: 'a'.repeat(64),
  mediaUploadId: `upload:${source}`,
  mediaId: 7,
  ...more,
});

describe('Manifest', () => {
  it('created when missing; an entry is found again by size + mtime (files) or ETag (downloads), after a reopen', async () => {
    const path = join(dir, 'm1.jsonl');
    const m = await Manifest.open(path, TARGET);
    await m.append(entry('/shoot/a.mp4', { mtimeMs: 1712.5 }));
    await m.append(entry('https://cdn.example/b.mp4', { etag: '"e1"', size: 200 }));
    await m.close();
    const again = await Manifest.open(path, TARGET);
    expect(again.find('/shoot/a.mp4', { kind: 'file', size: 100, mtimeMs: 1712.5 })?.mediaUploadId).toBe('upload:/shoot/a.mp4');
    expect(again.find('/shoot/a.mp4', { kind: 'file', size: 100, mtimeMs: 1712.6 })).toBeUndefined();
    expect(again.find('/shoot/a.mp4', { kind: 'file', size: 101, mtimeMs: 1712.5 })).toBeUndefined();
    expect(again.find('https://cdn.example/b.mp4', { kind: 'etag', etag: '"e1"' })).toBeDefined();
    expect(again.find('https://cdn.example/b.mp4', { kind: 'etag', etag: '"e1"', size: 200 })).toBeDefined();
    expect(again.find('https://cdn.example/b.mp4', { kind: 'etag', etag: '"e1"', size: 201 })).toBeUndefined();
    expect(again.find('https://cdn.example/b.mp4', { kind: 'etag', etag: '"e2"' })).toBeUndefined();
    expect(again.find('/other', { kind: 'etag', etag: '"e1"' })).toBeUndefined();
    await again.close();
  });

  it('a line a crash cut short is ignored, and the next line starts on a line of its own', async () => {
    const path = join(dir, 'm2.jsonl');
    writeFileSync(path, `${JSON.stringify({ ...TARGET, ...entry('/a', { mtimeMs: 1 }) })}\nnot json\n{"source":"/b","size":`);
    const m = await Manifest.open(path, TARGET);
    expect(m.unreadableLines).toBe(2);
    await m.append(entry('/c', { mtimeMs: 3 }));
    await m.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines.at(-2) ?? '')).toMatchObject({ source: '/c' });
    const again = await Manifest.open(path, TARGET);
    expect(again.find('/a', { kind: 'file', size: 100, mtimeMs: 1 })).toBeDefined();
    expect(again.find('/c', { kind: 'file', size: 100, mtimeMs: 3 })).toBeDefined();
    await again.close();
  });

  it('appends from many uploads at once stay whole lines', async () => {
    const path = join(dir, 'm3.jsonl');
    const m = await Manifest.open(path, TARGET);
    // Another writer appending meanwhile (a second run on the same manifest) does not break lines either.
    appendFileSync(path, `${JSON.stringify(entry('/other-run', { mtimeMs: 9 }))}\n`);
    await Promise.all(Array.from({ length: 25 }, (_, i) => m.append(entry(`/f${i}`, { mtimeMs: i, filename: 'x'.repeat(i * 50) }))));
    await m.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(26);
    expect(lines.map((l) => (JSON.parse(l) as ManifestEntry).source).sort()).toEqual(['/other-run', ...Array.from({ length: 25 }, (_, i) => `/f${i}`)].sort());
  });

  it('a manifest that cannot be opened is a usage error', async () => {
    await expect(Manifest.open(join(dir, 'no', 'such', 'folder.jsonl'), TARGET)).rejects.toThrow(UsageError);
    await expect(Manifest.open(join(dir, 'no', 'such', 'folder.jsonl'), TARGET)).rejects.toThrow('its folder does not exist');
    await expect(Manifest.open(dir, TARGET)).rejects.toThrow(UsageError);
  });

  it('a line counts only for the account it names: another connection id, another server, the emulator, or none (older lines) is not a match', async () => {
    const path = join(dir, 'm4.jsonl');
    const alice = await Manifest.open(path, TARGET);
    await alice.append({ ...entry('/shoot/a.mp4', { mtimeMs: 5 }), connectionId: 'spoofed' });
    await alice.close();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ ...TARGET, source: '/shoot/a.mp4' });
    appendFileSync(path, `${JSON.stringify(entry('/shoot/legacy.mp4', { mtimeMs: 6 }))}\n`);
    const identity = { kind: 'file', size: 100, mtimeMs: 5 } as const;
    const others = [
      { ...TARGET, connectionId: 'creator_bob' },
      { ...TARGET, baseUrl: 'http://127.0.0.1:4010' },
      { baseUrl: EMBEDDED_EMULATOR, connectionId: TARGET.connectionId },
    ];
    for (const target of others) {
      const m = await Manifest.open(path, target);
      expect(m.find('/shoot/a.mp4', identity), JSON.stringify(target)).toBeUndefined();
      await m.close();
    }
    const again = await Manifest.open(path, TARGET);
    expect(again.find('/shoot/a.mp4', identity)).toBeDefined();
    expect(again.find('/shoot/legacy.mp4', { kind: 'file', size: 100, mtimeMs: 6 })).toBeUndefined();
    await again.close();
  });
});
