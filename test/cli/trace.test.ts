import type { ChildProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TraceFile } from '../../lib/cli/trace-file';
import { UsageError } from '../../lib/cli/usage-error';
import { OFAuthApiError } from '../../lib/errors';
import { cliEmulatorFixture, ensureBuilt, runCli, waitFor } from './run-cli';

const MiB = 1024 * 1024;
const API_KEY = 'sk_cli_trace_SECRET_5d1e';
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-cli-trace-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emulator = cliEmulatorFixture(API_KEY, 'conn_trace');

interface Line {
  t: number;
  channel: string;
  event: string;
  [field: string]: unknown;
}

/** Every line of the file, each parsed (a line that does not parse fails the test). */
function readTrace(path: string): { text: string; lines: Line[] } {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  const lines = text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  return { text, lines };
}

const label = (l: Line): string => `${l.channel}:${l.event}`;

describe('ofauth-upload --trace FILE', () => {
  it('writes every event as a JSON line: upload, init, the parts (part 2 answered 503, retried), complete, the upload with its result', async () => {
    // Part URLs are presigned on a foreign origin: a signature in their query, which no line may carry.
    const { emu, env } = await emulator({ mode: 'multipart', foreignOrigin: true, faults: [{ route: 'part', partNumber: 2, nth: 1, action: { type: 'status', status: 503 } }] });
    const path = join(dir, 'out.ndjson');
    const run = await runCli(['--sample', '3MiB', '--trace', path, '--concurrency', '1', '--json'], { env });
    expect(run.code).toBe(0);
    const mediaUploadId = (JSON.parse(run.stdout) as { mediaUploadId: string }).mediaUploadId;
    expect(emu.requests.some((r) => r.route === 'part' && r.status === 503)).toBe(true);

    const { text, lines } = readTrace(path);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('?');
    expect(text).not.toContain('X-Signature');
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.t).toBeGreaterThanOrEqual(lines[i - 1]!.t);
    for (const line of lines) expect(String(line.t)).toMatch(/^\d+(\.\d{1,3})?$/);

    // The upload's start comes first, its asyncEnd last, with the result summarised.
    expect(lines[0]).toMatchObject({ channel: 'upload', event: 'start', filename: 'sample-3MiB.bin', size: 3 * MiB, contentType: 'application/octet-stream', connectionId: 'conn_trace', server: emu.url });
    expect(lines[0]).not.toHaveProperty('mediaUploadId');
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ channel: 'upload', event: 'asyncEnd', mediaUploadId, result: { mediaUploadId, size: 3 * MiB, parts: 3 } });
    expect(Object.keys(last.result as object).sort()).toEqual(['mediaId', 'mediaUploadId', 'parts', 'size']);
    // The result is on that one line only.
    expect(lines.filter((l) => 'result' in l)).toHaveLength(1);

    // Init before any part; each request's line names its upload by filename and session only.
    const labels = lines.map(label);
    expect(labels.slice(0, 6)).toEqual(['upload:start', 'upload:end', 'init:start', 'init:end', 'init:asyncStart', 'init:asyncEnd']);
    expect(lines[2]).toMatchObject({ request: 'init', attempt: 1, method: 'POST', url: `${emu.url}/v2/access/uploads/init`, upload: { filename: 'sample-3MiB.bin' } });
    expect(lines[5]).toMatchObject({ statusCode: 200 });
    const parts = lines.filter((l) => l.channel === 'part');
    expect(parts.length).toBeGreaterThan(0);
    for (const l of parts) expect(l.upload).toEqual({ filename: 'sample-3MiB.bin', mediaUploadId });
    expect(lines.indexOf(parts[0]!)).toBeGreaterThan(5);

    // Part 2: attempt 1 answered 503, then the retry, then attempt 2 answered 200.
    const partEnd = (n: number, attempt: number) => lines.findIndex((l) => l.channel === 'part' && l.event === 'asyncEnd' && l.partNumber === n && l.attempt === attempt);
    const first = partEnd(2, 1);
    const retry = lines.findIndex((l) => l.channel === 'retry');
    const second = partEnd(2, 2);
    expect(lines[first]).toMatchObject({ request: 'part', bytes: MiB, method: 'PUT', statusCode: 503, mediaUploadId });
    expect(String(lines[first]!.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\S+$/);
    expect(lines[retry]).toMatchObject({ event: 'publish', request: 'part', partNumber: 2, attempt: 1, statusCode: 503, delayMs: expect.any(Number), upload: { filename: 'sample-3MiB.bin', mediaUploadId } });
    expect(lines[second]).toMatchObject({ statusCode: 200 });
    expect(first).toBeGreaterThan(0);
    expect(retry).toBeGreaterThan(first);
    expect(second).toBeGreaterThan(retry);
    for (const n of [1, 2, 3]) expect(parts.some((l) => l.event === 'asyncEnd' && l.partNumber === n && l.statusCode === 200)).toBe(true);

    // Complete after every part, then the upload's end.
    const lastPart = labels.lastIndexOf('part:asyncEnd');
    expect(labels.slice(lastPart + 1)).toEqual(['complete:start', 'complete:end', 'complete:asyncStart', 'complete:asyncEnd', 'upload:asyncStart', 'upload:asyncEnd']);
    expect(lines[lastPart + 4]).toMatchObject({ request: 'complete', statusCode: 200, mediaUploadId });
  });

  it('a failed run (a key the server refuses) still writes a whole file, ending with the upload’s error and end', async () => {
    const { env } = await emulator();
    const wrongKey = 'sk_wrong_trace_SECRET_77';
    const path = join(dir, 'failed.ndjson');
    const run = await runCli(['--sample', '1MiB', '--trace', path], { env: { ...env, OFAUTH_API_KEY: wrongKey } });
    expect(run.code).toBe(1);
    const { text, lines } = readTrace(path);
    expect(text).not.toContain(wrongKey);
    expect(text).not.toContain(API_KEY);
    expect(lines.map(label)).toEqual(['upload:start', 'upload:end', 'init:start', 'init:end', 'init:asyncStart', 'init:asyncEnd', 'upload:error', 'upload:asyncStart', 'upload:asyncEnd']);
    expect(lines[5]).toMatchObject({ statusCode: 401, attempt: 1 });
    const error = { name: 'OFAuthApiError', code: 'ERR_OFAUTH_API', message: expect.stringContaining('HTTP 401') };
    expect(lines[6]).toMatchObject({ error });
    expect(Object.keys(lines[6]!.error as object).sort()).toEqual(['code', 'message', 'name']);
    expect(lines[8]).toMatchObject({ error });
    expect(lines[7]).not.toHaveProperty('error');
  });

  it('Ctrl-C mid-upload leaves a file whose every line parses, with the upload cancelled and every started attempt ended', async () => {
    const { emu, env } = await emulator({ mode: 'multipart', faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const path = join(dir, 'interrupted.ndjson');
    let child: ChildProcess | undefined;
    const running = runCli(['--sample', '3MiB', '--trace', path, '--concurrency', '1'], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.some((r) => r.route === 'part' && r.partNumber === 2) && existsSync(path) && readFileSync(path, 'utf8').includes('"partNumber":2'));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    const { lines } = readTrace(path);
    expect(lines.some((l) => l.channel === 'part' && l.event === 'asyncEnd' && l.partNumber === 1 && l.statusCode === 200)).toBe(true);
    // The upload ends cancelled (the library ends it when the stream is destroyed, before its
    // aborted requests report back) ...
    const labels = lines.map(label);
    const end = labels.indexOf('upload:error');
    expect(labels.slice(end, end + 3)).toEqual(['upload:error', 'upload:asyncStart', 'upload:asyncEnd']);
    expect(lines[end + 2]).toMatchObject({ error: { name: 'AbortError' } });
    // ... and the file was closed only after those came too: every attempt that started has ended.
    const attempts = (event: string) => lines.filter((l) => l.channel !== 'upload' && l.event === event).map((l) => `${l.channel} ${String(l.partNumber)}#${String(l.attempt)}`);
    expect(attempts('asyncEnd').sort()).toEqual(attempts('start').sort());
    expect(lines.findLast((l) => l.channel === 'part')).toMatchObject({ event: 'asyncEnd', partNumber: 2, error: { name: 'AbortError' } });
  });

  it('--help names it; a file that cannot be written is a usage error (exit 2) before anything is sent', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toMatch(/^ {2}--trace FILE {10}\S/m);
    const { emu, env } = await emulator();
    const run = await runCli(['--sample', '1MiB', '--trace', join(dir, 'no-such-folder', 'out.ndjson')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--trace');
    expect(run.stderr).toContain('its folder does not exist');
    expect(emu.requests).toEqual([]);
  });
});

describe('TraceFile', () => {
  it('redacts the key, drops headers and unvetted objects, strips a query, describes errors; writes nothing once closed', () => {
    const path = join(dir, 'unit.ndjson');
    const secret = 'sk_unit_SECRET_"q"';
    const trace = TraceFile.open(path, [secret]);
    const upload = { filename: `clip-${secret}.mp4`, size: 10, contentType: 'video/mp4', connectionId: 'c', server: 'http://h', mediaUploadId: 'upload:1', result: { mediaUploadId: 'upload:1', size: 10, parts: [{}, {}], media: { id: 7, url: 'x' }, rateLimit: {} } };
    const part = diagnosticsChannel.tracingChannel('ofauth-upload-stream:part');
    const message = {
      upload,
      request: 'part',
      partNumber: 1,
      attempt: 1,
      method: 'PUT',
      url: 'https://parts.example/p/1?X-Signature=abc&X-Expires=1',
      headers: { authorization: secret },
      nested: { apiKey: secret },
      error: new OFAuthApiError({ status: 500, method: 'PUT', path: '/p/1', bodyExcerpt: `echo ${secret}`, attempts: 1 } as never),
    };
    part.start.publish(message);
    part.error.publish(message);
    diagnosticsChannel.channel('ofauth-upload-stream:spool').publish({ upload, event: 'disk', bytes: 5 });
    const upl = diagnosticsChannel.tracingChannel('ofauth-upload-stream:upload');
    upl.asyncStart.publish(upload);
    upl.asyncEnd.publish(upload);
    expect(trace.close()).toBeUndefined();
    part.start.publish(message);
    const { text, lines } = readTrace(path);
    expect(text).not.toContain('sk_unit_SECRET');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain('?');
    expect(text).not.toContain('authorization');
    expect(text).not.toContain('nested');
    expect(lines.map(label)).toEqual(['part:start', 'part:error', 'spool:disk', 'upload:asyncStart', 'upload:asyncEnd']);
    expect(lines[0]).toEqual({ t: lines[0]!.t, channel: 'part', event: 'start', upload: { filename: 'clip-[REDACTED].mp4', mediaUploadId: 'upload:1' }, request: 'part', partNumber: 1, attempt: 1, method: 'PUT', url: 'https://parts.example/p/1' });
    expect(lines[1]).toMatchObject({ error: { name: 'OFAuthApiError', code: 'ERR_OFAUTH_API' } });
    expect(lines[2]).toMatchObject({ channel: 'spool', event: 'disk', bytes: 5 });
    expect(lines[3]).not.toHaveProperty('result');
    expect(lines[4]).toMatchObject({ result: { mediaUploadId: 'upload:1', size: 10, parts: 2, mediaId: 7 } });
    expect(part.hasSubscribers).toBe(false);
  });

  it('a file that cannot be opened is a UsageError', () => {
    expect(() => TraceFile.open(dir, [])).toThrow(UsageError);
    expect(() => TraceFile.open(dir, [])).toThrow(/--trace .*: it is a folder/);
  });
});

