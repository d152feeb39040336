// What a Ctrl-C says of an upload that had sent nothing yet, and where the "finishing" notice of
// one it lets finish goes (issue 26, item 8): runBatch in this process, Ctrl-C as the batch's
// signal aborting from inside the upload's own events (no timing).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceOutcome } from '../../lib/cli/batch/outcome';
import { cancellation, outcomeRecord, problemLine } from '../../lib/cli/batch/records';
import type { Reporter } from '../../lib/cli/batch/reporter';
import { type BatchRun, runBatch } from '../../lib/cli/batch/run-batch';
import type { SourceItem } from '../../lib/cli/sources/source-item';
import type { UploadEvents } from '../../lib/cli/sources/stream-to-vault';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { bytes } from '../helpers';

const API_KEY = 'sk_batch_cancel_secret_3';
const agent = new Agent();
let dir: string;
let emu: Emulator;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'batch-cancel-'));
  emu = await startEmulator({ apiKey: API_KEY, partSize: 256 * 1024, hashing: 'sha256' });
});
afterEach(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => agent.close());

interface Heard {
  outcomes: SourceOutcome[];
  notices: string[];
}

/** A reporter that keeps what it hears and lets `on` react to one upload's events. */
function reporter(heard: Heard, on: Partial<UploadEvents> = {}): Reporter {
  const events: UploadEvents = { opened() {}, spooled() {}, uploading() {}, progress() {}, session() {}, resumed() {}, rateLimited() {}, ...on };
  return { begin() {}, started: () => events, finished: (o) => heard.outcomes.push(o), notice: (line) => heard.notices.push(line), end() {} };
}

function batch(items: SourceItem[], controller: AbortController, report: Reporter, stdin: NodeJS.ReadStream = process.stdin): BatchRun {
  return {
    items,
    jobs: 1,
    context: {
      connection: { baseUrl: emu.url, apiKey: API_KEY, connectionId: 'conn_cancel' },
      tuning: { spoolDir: dir },
      resume: false,
      dispatcher: agent,
      downloads: agent,
      signal: controller.signal,
      stdin,
      s3: undefined,
      userAgent: 'test',
    },
    target: { kind: 'api', baseUrl: emu.url },
    manifest: undefined,
    storedSha256: undefined,
    reporter: report,
  };
}

describe('Ctrl-C before anything was uploaded says so', () => {
  it('a pipe of unknown size still being buffered: cancelled at stage buffering, no request made', async () => {
    const heard: Heard = { outcomes: [], notices: [] };
    const controller = new AbortController();
    const stdin = new PassThrough();
    // Ctrl-C once the spool has taken the first MiB; the pipe stays open.
    const report = reporter(heard, { spooled: (n) => n >= 1024 * 1024 && controller.abort(new Error('SIGINT')) });
    const feeding = (async () => {
      for (let i = 0; i < 64 && !controller.signal.aborted; i++) {
        if (!stdin.write(bytes(64 * 1024, i + 1))) await new Promise((r) => stdin.once('drain', r));
      }
    })();
    const totals = await runBatch(batch([{ kind: 'stdin', source: '-' }], controller, report, stdin as unknown as NodeJS.ReadStream));
    await feeding;
    expect(totals).toMatchObject({ cancelled: 1, interrupted: true });
    expect(heard.outcomes).toEqual([expect.objectContaining({ type: 'cancelled', stage: 'buffering' })]);
    expect(heard.outcomes[0]).not.toHaveProperty('mediaUploadId');
    expect(emu.requests).toHaveLength(0);
  });

  it('a download not yet answering: cancelled at stage opening', async () => {
    // Accepts the connection and never answers.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const heard: Heard = { outcomes: [], notices: [] };
      const controller = new AbortController();
      const item: SourceItem = { kind: 'url', source: `http://127.0.0.1:${port}/clip.mp4`, url: new URL(`http://127.0.0.1:${port}/clip.mp4`) };
      // Ctrl-C as the source is being opened.
      const report: Reporter = { ...reporter(heard), started: () => (controller.abort(new Error('SIGINT')), reporter(heard).started(item)) };
      await runBatch(batch([item], controller, report));
      expect(heard.outcomes).toEqual([expect.objectContaining({ type: 'cancelled', stage: 'opening' })]);
      expect(emu.requests).toHaveLength(0);
    } finally {
      silent.close();
    }
  });

  it('a source of known size once open: no stage (its requests may be in flight), as before', async () => {
    const heard: Heard = { outcomes: [], notices: [] };
    const controller = new AbortController();
    const file = join(dir, 'a.mp4');
    writeFileSync(file, bytes(1024 * 1024, 5));
    const stats = statSync(file);
    const report = reporter(heard, { progress: (p) => p.bytesUploaded > 0 && controller.abort(new Error('SIGINT')) });
    await runBatch(batch([{ kind: 'file', source: file, path: file, stats: { size: stats.size, mtimeMs: stats.mtimeMs } }], controller, report));
    expect(heard.outcomes).toHaveLength(1);
    expect(heard.outcomes[0]).toMatchObject({ type: 'cancelled', mediaUploadId: expect.any(String) });
    expect(heard.outcomes[0]).not.toHaveProperty('stage');
  });
});

