import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../lib/emulator/index';
import { uploadToVault } from '../../lib/index';
import { type CliRun, ROOT, bytes, cliEmulatorFixture, ensureBuilt, runCli, sha256, waitFor } from './run-cli';

const MiB = 1024 * 1024;
const API_KEY = 'sk_cli_SECRET_must_never_show_9f2c';
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const emulator = cliEmulatorFixture(API_KEY, 'conn_cli');

function file(name: string, size: number, seed = 7): { path: string; data: Buffer } {
  const data = bytes(size, seed);
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, data };
}

const completes = (e: Emulator) => e.requests.filter((r) => r.route === 'complete');

describe('uploads', () => {
  it('uploads a generated sample to the embedded emulator when no API key is set', async () => {
    const run = await runCli(['--sample', '3MiB']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^No OFAUTH_API_KEY set: uploading to the embedded emulator at http:\/\/127\.0\.0\.1:\d+/m);
    expect(run.stdout).toContain('Uploaded sample-3MiB.bin (application/octet-stream) to the embedded emulator');
    const local = /sha256 local\s+([0-9a-f]{64})/.exec(run.stdout)?.[1];
    const stored = /sha256 stored\s+([0-9a-f]{64}) \(emulator\)/.exec(run.stdout)?.[1];
    expect(local).toBeDefined();
    expect(stored).toBe(local);
    expect(run.stdout).toMatch(/sha256 match\s+yes/);
    expect(run.stdout).toMatch(/bytes\s+3145728 \(3\.0 MiB\)/);
    expect(run.stdout).toMatch(/mediaUploadId\s+upload:/);
  });

  it('uploads a file, and --json prints one parseable line whose sha256 is what the server stored', async () => {
    const { emu, env } = await emulator();
    const { path, data } = file('clip.mp4', 3 * MiB + 123);
    const run = await runCli([path, '--json', '--concurrency', '2'], { env });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(result).toMatchObject({
      ok: true,
      target: 'api',
      baseUrl: emu.url,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      bytes: data.length,
      sha256: sha256(data),
      mediaType: 'video',
    });
    expect(result.storedSha256).toBeUndefined(); // not our emulator: the CLI cannot ask it
    const stored = emu.media(String(result.mediaUploadId));
    expect(stored?.completed).toBe(true);
    expect(stored?.sha256).toBe(sha256(data));
    expect(stored?.media?.id).toBe(result.mediaId);
    expect(emu.stats.partPuts).toBe(4);
    // --concurrency 2: at most two part PUTs in flight.
    expect(emu.stats.maxConcurrentPuts).toBeLessThanOrEqual(2);
    expect(completes(emu)).toHaveLength(1);
  });

  it('uploads a file to the embedded emulator and reports the stored sha256 beside the local one', async () => {
    const { path, data } = file('photo.jpg', 200_000);
    const run = await runCli([path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Uploaded photo.jpg (image/jpeg)');
    expect(run.stdout).toContain(`sha256 local   ${sha256(data)}`);
    expect(run.stdout).toContain(`sha256 stored  ${sha256(data)} (emulator)`);
    expect(run.stdout).toMatch(/media id\s+\S+ \(photo\)/);
  });

  it('uploads stdin with --size, flags overriding the name and type', async () => {
    const { emu, env } = await emulator();
    const data = bytes(2 * MiB + 5, 11);
    const run = await runCli(['-', '--size', String(data.length), '--filename', 'song.bin', '--content-type', 'audio/mpeg', '--json', '--vault-user-id', 'u_42'], { env, input: data });
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { mediaUploadId: string; sha256: string; mediaType: string };
    expect(result.sha256).toBe(sha256(data));
    expect(result.mediaType).toBe('audio');
    const stored = emu.media(result.mediaUploadId);
    expect(stored).toMatchObject({ filename: 'song.bin', contentType: 'audio/mpeg', size: data.length, sha256: sha256(data) });
    // --vault-user-id reaches the init body as vaultUpload.userId.
    const init = emu.requests.find((r) => r.route === 'init');
    expect(init?.body).toEqual({ filename: 'song.bin', size: data.length, contentType: 'audio/mpeg', vaultUpload: { userId: 'u_42' } });
  });

  it('stdin redirected from a regular file (`- < clip.mp4`) needs no --size: fstat gives it', async () => {
    const { emu, env } = await emulator();
    const { path, data } = file('redirected.mp4', 2 * MiB + 99, 12);
    const run = await runCli(['-', '--json', '--filename', 'redirected.mp4'], { env, stdinFile: path });
    expect(run.stderr).not.toContain('ERR_USAGE');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { mediaUploadId: string; bytes: number; sha256: string };
    expect(result).toMatchObject({ bytes: data.length, sha256: sha256(data) });
    expect(emu.media(result.mediaUploadId)).toMatchObject({ size: data.length, completed: true, sha256: sha256(data) });
  });

  it('a regular file on stdin: a matching --size is fine, a contradicting one is a usage error', async () => {
    const { emu, env } = await emulator();
    const { path, data } = file('redirected-size.bin', 5000, 13);
    const agreeing = await runCli(['-', '--size', String(data.length), '--quiet'], { env, stdinFile: path });
    expect(agreeing.code).toBe(0);
    const contradicting = await runCli(['-', '--size', '4999'], { env, stdinFile: path });
    expect(contradicting.code).toBe(2);
    expect(contradicting.stderr).toContain('--size 4999 does not match the size of the file on stdin (5000 bytes)');
    expect(emu.stats.initCalls).toBe(1);
    const { path: empty } = file('empty.bin', 0);
    const none = await runCli(['-'], { env, stdinFile: empty });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('the file on stdin is empty');
  });

  it('--size and --sample take decimal units: 10MB is 10,000,000 bytes', async () => {
    const { emu, env } = await emulator();
    const data = bytes(10_000_000, 14);
    const run = await runCli(['-', '--size', '10MB', '--json'], { env, input: data });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ bytes: 10_000_000, sha256: sha256(data) });
    const sample = await runCli(['--sample', '1.5MB', '--json']);
    expect(sample.code).toBe(0);
    expect(JSON.parse(sample.stdout)).toMatchObject({ bytes: 1_500_000, filename: 'sample-1.5MB.bin', sha256Match: true });
    expect(emu.stats.initCalls).toBe(1);
  });

  it('uploads stdin to the embedded emulator, sizes with a unit suffix', async () => {
    const data = bytes(1536 * 1024, 3);
    const run = await runCli(['-', '--size', '1.5MiB', '--quiet'], { input: data });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(''); // --quiet: no notice, no progress
    expect(run.stdout).toContain('Uploaded stdin (application/octet-stream)');
    expect(run.stdout).toContain(`sha256 stored  ${sha256(data)} (emulator)`);
    expect(run.stdout).toMatch(/sha256 match\s+yes/);
  });
});

