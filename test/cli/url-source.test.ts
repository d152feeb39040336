import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../lib/emulator/index';
import { type DownloadServer, chunked, redirect, startDownloadServer, withLength } from './download-server';
import { bytes, cliEmulatorFixture, ensureBuilt, runCli, sha256 } from './run-cli';

// http(s):// sources: downloaded with undici on the batch's pool and streamed to the vault.

const MiB = 1024 * 1024;
const API_KEY = 'sk_url_SECRET_never_sent_to_a_cdn_83';
let emu: Emulator | undefined;
let cdn: DownloadServer;
let dir: string;

const plain = bytes(2 * MiB + 7, 71);
const stream = bytes(1_500_000, 72);
const moved = bytes(300_000, 73);

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-url-'));
  const hops: Record<string, ReturnType<typeof redirect>> = {};
  for (let i = 1; i <= 6; i++) hops[`/hop${i}`] = redirect(`/hop${i + 1}`);
  cdn = await startDownloadServer({
    // Content-Length, an ETag and a type: streamed straight through.
    '/media/plain.mp4': withLength(plain, { 'content-type': 'video/mp4', etag: '"plain-v1"' }),
    // Chunked, no type, named by Content-Disposition (RFC 6266 filename*, UTF-8): spooled first.
    '/download': chunked(stream, { 'content-disposition': `attachment; filename="fallback.bin"; filename*=UTF-8''caf%C3%A9%20take.mov` }),
    // Two redirects, one of them to another path, then the file.
    '/short/x': redirect('/short/y', 301),
    '/short/y': redirect('/files/still.jpg', 307),
    '/files/still.jpg': withLength(moved, { etag: '"still-v1"' }),
    // Asked for identity, sent gzip: those bytes are not the file.
    '/zipped.mp4': (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(1000))),
    // Seven hops: more than the five followed.
    ...hops,
    '/hop7': withLength(Buffer.from('far')),
  });
});
afterAll(async () => {
  await cdn.close();
  rmSync(dir, { recursive: true, force: true });
});
const emulator = cliEmulatorFixture(API_KEY, 'conn_url');

/** Starts the emulator (closed after each test) and returns the CLI's environment for it. */
async function emulatorEnv(): Promise<Record<string, string>> {
  const started = await emulator();
  emu = started.emu;
  return { ...started.env };
}

type Line = Record<string, unknown> & { type: string; source: string };
const jsonLines = (stdout: string): Line[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('URL sources', () => {
  it('Content-Length and chunked bodies, names and types from the answer, redirects; encoded or too far is that source’s failure; the key never reaches the CDN', async () => {
    const env = await emulatorEnv();
    const manifest = join(dir, 'urls.jsonl');
    const urls = ['/media/plain.mp4', '/download', '/short/x', '/zipped.mp4', '/hop1'].map((p) => `${cdn.url}${p}`);
    const run = await runCli([...urls, '--jobs', '3', '--manifest', manifest, '--json'], { env });
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    const by = (path: string): Line | undefined => lines.find((l) => l.source === `${cdn.url}${path}`);
    expect(by('/media/plain.mp4')).toMatchObject({ type: 'uploaded', filename: 'plain.mp4', contentType: 'video/mp4', size: plain.length, sha256: sha256(plain) });
    expect(by('/download')).toMatchObject({ type: 'uploaded', filename: 'café take.mov', contentType: 'video/quicktime', size: stream.length, sha256: sha256(stream) });
    // Named after the URL that answered (after the redirects), typed by that name (the answer had no type).
    expect(by('/short/x')).toMatchObject({ type: 'uploaded', filename: 'still.jpg', contentType: 'image/jpeg', size: moved.length, sha256: sha256(moved) });
    expect(by('/zipped.mp4')).toMatchObject({ type: 'failed', error: { code: 'ERR_SOURCE', reason: 'encoded' } });
    expect(by('/hop1')).toMatchObject({ type: 'failed', error: { code: 'ERR_SOURCE', reason: 'status', status: 302, message: expect.stringContaining('at most 5 are followed') } });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', uploaded: 3, failed: 2 });
    for (const line of lines.filter((l) => l.type === 'uploaded')) {
      expect(emu!.media(String(line.mediaUploadId))).toMatchObject({ completed: true, sha256: line.sha256, filename: line.filename });
    }
    // Spooled: the chunked body's size was only known at its end, and init came after it.
    expect(emu!.requests.find((r) => r.route === 'init' && (r.body as { filename: string }).filename === 'café take.mov')?.body).toMatchObject({ size: stream.length });
    // Every GET asked for identity and carried nothing of the OFAuth API.
    const gets = cdn.requests.filter((r) => r.method === 'GET');
    expect(gets.length).toBeGreaterThanOrEqual(5 + 2 + 5);
    for (const get of gets) {
      expect(get.headers['accept-encoding']).toBe('identity');
      expect(get.rawHeaders.join('\n')).not.toContain(API_KEY);
      expect(Object.keys(get.headers)).not.toEqual(expect.arrayContaining(['apikey']));
      expect(get.headers['x-connection-id']).toBeUndefined();
      expect(get.headers.authorization).toBeUndefined();
    }
    // Recorded with their ETags; the chunked one has none, so it is sent again on a re-run.
    const recorded = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recorded.map((r) => [r.source, r.etag ?? null]).sort()).toEqual(
      [
        [`${cdn.url}/media/plain.mp4`, '"plain-v1"'],
        [`${cdn.url}/download`, null],
        [`${cdn.url}/short/x`, '"still-v1"'],
      ].sort(),
    );
    emu!.reset();
    const again = await runCli([...urls.slice(0, 3), '--manifest', manifest, '--json'], { env });
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout).at(-1)).toMatchObject({ skipped: 2, uploaded: 1 });
    expect(emu!.stats.initCalls).toBe(1);
  });

  it('one URL alone: the one-upload output; --filename renames it', async () => {
    const env = await emulatorEnv();
    const run = await runCli([`${cdn.url}/media/plain.mp4?token=abc`, '--filename', 'renamed.mp4'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Uploaded renamed.mp4 (video/mp4) to http://127.0.0.1:');
    expect(run.stdout).toContain(`sha256 local   ${sha256(plain)}`);
    const missing = await runCli([`${cdn.url}/nope.mp4`], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`ofauth-upload: ERR_SOURCE: GET ${cdn.url}/nope.mp4 answered HTTP 404\n`);
  });
});
