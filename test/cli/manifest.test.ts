import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manifest, type ManifestEntry } from '../../lib/cli/batch/manifest';
import { UsageError } from '../../lib/cli/usage-error';

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
    const m = await Manifest.open(path);
    await m.append(entry('/shoot/a.mp4', { mtimeMs: 1712.5 }));
    await m.append(entry('https://cdn.example/b.mp4', { etag: '"e1"', size: 200 }));
    await m.close();
    const again = await Manifest.open(path);
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
    writeFileSync(path, `${JSON.stringify(entry('/a', { mtimeMs: 1 }))}\nnot json\n{"source":"/b","size":`);
    const m = await Manifest.open(path);
    expect(m.unreadableLines).toBe(2);
    await m.append(entry('/c', { mtimeMs: 3 }));
    await m.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines.at(-2) ?? '')).toMatchObject({ source: '/c' });
    const again = await Manifest.open(path);
    expect(again.find('/a', { kind: 'file', size: 100, mtimeMs: 1 })).toBeDefined();
    expect(again.find('/c', { kind: 'file', size: 100, mtimeMs: 3 })).toBeDefined();
    await again.close();
  });

  it('appends from many uploads at once stay whole lines', async () => {
    const path = join(dir, 'm3.jsonl');
    const m = await Manifest.open(path);
    // Another writer appending meanwhile (a second run on the same manifest) does not break lines either.
    appendFileSync(path, `${JSON.stringify(entry('/other-run', { mtimeMs: 9 }))}\n`);
    await Promise.all(Array.from({ length: 25 }, (_, i) => m.append(entry(`/f${i}`, { mtimeMs: i, filename: 'x'.repeat(i * 50) }))));
    await m.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(26);
    expect(lines.map((l) => (JSON.parse(l) as ManifestEntry).source).sort()).toEqual(['/other-run', ...Array.from({ length: 25 }, (_, i) => `/f${i}`)].sort());
  });

  it('a manifest that cannot be opened is a usage error', async () => {
    await expect(Manifest.open(join(dir, 'no', 'such', 'folder.jsonl'))).rejects.toThrow(UsageError);
    await expect(Manifest.open(join(dir, 'no', 'such', 'folder.jsonl'))).rejects.toThrow('its folder does not exist');
    await expect(Manifest.open(dir)).rejects.toThrow(UsageError);
  });
});