describe('usage errors exit 2 and send nothing', () => {
  it('an unknown flag, in human and JSON form', async () => {
    const run = await runCli(['--sample', '1MiB', '--fast']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("ERR_USAGE: Unknown option '--fast'");
    const json = await runCli(['--sample', '1MiB', '--fast', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_USAGE', name: 'UsageError' } });
  });

  it('a malformed OFAUTH_BASE_URL', async () => {
    const run = await runCli(['--sample', '1MiB'], { env: { OFAUTH_API_KEY: API_KEY, OFAUTH_CONNECTION_ID: 'c', OFAUTH_BASE_URL: 'ftp://nope' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('OFAUTH_BASE_URL must be an http(s) URL');
    expect(run.stderr + run.stdout).not.toContain(API_KEY);
  });

  it.each([
    [['missing.mp4'], 'cannot read "missing.mp4": no such file'],
    [['--sample', '0'], '--sample must be a byte count > 0'],
    [['--sample', '5mb'], '"5mb" is ambiguous: write 5MB (powers of 1000) or 5MiB (powers of 1024)'],
    [['-', '--size', '10KB'], '--size must be a byte count > 0: a whole number of bytes, or a number with a decimal unit kB, MB, GB, TB (powers of 1000) or a binary unit KiB, MiB, GiB, TiB (powers of 1024)'],
    // Several sources are a batch now; each is still checked before anything is sent.
    [['a', 'b'], 'cannot read "a": no such file'],
    [[], 'missing the file to upload'],
    [['--concurrency', '0', '--sample', '1KiB'], '--concurrency must be an integer from 1 to 64'],
    [['emulator', '--port', '70000'], '--port must be an integer from 0 to 65535'],
  ])('%j', async (args, message) => {
    const run = await runCli(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('a --size that contradicts the file', async () => {
    const { path } = file('small.bin', 1000);
    const run = await runCli([path, '--size', '999']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--size 999 does not match the size of');
  });

  it('an API key without a connection id, and a base URL without an API key', async () => {
    const noConnection = await runCli(['--sample', '1KiB'], { env: { OFAUTH_API_KEY: API_KEY } });
    expect(noConnection.code).toBe(2);
    expect(noConnection.stderr).toContain('OFAUTH_CONNECTION_ID is not');
    const noKey = await runCli(['--sample', '1KiB'], { env: { OFAUTH_BASE_URL: 'http://127.0.0.1:1' } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('OFAUTH_BASE_URL is set but OFAUTH_API_KEY is not');
  });
});

describe('upload errors exit 1 with one line, never the API key', () => {
  it('a 401 from the server', async () => {
    const { emu, env } = await emulator({ apiKey: 'the-right-key' });
    const run = await runCli(['--sample', '1MiB'], { env });
    expect(run.code).toBe(1);
    const errorLines = run.stderr.split('\n').filter((l) => l.startsWith('ofauth-upload:'));
    expect(errorLines).toEqual([expect.stringMatching(/^ofauth-upload: ERR_OFAUTH_API: POST \/v2\/access\/uploads\/init answered HTTP 401/)]);
    // The CLI's credentials come from the environment: the line names what to check.
    expect(errorLines[0]).toMatch(/check OFAUTH_API_KEY, and OFAUTH_CONNECTION_ID\)$/);
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
    expect(emu.stats.initCalls).toBe(1); // 401 is not retried

    const json = await runCli(['--sample', '1MiB', '--json'], { env });
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ name: 'OFAuthApiError', code: 'ERR_OFAUTH_API', status: 401, method: 'POST', path: '/v2/access/uploads/init', attempts: 1 });
    expect(json.stdout + json.stderr).not.toContain(API_KEY);
  });

  it('a 403 from the server (a connection the key may not use) names OFAUTH_CONNECTION_ID, on the line and in --json', async () => {
    const { env } = await emulator({ connectionId: 'conn_someone_else' });
    const run = await runCli(['--sample', '1MiB'], { env });
    expect(run.code).toBe(1);
    const errorLines = run.stderr.split('\n').filter((l) => l.startsWith('ofauth-upload:'));
    expect(errorLines).toEqual([expect.stringMatching(/^ofauth-upload: ERR_OFAUTH_API: POST \/v2\/access\/uploads\/init answered HTTP 403: .*check OFAUTH_CONNECTION_ID, and that OFAUTH_API_KEY is the key/)]);
    const json = await runCli(['--sample', '1MiB', '--json'], { env });
    const { error } = JSON.parse(json.stdout) as { error: { status: number; message: string } };
    expect(error.status).toBe(403);
    expect(error.message).toContain('OFAUTH_CONNECTION_ID');
  });

  it('a server that echoes the key in its error body still does not get it printed', async () => {
    const { env } = await emulator({ faults: [{ route: 'init', action: { type: 'status', status: 400, body: `{"error":"bad key ${API_KEY}"}` } }] });
    const run = await runCli(['--sample', '1MiB', '--json'], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[REDACTED]');
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
  });

  it('a base URL where nothing listens', async () => {
    const port = await freePort();
    const run = await runCli(['--sample', '1MiB', '--retries', '0'], {
      env: { OFAUTH_API_KEY: API_KEY, OFAUTH_CONNECTION_ID: 'c', OFAUTH_BASE_URL: `http://127.0.0.1:${port}` },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ofauth-upload: ERR_OFAUTH_NETWORK: POST \/v2\/access\/uploads\/init failed after 1 attempt/m);
  });
});

describe('Ctrl-C', () => {
  it('SIGINT mid-upload cancels the in-flight parts, never calls complete, and exits 130', async () => {
    // Part 2 hangs, so the upload is certainly mid-flight when the signal arrives.
    const { emu, env } = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const { path } = file('long.mp4', 4 * MiB);
    let child: ChildProcess | undefined;
    const running = runCli([path], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.some((r) => r.route === 'part' && r.partNumber === 2));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/^ofauth-upload: ABORT_ERR: Interrupted \(SIGINT\)/m);
    // It names the upload it left behind.
    const [session] = emu.uploads();
    expect(session?.completed).toBe(false);
    expect(run.stderr).toContain(`mediaUploadId ${session?.mediaUploadId} was left unfinished`);
    expect(completes(emu)).toHaveLength(0);
    expect(emu.stats.completeCalls).toBe(0);
    // The hanging part's connection was closed by the client, not left open.
    await waitFor(() => emu.stats.activePuts === 0);
  });
});

describe('Ctrl-C with --json', () => {
  it('the error line carries the unfinished mediaUploadId as a field', async () => {
    const { emu, env } = await emulator({ faults: [{ route: 'part', partNumber: 2, action: { type: 'hang' } }] });
    const { path } = file('long-json.mp4', 4 * MiB);
    let child: ChildProcess | undefined;
    const running = runCli([path, '--json'], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.some((r) => r.route === 'part' && r.partNumber === 2));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    const [session] = emu.uploads();
    const line = JSON.parse(run.stdout) as { ok: boolean; error: Record<string, unknown> };
    expect(line).toMatchObject({ ok: false, error: { name: 'AbortError', code: 'ABORT_ERR', mediaUploadId: session?.mediaUploadId } });
    expect(String(line.error.message)).toContain(`mediaUploadId ${session?.mediaUploadId} was left unfinished`);
    expect(emu.stats.completeCalls).toBe(0);
  });

  it('before init answers there is no upload to name', async () => {
    const { emu, env } = await emulator({ faults: [{ route: 'init', action: { type: 'hang' } }] });
    let child: ChildProcess | undefined;
    const running = runCli(['--sample', '1MiB', '--json'], { env, onSpawn: (c) => (child = c) });
    await waitFor(() => emu.requests.some((r) => r.route === 'init'));
    child?.kill('SIGINT');
    const run = await running;
    expect(run.code).toBe(130);
    const line = JSON.parse(run.stdout) as { error: Record<string, unknown> };
    expect(line.error.code).toBe('ABORT_ERR');
    expect(line.error).not.toHaveProperty('mediaUploadId');
    expect(String(line.error.message)).not.toContain('left unfinished');
  });
});

describe('help, version, emulator', () => {
  it('--help documents the flags, variables and exit codes', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const text of ['--content-type', '--size', '--sample', '--concurrency', '--vault-user-id', '--no-resume', '--resume-dir', '--spool-dir', '--spool-memory', '--max-size', '--json', '--quiet', '--jobs', '--recursive', '--manifest', '--s3-endpoint', 's3://bucket/prefix/', 'https://', 'OFAUTH_API_KEY', 'OFAUTH_CONNECTION_ID', 'OFAUTH_BASE_URL', 'Exit codes', '130']) {
      expect(run.stdout).toContain(text);
    }
    // Which size units are which.
    for (const text of ['decimal  kB, MB, GB, TB     powers of 1000: 10MB = 10,000,000 bytes', 'binary   KiB, MiB, GiB, TiB powers of 1024: 10MiB = 10,485,760 bytes']) {
      expect(run.stdout).toContain(text);
    }
    const emulatorHelp = await runCli(['emulator', '--help']);
    expect(emulatorHelp.stdout).toContain('--part-size');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('`emulator` serves in the foreground, prints its URL and key, and stops on Ctrl-C with exit 0', async () => {
    const { info, stop } = await foregroundEmulator(['--part-size', '256KiB']);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const data = bytes(600 * 1024);
    const result = await uploadToVault(data, {
      apiKey: info.apiKey,
      connectionId: 'conn_other_language',
      baseUrl: info.url,
      filename: 'a.mp4',
      size: data.length,
      contentType: 'video/mp4',
    });
    expect(result.parts).toHaveLength(3); // the --part-size took effect
    const run = await stop();
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('1 init, 3 part PUTs, 0 single PUTs, 1 complete calls served');
  });
});

describe('`emulator --rate-limit`', () => {
  it('models the per-connection token bucket: the burst passes, then 429 with X-RateLimit-* headers', async () => {
    const { info, stop } = await foregroundEmulator(['--rate-limit', '60/3']);
    let stopped: CliRun;
    try {
      const statuses: number[] = [];
      let last: Record<string, unknown> = {};
      for (let i = 0; i < 4; i++) {
        const answer = await undiciRequest(`${info.url}/v2/access/uploads/init`, {
          method: 'POST',
          headers: { apiKey: info.apiKey, 'x-connection-id': 'conn_limited', 'content-type': 'application/json' },
          body: JSON.stringify({ filename: 'a.mp4', size: 10, contentType: 'video/mp4' }),
        });
        await answer.body.text();
        statuses.push(answer.statusCode);
        last = answer.headers;
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last).toMatchObject({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0' });
    } finally {
      stopped = await stop();
    }
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('1 refused by the rate limit');
  });
});

describe('`emulator --port` reached through localhost', () => {
  it('the CLI uploads to OFAUTH_BASE_URL=http://localhost:PORT of a foreground emulator, sha256 intact', async () => {
    const port = await freePort();
    const { info, stop } = await foregroundEmulator(['--port', String(port), '--part-size', '256KiB']);
    let stopped: CliRun;
    try {
      expect(info.url).toBe(`http://127.0.0.1:${port}`);
      const { path, data } = file('via-localhost.mp4', 700 * 1024, 41);
      const env = { OFAUTH_BASE_URL: `http://localhost:${port}`, OFAUTH_API_KEY: info.apiKey, OFAUTH_CONNECTION_ID: 'conn_localhost' };
      const run = await runCli([path, '--json', '--retries', '0'], { env });
      expect(run.stdout + run.stderr).not.toContain('ERR_OFAUTH_PLAN');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, baseUrl: `http://localhost:${port}`, sha256: sha256(data) });
    } finally {
      stopped = await stop();
    }
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('1 init, 3 part PUTs, 0 single PUTs, 1 complete calls served');
  });
});

/** `ofauth-upload emulator ARGS --json` in the foreground: its URL and key, and a Ctrl-C that resolves to how it ended. */
async function foregroundEmulator(args: string[]): Promise<{ info: { url: string; apiKey: string }; stop: () => Promise<CliRun> }> {
  let child: ChildProcess | undefined;
  let firstLine = '';
  const running = runCli(['emulator', ...args, '--json'], {
    onSpawn: (c) => {
      child = c;
      c.stdout?.on('data', (chunk: Buffer) => {
        if (!firstLine.includes('\n')) firstLine += chunk.toString();
      });
    },
  });
  try {
    await waitFor(() => firstLine.includes('\n'));
  } catch (error) {
    child?.kill('SIGKILL');
    throw error;
  }
  return {
    info: JSON.parse(firstLine) as { url: string; apiKey: string },
    stop: () => {
      child?.kill('SIGINT');
      return running;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
