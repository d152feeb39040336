import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Manifest } from '../../lib/cli/batch/manifest';
import type { SourceOutcome } from '../../lib/cli/batch/outcome';
import type { Reporter } from '../../lib/cli/batch/reporter';
import { type BatchRun, runBatch } from '../../lib/cli/batch/run-batch';
import type { SourceItem } from '../../lib/cli/sources/source-item';
import type { UploadEvents } from '../../lib/cli/sources/stream-to-vault';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { bytes } from '../helpers';

// runBatch itself, in this process: what goes into the manifest, and when a source is skipped.

const API_KEY = 'sk_run_batch_secret_5';
const TARGET = { baseUrl: 'http://api.example', connectionId: 'conn_run_batch' };
const agent = new Agent();
let dir: string;
let emu: Emulator;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'run-batch-'));
  emu = await startEmulator({ apiKey: API_KEY, partSize: 256 * 1024, hashing: 'sha256' });
});
afterEach(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => agent.close());

const silent: UploadEvents = { opened() {}, spooled() {}, uploading() {}, progress() {}, session() {}, resumed() {}, rateLimited() {} };

function collecting(outcomes: SourceOutcome[]): Reporter {
  return { begin() {}, started: () => silent, finished: (outcome) => outcomes.push(outcome), notice() {}, end() {} };
}

function run(items: SourceItem[], manifest: Manifest, outcomes: SourceOutcome[], more: Partial<BatchRun> = {}): BatchRun {
  return {
    items,
    jobs: 1,
    context: {
      connection: { baseUrl: emu.url, apiKey: API_KEY, connectionId: TARGET.connectionId },
      tuning: {},
      resume: false,
      dispatcher: agent,
      downloads: agent,
      signal: new AbortController().signal,
      stdin: process.stdin,
      s3: undefined,
      userAgent: 'test',
    },
    target: { kind: 'api', baseUrl: emu.url },
    manifest,
    storedSha256: (id) => emu.media(id)?.sha256 ?? '(nothing stored)',
    reporter: collecting(outcomes),
    ...more,
  };
}

function fileItem(path: string): SourceItem {
  const stats = statSync(path);
  return { kind: 'file', source: path, path, stats: { size: stats.size, mtimeMs: stats.mtimeMs } };
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('runBatch and the manifest', () => {
  it('an upload whose stored sha256 differs from what was sent is a failure and is not recorded', async () => {
    const path = join(dir, 'm.jsonl');
    const manifest = await Manifest.open(path, TARGET);
    const outcomes: SourceOutcome[] = [];
    const file = join(dir, 'a.mp4');
    writeFileSync(file, bytes(300_000, 1));
    const totals = await runBatch(run([fileItem(file)], manifest, outcomes, { storedSha256: () => '0'.repeat(64) }));
    await manifest.close();
    expect(totals).toMatchObject({ uploaded: 0, failed: 1 });
    expect(outcomes[0]).toMatchObject({ type: 'uploaded', summary: { ok: false, sha256Match: false } });
    expect(lines(path)).toEqual([]);
  });

  it('an upload whose stored sha256 matches is recorded, naming its account', async () => {
    const path = join(dir, 'm.jsonl');
    const manifest = await Manifest.open(path, TARGET);
    const file = join(dir, 'a.mp4');
    writeFileSync(file, bytes(300_000, 2));
    const totals = await runBatch(run([fileItem(file)], manifest, []));
    await manifest.close();
    expect(totals).toMatchObject({ uploaded: 1, failed: 0 });
    expect(lines(path)).toEqual([expect.objectContaining({ ...TARGET, source: file, size: 300_000 })]);
  });

  it('a file changed after the folder was listed is judged by its stat when opened, not by the listing', async () => {
    const path = join(dir, 'm.jsonl');
    const a = join(dir, 'a.mp4');
    const b = join(dir, 'b.mp4');
    writeFileSync(a, bytes(300_000, 3));
    writeFileSync(b, bytes(300_000, 4));
    const first = await Manifest.open(path, TARGET);
    await runBatch(run([fileItem(a), fileItem(b)], first, []));
    await first.close();
    expect(lines(path)).toHaveLength(2);

    // Listed while both are as recorded; b changes while a is being uploaded (a changed too, so
    // it is sent), before b's turn comes (one job).
    writeFileSync(a, bytes(300_001, 5));
    const items = [fileItem(a), { ...fileItem(b), stats: { size: 300_000, mtimeMs: statSync(b).mtimeMs } }];
    emu.setFaults([
      {
        route: 'complete',
        nth: 1,
        action: {
          type: 'mutate',
          fn: (answer) => {
            writeFileSync(b, bytes(200_000, 6));
            return answer;
          },
        },
      },
    ]);
    const outcomes: SourceOutcome[] = [];
    const second = await Manifest.open(path, TARGET);
    const totals = await runBatch(run(items, second, outcomes));
    await second.close();
    expect(outcomes.map((o) => [o.item.source, o.type])).toEqual([
      [a, 'uploaded'],
      [b, 'uploaded'],
    ]);
    expect(totals).toMatchObject({ uploaded: 2, skipped: 0 });
    expect(lines(path).at(-1)).toMatchObject({ source: b, size: 200_000 });
  });
});