describe('the words', () => {
  const item: SourceItem = { kind: 'stdin', source: '-' };
  it.each([
    ['buffering', 'Interrupted (SIGINT) while the source (size unknown) was still being buffered: nothing was uploaded', 'ofauth-upload: cancelled - while it was being buffered: nothing was uploaded'],
    ['opening', 'Interrupted (SIGINT) while the source was being opened: nothing was uploaded', 'ofauth-upload: cancelled - while it was being opened: nothing was uploaded'],
  ] as const)('%s: the error, the JSON line and the batch line say nothing was uploaded, and never "in-flight requests"', (stage, message, line) => {
    expect(cancellation(undefined, false, stage).message).toBe(message);
    const outcome: SourceOutcome = { type: 'cancelled', item, stage };
    expect(outcomeRecord(outcome)).toMatchObject({ type: 'cancelled', error: { code: 'ABORT_ERR', message } });
    expect(problemLine(outcome)).toBe(line);
    expect(JSON.stringify(outcomeRecord(outcome))).not.toContain('in-flight');
  });

  it('no stage: the in-flight words, and the session left unfinished when there is one', () => {
    expect(cancellation(undefined).message).toBe('Interrupted (SIGINT): in-flight requests cancelled before the upload was confirmed');
    expect(cancellation('upload:1', true).message).toContain('mediaUploadId upload:1 was left unfinished; run the same command again to resume it');
  });
});

describe('Ctrl-C while an upload is only finalizing', () => {
  it('lets it finish, and says so through the reporter (which draws it above the live block), not around it', async () => {
    const heard: Heard = { outcomes: [], notices: [] };
    const controller = new AbortController();
    const file = join(dir, 'b.mp4');
    writeFileSync(file, bytes(600_000, 6));
    const stats = statSync(file);
    const report = reporter(heard, { progress: (p) => p.partsCompleted === p.totalParts && controller.abort(new Error('SIGINT')) });
    await runBatch(batch([{ kind: 'file', source: file, path: file, stats: { size: stats.size, mtimeMs: stats.mtimeMs } }], controller, report));
    expect(heard.outcomes).toEqual([expect.objectContaining({ type: 'uploaded' })]);
    expect(heard.notices).toEqual([`ofauth-upload: finishing ${file}: all of it is in the vault, only finalizing is left (Ctrl-C again to exit now)`]);
  });
});

describe('a resumed upload in a batch', () => {
  it('counts in the totals only the bytes this run sent, and its summary says how many', async () => {
    await emu.close();
    emu = await startEmulator({ apiKey: API_KEY, partSize: 256 * 1024, hashing: 'sha256', faults: [{ route: 'part', partNumber: 3, nth: 1, action: { type: 'hang' } }] });
    const file = join(dir, 'c.mp4');
    writeFileSync(file, bytes(1024 * 1024, 7));
    const stats = statSync(file);
    const item: SourceItem = { kind: 'file', source: file, path: file, stats: { size: stats.size, mtimeMs: stats.mtimeMs } };
    const resume = { dir: join(dir, 'journals') };
    // Run 1: Ctrl-C once every part but the hanging third is in the vault.
    const first: Heard = { outcomes: [], notices: [] };
    const stop = new AbortController();
    const one = batch([item], stop, reporter(first, { progress: (p) => p.partsCompleted === 3 && stop.abort(new Error('SIGINT')) }));
    await runBatch({ ...one, context: { ...one.context, resume } });
    expect(first.outcomes).toEqual([expect.objectContaining({ type: 'cancelled', resumable: true })]);
    // Run 2: only the third part is sent.
    const second: Heard = { outcomes: [], notices: [] };
    const two = batch([item], new AbortController(), reporter(second));
    const totals = await runBatch({ ...two, context: { ...two.context, resume } });
    expect(second.outcomes).toEqual([expect.objectContaining({ type: 'uploaded', summary: expect.objectContaining({ bytes: 1024 * 1024, bytesSent: 256 * 1024 }) })]);
    expect(totals.bytes).toBe(256 * 1024);
  });
});
