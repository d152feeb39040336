import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { FormData, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator/index';
import * as library from '../lib/index';
import { type CdnMode, FFMPEG_TEE, ReadmeHarness, README_PRELOAD } from './cli/readme-harness';
import { type Sample, docPages, documentedNames, fences, readPage, shellSamples, toJavaScript, tsSamples, where } from './cli/readme-samples';
import { isFragmentedMp4, makeTestVideo, REAL_FFMPEG, withFfmpeg } from './cli/real-ffmpeg';
import { type CliRun, ROOT, bytes, ensureBuilt, runCli, sha256, waitFor } from './cli/run-cli';
import { freePort, waitForListening } from './net';

// Every ```ts block of the README and of the pages under docs/ is run: with plain Node against
// the built package, the emulator and the harness of test/cli/readme-harness.ts, except the one
// marked `<!-- docs-test: vitest -->`, which is imported here so its tests run as this file's own,
// and the one marked `<!-- docs-test: server -->`, which is started, sent requests, and stopped.
// ```sh blocks marked `<!-- docs-test: run -->` are run with bash. (Each ts block is also compiled
// as a user pastes it, by test/docs-typescript.test.ts; the markers are described in
// test/cli/readme-samples.ts.)

const PAGES = docPages();
const ENV_NAMES = ['OFAUTH_API_KEY', 'OFAUTH_CONNECTION_ID', 'OFAUTH_BASE_URL'];
const POST_SAMPLE = 'docs/posts-and-messages.md';
const DOWNLOAD_SAMPLE = 'docs/urls.md';
/** docs/urls.md has two: uploadFromUrl's, and this one, fetch by hand. */
const DOWNLOAD_HEADING = '`fetch`';
const FFMPEG_SAMPLE = 'docs/ffmpeg.md';
const ERRORS_SAMPLE = 'docs/errors.md';
const samples = PAGES.flatMap((file) => tsSamples(readPage(file), file));
/** A file name for a sample's script: `docs/s3.md:42` → `docs-s3-md-42`. */
const scriptName = (sample: Sample) => `${sample.file.replace(/[^\w]/g, '-')}-${sample.line}`;
// Inside the repo: the scripts must resolve 'ofauth-upload-stream' by package self-reference.
const work = join(ROOT, 'test', `.readme-run-${process.pid}`);
mkdirSync(work, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('code blocks of the README and docs/', () => {
  it('are all ts, sh or text, and there are samples of every kind', () => {
    const blocks = PAGES.flatMap((file) => fences(readPage(file), file));
    expect(blocks.filter((f) => !['ts', 'sh', 'text'].includes(f.lang))).toEqual([]);
    expect(samples.map((s) => s.mode)).toEqual(expect.arrayContaining(['run', 'vitest', 'server']));
    // The README itself shows the library: its sample is run like the pages' ones.
    expect(samples.filter((s) => s.file === 'README.md').map((s) => s.mode)).toEqual(['run']);
  });
});

// Every ts sample (README and docs/) but the vitest and server ones is run with plain Node
// against dist/, as written, in the harness of test/cli/readme-harness.ts: the API at
// OFAUTH_BASE_URL (the emulator behind a front that also answers posts and messages), a local S3
// and CDN, the real ffmpeg, and no other network. Each must exit 0 with a clean stderr, having finalized exactly one upload of
// the bytes it was given. A sample that ignores OFAUTH_BASE_URL fails: the preload refuses
// production.
describe('docs samples, every one run with Node against dist/ and the emulator', () => {
  let emu: Emulator;
  let harness: ReadmeHarness;
  let cwd: string;
  const API_KEY = 'sk_readme_key';

  // The files the samples read, in the directory they run in; the S3 object and the download are
  // the clip too. talk.mov, a real video made by the real ffmpeg, is the transcode's input.
  const clip = bytes(2 * 1024 * 1024 + 17, 5);
  const inputs: Record<string, Buffer> = { 'clip.mp4': clip, 'thumb.jpg': bytes(40_000, 6) };
  /** What each uploaded filename must hold; talk.mp4: what ffmpeg wrote, as its shim recorded. */
  const expected: Record<string, Buffer> = { 'clip.mp4': clip, 'thumb.jpg': inputs['thumb.jpg'] ?? Buffer.alloc(0) };

  beforeAll(async () => {
    ensureBuilt();
    emu = await startEmulator({ apiKey: API_KEY, partSize: 1024 * 1024 });
    harness = await ReadmeHarness.start(emu, API_KEY, {
      s3: { 'my-bucket/videos/clip.mp4': { body: clip, contentType: 'video/mp4' } },
      cdn: { 'clip.mp4': { body: clip, contentType: 'video/mp4' } },
    });
    cwd = mkdtempSync(join(tmpdir(), 'ofauth-readme-'));
    if (REAL_FFMPEG.path !== undefined) {
      await makeTestVideo(REAL_FFMPEG.path, join(cwd, 'talk.mov'));
      inputs['talk.mov'] = readFileSync(join(cwd, 'talk.mov'));
    }
  }, 60_000);
  afterAll(async () => {
    await harness.close();
    await emu.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  /** Runs one sample in a fresh directory state and lists everything wrong with the outcome. */
  async function runSample(sample: Sample, name: string, variant: { env?: Record<string, string>; rejectPosts?: boolean; cdn?: CdnMode } = {}) {
    for (const [file, data] of Object.entries(inputs)) writeFileSync(join(cwd, file), data);
    rmSync(join(cwd, FFMPEG_TEE), { force: true });
    const script = join(work, `${name}.mjs`);
    writeFileSync(script, toJavaScript(sample, () => undefined));
    emu.reset();
    harness.reset();
    harness.rejectPosts = variant.rejectPosts ?? false;
    harness.cdnMode = variant.cdn ?? 'chunked';
    const run = await runCli([], { cwd, script, nodeArgs: ['--import', pathToFileURL(README_PRELOAD).href], env: harness.env(cwd, variant.env) });
    const uploads = emu.uploads();
    const transcoded = existsSync(join(cwd, FFMPEG_TEE)) ? readFileSync(join(cwd, FFMPEG_TEE)) : undefined;
    const expectedNow: Record<string, Buffer> = { ...expected, ...(transcoded === undefined ? {} : { 'talk.mp4': transcoded }) };
    const problems: string[] = [];
    const stderr = run.stderr.replace(/\r\d+%/g, '');
    if (run.code !== 0) problems.push(`exit code ${String(run.code)}`);
    if (stderr !== '') problems.push(`stderr: ${stderr.trim()}`);
    if (uploads.length !== 1 || !uploads[0]?.completed) problems.push(`${uploads.length} upload(s), ${uploads.filter((u) => u.completed).length} finalized; expected 1`);
    // The plans point at the front (the emulator builds them from the Host header), so every byte
    // went through it, as it would through a proxy in front of the real API.
    const frontHost = new URL(harness.env(cwd).OFAUTH_BASE_URL ?? '').host;
    const bypassing = emu.requests.filter((r) => r.headers.host !== frontHost);
    if (bypassing.length > 0) problems.push(`${bypassing.length} request(s) reached the emulator without the front`);
    for (const upload of uploads) {
      const want = expectedNow[upload.filename];
      if (want === undefined) problems.push(`uploaded ${upload.filename}, a name the harness has no bytes for`);
      else if (upload.sha256 !== sha256(want)) problems.push(`${upload.filename}: stored bytes differ from the source`);
    }
    return { run, uploads, problems, calls: [...harness.calls], transcoded };
  }

  const runnable = samples.filter((s) => s.mode === 'run');
  const servers = samples.filter((s) => s.mode === 'server');
  /** The one runnable sample of a page (the special tests below pick theirs by page, and heading where a page has more). */
  const sampleIn = (file: string): Sample => {
    const found = runnable.filter((s) => s.file === file && (file !== DOWNLOAD_SAMPLE || s.heading.includes(DOWNLOAD_HEADING)));
    if (found.length !== 1) throw new Error(`${file}: ${found.length} runnable samples, expected 1`);
    return found[0] as Sample;
  };

  it('every ts sample but the vitest and server ones is run, and each reads the three OFAUTH_ variables', () => {
    expect(runnable.length).toBe(samples.length - 2);
    expect(runnable.length).toBeGreaterThanOrEqual(8);
    expect(servers).toHaveLength(1);
    const missing = [...runnable, ...servers].flatMap((s) => ENV_NAMES.filter((name) => !s.code.includes(`process.env.${name}`)).map((name) => `${where(s)} ${name}`));
    expect(missing).toEqual([]);
    // The pages the special tests below pick their sample from hold exactly one.
    for (const file of [POST_SAMPLE, DOWNLOAD_SAMPLE, FFMPEG_SAMPLE, ERRORS_SAMPLE]) expect(sampleIn(file).file).toBe(file);
  });

  for (const sample of runnable) {
    const needsFfmpeg = sample.file === FFMPEG_SAMPLE;
    const name = `${where(sample)} (${sample.heading})`;
    it.skipIf(needsFfmpeg && REAL_FFMPEG.skip !== undefined)(needsFfmpeg ? withFfmpeg(name) : name, async () => {
      const { run, problems, calls, transcoded } = await runSample(sample, scriptName(sample));
      expect(problems).toEqual([]);
      // The real ffmpeg wrote a fragmented MP4, and that is what the vault holds (problems above).
      if (needsFfmpeg) expect(transcoded !== undefined && isFragmentedMp4(transcoded)).toBe(true);
      // The CDN sends the download chunked (see the test below): no size, so it was spooled.
      if (sample === sampleIn(DOWNLOAD_SAMPLE)) expect(run.stdout).toMatch(/ 2097169 bytes spooled\n$/);
      // uploadFromUrl and uploadFromS3 read the clip by range: its two 1 MiB parts and the rest.
      if (/`uploadFrom(Url|S3)`/.test(sample.heading)) expect(run.stdout).toMatch(/ ranged, 2097169 bytes downloaded\n$/);
      // Only the post sample talks to the API beyond uploads, and every call it made was accepted.
      expect(calls).toEqual(
        sample.file === POST_SAMPLE
          ? [expect.objectContaining({ route: 'post', status: 200 }), expect.objectContaining({ route: 'message', status: 200 })]
          : [],
      );
    });
  }

  it('the post sample checks response.ok: a refused post fails it', async () => {
    const { run, calls } = await runSample(sampleIn(POST_SAMPLE), 'post-rejected', { rejectPosts: true });
    expect(calls.map((c) => [c.route, c.status])).toEqual([['post', 400]]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('POST /v2/access/posts failed: HTTP 400');
  });

  it('the error sample, with a wrong key, prints its 401 advice', async () => {
    const { run, uploads } = await runSample(sampleIn(ERRORS_SAMPLE), 'errors-wrong-key', { env: { OFAUTH_API_KEY: 'sk_wrong' } });
    expect(run.code).toBe(0);
    expect(run.stderr.trim()).toBe('check OFAUTH_API_KEY');
    expect(uploads).toEqual([]);
  });

  it.skipIf(REAL_FFMPEG.skip !== undefined)(
    withFfmpeg('the ffmpeg sample, with an ffmpeg that dies half-way: fails, and opens no session (nothing truncated is finalized)'),
    async () => {
      const { run, transcoded } = await runSample(sampleIn(FFMPEG_SAMPLE), 'ffmpeg-crash', { env: { README_FFMPEG_CRASH_AFTER: '20000' } });
      expect(transcoded?.length).toBe(20_000);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('ffmpeg failed: SIGKILL');
      expect(emu.requests).toEqual([]);
    },
  );

  it('the download sample, given a Content-Length, streams: init is sent while the download is half done', async () => {
    const { run, problems } = await runSample(sampleIn(DOWNLOAD_SAMPLE), 'download-length', { cdn: 'length' });
    expect(problems).toEqual([]);
    expect(harness.initBeforeDownloadEnded).toBe(true);
    expect(run.stdout).toMatch(/ 2097169 bytes streamed\n$/);
  });

  it('the CDN stand-in sends the download chunked, with no Content-Length, unless a test asks otherwise', async () => {
    harness.reset();
    const answer = await fetch(new URL('/clip.mp4', harness.env(cwd).README_CDN_URL));
    expect([answer.headers.get('content-length'), answer.headers.get('transfer-encoding')]).toEqual([null, 'chunked']);
    expect(Buffer.from(await answer.arrayBuffer()).equals(clip)).toBe(true);
  });

  it('the download sample spools a gzip-encoded download (its Content-Length counts the compressed bytes) and stores the decoded bytes', async () => {
    const { run, problems } = await runSample(sampleIn(DOWNLOAD_SAMPLE), 'download-gzip', { cdn: 'gzip' });
    expect(problems).toEqual([]);
    expect(run.stdout).toMatch(/ 2097169 bytes spooled\n$/);
  });

  // The form-upload server, started with PORT set, sent what a browser sends, then stopped.
  describe('the server sample (a form upload through busboy), started with PORT and sent forms', () => {
    let child: ChildProcess | undefined;
    let stopped: Promise<CliRun> | undefined;
    let base = '';
    let stderr = '';
    let stderrRead = 0;
    /** What the server printed on stderr since the last call. */
    const newStderr = () => stderr.slice(stderrRead, (stderrRead = stderr.length));

    beforeAll(async () => {
      const sample = servers[0];
      if (!sample) throw new Error('no server sample');
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const script = join(work, `${scriptName(sample)}.mjs`);
      writeFileSync(script, toJavaScript(sample, () => undefined));
      stopped = runCli([], {
        cwd,
        script,
        nodeArgs: ['--import', pathToFileURL(README_PRELOAD).href],
        env: harness.env(cwd, { PORT: String(port) }),
        onSpawn: (spawned) => {
          child = spawned;
          spawned.stderr?.on('data', (text: string | Buffer) => (stderr += String(text)));
        },
      });
      await waitForListening(port, () => child?.exitCode !== null || child.signalCode !== null, 'the server sample', 10_000);
    }, 30_000);
    afterAll(async () => {
      child?.kill('SIGTERM');
      await stopped;
    });

    const form = (files: Array<[string, Buffer]>, fields: Record<string, string> = { title: 'my clip' }) => {
      const body = new FormData();
      for (const [name, value] of Object.entries(fields)) body.append(name, value);
      for (const [filename, data] of files) body.append('media', new Blob([new Uint8Array(data)], { type: 'video/mp4' }), filename);
      return body;
    };
    const post = async (body: FormData | string, headers: Record<string, string> = {}) => {
      const answer = await fetch(`${base}/upload`, { method: 'POST', body, headers });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    };

    it('GET / serves the form a browser posts', async () => {
      const answer = await fetch(`${base}/`);
      expect(answer.status).toBe(200);
      expect(await answer.text()).toMatch(/<form method="post" action="\/upload" enctype="multipart\/form-data">[\s\S]*<input type="file" name="media"/);
    });

    it("a form with one file: 200 with the mediaUploadId, and the vault holds the file's bytes", async () => {
      emu.reset();
      const answer = await post(form([['clip.mp4', clip]]));
      expect(answer).toEqual({ status: 200, body: { mediaUploadId: expect.stringMatching(/^upload:/), size: clip.length } });
      expect(emu.uploads()).toEqual([
        expect.objectContaining({ mediaUploadId: answer.body.mediaUploadId, filename: 'clip.mp4', contentType: 'video/mp4', size: clip.length, completed: true, sha256: sha256(clip) }),
      ]);
      expect(newStderr()).toBe('');
    });

    it('a form with two files: 400 "one file per request", and no session is opened', async () => {
      emu.reset();
      const answer = await post(form([['clip.mp4', clip], ['thumb.jpg', bytes(300_000, 8)]]));
      expect(answer).toEqual({ status: 400, body: { error: 'one file per request' } });
      expect(emu.requests).toEqual([]);
      expect(newStderr()).toBe('');
    });

    /**
     * A raw connection posting a form whose second file (`rest` bytes of it) is sent only after
     * the server has answered, as a browser still uploading does. `send` writes and resolves once
     * the bytes were taken, or with the error that ended the connection.
     */
    const refusedMidway = async (rest: number) => {
      const boundary = 'two-files';
      const part = (filename: string) => `--${boundary}\r\ncontent-disposition: form-data; name="media"; filename="${filename}"\r\ncontent-type: video/mp4\r\n\r\n`;
      // The second file's first bytes too: busboy holds back the end of what it has seen until it
      // knows it is not the start of a boundary, so the second header alone would not be read.
      const head = Buffer.concat([Buffer.from(part('clip.mp4')), bytes(64 * 1024, 3), Buffer.from(`\r\n${part('thumb.jpg')}`), bytes(1024, 4)]);
      const tail = `\r\n--${boundary}--\r\n`;
      const socket = connect(Number(new URL(base).port), '127.0.0.1');
      let ended: Error | undefined;
      let received = '';
      socket.on('data', (chunk) => (received += String(chunk)));
      socket.on('error', (error) => (ended ??= error));
      socket.on('close', () => (ended ??= new Error('closed by the server')));
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const send = (data: string | Buffer) => new Promise<Error | undefined>((resolve) => socket.write(data, (error) => resolve(error ?? ended)));
      await send(`POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${head.length + rest + tail.length}\r\n\r\n`);
      await send(head);
      await waitFor(() => received.includes('one file per request'));
      return { socket, send, tail, received: () => received };
    };

    it('refused while the browser is still sending: it gets the 400, the server reads the rest instead of resetting the connection, which then serves the next request', async () => {
      emu.reset();
      const client = await refusedMidway(16 * 1024 * 1024);
      expect(client.received()).toMatch(/^HTTP\/1\.1 400 /);
      // What a browser still sends after the answer: a server that closed after answering resets
      // the connection here (EPIPE or ECONNRESET), and the browser shows that instead of the 400.
      for (let i = 0; i < 16; i++) expect(await client.send(bytes(1024 * 1024, i))).toBeUndefined();
      expect(await client.send(client.tail)).toBeUndefined();
      // Kept alive: the next request on the same connection is served.
      const before = client.received().length;
      expect(await client.send('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n')).toBeUndefined();
      await waitFor(() => client.received().slice(before).includes('</form>'));
      expect(client.received().slice(before)).toMatch(/^HTTP\/1\.1 200 /);
      client.socket.destroy();
      expect(emu.requests).toEqual([]);
      expect(newStderr()).toBe('');
    });

    it('a refused client that goes on sending is cut off after 64 MiB more (LINGER_BYTES)', async () => {
      emu.reset();
      const client = await refusedMidway(128 * 1024 * 1024);
      let sent = 0;
      let error: Error | undefined;
      for (let i = 0; i < 128 && error === undefined; i++) {
        error = await client.send(bytes(1024 * 1024, i));
        if (error === undefined) sent += 1024 * 1024;
      }
      client.socket.destroy();
      expect(error).toBeDefined();
      // Cut once 64 MiB more had come in; a few MiB more may sit in the sockets' buffers.
      expect(sent).toBeGreaterThanOrEqual(64 * 1024 * 1024);
      expect(sent).toBeLessThan(100 * 1024 * 1024);
      expect(emu.requests).toEqual([]);
      expect(newStderr()).toBe('');
    });

    it('a form without a file, an empty file input, a body that is not a form: 400, 400, 415', async () => {
      emu.reset();
      expect(await post(form([]))).toEqual({ status: 400, body: { error: 'the form has no file' } });
      // What a browser sends for a file input left empty.
      const empty = ['--b', 'content-disposition: form-data; name="media"; filename=""', 'content-type: application/octet-stream', '', '', '--b--', ''].join('\r\n');
      expect(await post(empty, { 'content-type': 'multipart/form-data; boundary=b' })).toEqual({ status: 400, body: { error: 'no file was chosen' } });
      expect(await post('{"file":"no"}', { 'content-type': 'application/json' })).toEqual({ status: 415, body: { error: 'send the file as multipart/form-data' } });
      expect(emu.requests).toEqual([]);
      expect(newStderr()).toBe('');
    });

    it("the vault refuses the upload: 502 with no details; they go to the server's log, without the key", async () => {
      emu.reset();
      emu.setFaults([{ route: 'init', action: { type: 'status', status: 403 } }]);
      try {
        expect(await post(form([['clip.mp4', clip]]))).toEqual({ status: 502, body: { error: 'the upload failed, try again later' } });
      } finally {
        emu.setFaults([]);
      }
      const log = newStderr();
      expect(log).toContain('ERR_OFAUTH_API');
      expect(log).not.toContain(API_KEY);
      expect(emu.uploads().filter((u) => u.completed)).toEqual([]);
    });

    it('a request cut short in the middle of the file: no session, its spool file is closed, and the server serves the next one', async () => {
      emu.reset();
      // Past spool.memory (8 MiB), so the spool is a file, then the browser goes away.
      const partial = bytes(9 * 1024 * 1024, 9);
      const boundary = 'readme-boundary';
      const head = `--${boundary}\r\ncontent-disposition: form-data; name="media"; filename="clip.mp4"\r\ncontent-type: video/mp4\r\n\r\n`;
      const socket = connect(Number(new URL(base).port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /upload HTTP/1.1\r\nhost: localhost\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${head.length + partial.length + 100}\r\n\r\n${head}`,
      );
      await new Promise<void>((resolve) => socket.write(partial, () => resolve()));
      // On Linux, the server's open spool file (unlinked, so only its descriptor shows it).
      const fds = `/proc/${child?.pid ?? 0}/fd`;
      const spoolFiles = () => readdirSync(fds).filter((fd) => safeReadlink(join(fds, fd)).includes('ofauth-spool-')).length;
      const linux = existsSync(fds);
      if (linux) await waitFor(() => spoolFiles() === 1);
      socket.destroy();
      if (linux) await waitFor(() => spoolFiles() === 0);
      else await sleep(200);
      expect(emu.requests).toEqual([]);
      const next = await post(form([['thumb.jpg', clip]]));
      expect(next.status).toBe(200);
      expect(emu.uploads().map((u) => [u.filename, u.completed, u.sha256])).toEqual([['thumb.jpg', true, sha256(clip)]]);
      expect(newStderr()).toBe('');
    });
  });

  it('a sample that ignores OFAUTH_BASE_URL fails here (it would reach production)', async () => {
    const ignoring: Sample = {
      file: 'rigged.md',
      line: 0,
      mode: 'run',
      heading: 'rigged',
      code: [
        "import { uploadToVault } from 'ofauth-upload-stream';",
        "const data = new TextEncoder().encode('0123456789');",
        'const result = await uploadToVault(data, {',
        '  apiKey: process.env.OFAUTH_API_KEY!,',
        '  connectionId: process.env.OFAUTH_CONNECTION_ID!,',
        "  filename: 'thumb.jpg', contentType: 'image/jpeg', size: data.length, retries: 0,",
        '});',
        'console.log(result.mediaUploadId);',
      ].join('\n'),
    };
    const { problems } = await runSample(ignoring, 'rigged-ignores-base-url');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^exit code [1-9]/),
        expect.stringContaining('readme harness: refused a connection to api.ofauth.com'),
        '0 upload(s), 0 finalized; expected 1',
      ]),
    );
  });
});

// The shell recipes marked run: bash, with the built CLI on PATH as `ofauth-upload`, a stand-in
// `aws` (test/fixtures/readme/bin/aws) serving objects from a directory, so a recipe runs
// unchanged against an object whose size it cannot know in advance, and the ffmpeg shim of the
// same directory running the real ffmpeg (and copying what it writes to stdout aside).
describe('docs shell recipes marked run, with bash, the built CLI, a stand-in aws and the real ffmpeg', () => {
  const recipes = PAGES.flatMap((file) => shellSamples(readPage(file), file)).filter((r) => r.mode === 'run');
  let emu: Emulator;
  let cwd: string;
  const API_KEY = 'sk_readme_sh_key';
  // Any size but a round one: a recipe with a size written into it fails here.
  const object = bytes(3 * 1024 * 1024 + 4321, 9);
  beforeAll(async () => {
    ensureBuilt();
    emu = await startEmulator({ apiKey: API_KEY, partSize: 1024 * 1024 });
    cwd = mkdtempSync(join(tmpdir(), 'ofauth-readme-sh-'));
    mkdirSync(join(cwd, 's3', 'my-bucket', 'videos'), { recursive: true });
    writeFileSync(join(cwd, 's3', 'my-bucket', 'videos', 'clip.mp4'), object);
    if (REAL_FFMPEG.path !== undefined) await makeTestVideo(REAL_FFMPEG.path, join(cwd, 'talk.mp4'));
  }, 60_000);
  afterAll(async () => {
    await emu.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('there are two: the S3 pipe and the ffmpeg pipe', () => {
    expect(recipes.map((r) => [r.file, r.code])).toEqual([
      ['docs/ffmpeg.md', expect.stringMatching(/^ffmpeg -i talk\.mp4 .*\| ofauth-upload - --filename clip\.mp4$/)],
      ['docs/s3.md', expect.stringContaining('aws s3 cp')],
    ]);
  });

  for (const recipe of recipes) {
    const needsFfmpeg = recipe.code.startsWith('ffmpeg ');
    const name = `${where(recipe)}`;
    it.skipIf(needsFfmpeg && REAL_FFMPEG.skip !== undefined)(needsFfmpeg ? withFfmpeg(name) : name, async () => {
      emu.reset();
      const tee = join(cwd, FFMPEG_TEE);
      rmSync(tee, { force: true });
      const run = await runBash(recipe.code, cwd, {
        PATH: `${join(ROOT, 'test', 'fixtures', 'readme', 'bin')}${delimiter}${process.env.PATH ?? ''}`,
        README_S3_DIR: join(cwd, 's3'),
        ...(REAL_FFMPEG.path === undefined ? {} : { README_FFMPEG: REAL_FFMPEG.path }),
        README_FFMPEG_TEE: tee,
        OFAUTH_API_KEY: API_KEY,
        OFAUTH_CONNECTION_ID: 'conn_readme_sh',
        OFAUTH_BASE_URL: emu.url,
      });
      expect(run.stderr).not.toMatch(/ofauth-upload: ERR_|\(README stand-in\)|\(README shim\)/);
      expect(run.code).toBe(0);
      // What the source held: the object, or what ffmpeg wrote (a real, fragmented MP4).
      const sent = needsFfmpeg ? readFileSync(tee) : object;
      if (needsFfmpeg) expect(isFragmentedMp4(sent)).toBe(true);
      expect(emu.uploads()).toHaveLength(1);
      expect(emu.uploads()[0]).toMatchObject({ filename: 'clip.mp4', size: sent.length, completed: true, sha256: sha256(sent) });
    }, 60_000);
  }
});

describe('the reference pages', () => {
  const names = documentedNames();

  it.each([
    ['upload options', 'uploadOptions', 'docs/api.md'],
    ['uploadFile options', 'fileOptions', 'docs/api.md'],
    ['emulator options', 'emulatorOptions', 'docs/emulator.md'],
    ['emulator members', 'emulator', 'docs/emulator.md'],
    ['emulator stats', 'emulatorStats', 'docs/emulator.md'],
  ])('mention every one of the %s (in %s)', (_label, key, page) => {
    const text = readPage(page);
    // Named in code quotes: `name`, `name,` in a list, or `name(` for a method.
    const missing = (names[key] ?? []).filter((name) => !['`', ',', '('].some((after) => text.includes(`\`${name}${after}`)));
    expect(names[key]?.length).toBeGreaterThan(3);
    expect(missing).toEqual([]);
  });

  // One instance of each exported error class: a new class fails here until it is documented.
  const errors: Record<string, Error & { code: string }> = {
    OFAuthUploadError: new library.OFAuthUploadError('x'),
    OFAuthApiError: new library.OFAuthApiError({ status: 500, method: 'GET', path: '/', bodyExcerpt: '', attempts: 1 }),
    InvalidResponseError: new library.InvalidResponseError({ status: 200, method: 'GET', path: '/', bodyExcerpt: '', attempts: 1 }, 'x'),
    PlanError: new library.PlanError(['x']),
    SizeMismatchError: new library.SizeMismatchError(2, 1),
    UploadExpiredError: new library.UploadExpiredError('2020-01-01T00:00:00Z'),
    NetworkError: new library.NetworkError({ method: 'GET', path: '/', attempts: 1, reason: 'x' }),
    TimeoutError: new library.TimeoutError({ method: 'GET', path: '/', attempts: 1, reason: 'x' }),
    InvalidOptionsError: new library.InvalidOptionsError(['x']),
    AbortError: new library.AbortError(),
    MemoryLimitError: new library.MemoryLimitError(1, 2),
    SpoolError: new library.SpoolError({ reason: 'limit', limit: 1 }),
    EmptySourceError: new library.EmptySourceError(),
    SourceChangedError: new library.SourceChangedError('/f', { size: 1, mtimeNs: '1' }),
    SourceReadError: new library.SourceReadError({ source: 's3://b/k', start: 0, end: 1, attempts: 1, reason: 'x' }),
    UploadLockedError: new library.UploadLockedError('/f.lock', 1, 'host'),
    EarlyAnswerError: new library.EarlyAnswerError({ status: 200, method: 'PUT', path: '/', bodyExcerpt: '', attempts: 1, bytesSent: 1, bodyLength: 2 }),
    RateLimitError: new library.RateLimitError({ method: 'PUT', path: '/', waitedMs: 1, refusals: 1, maxWaitMs: 1 }),
  };

  it('covers every exported error class', () => {
    const exported = Object.keys(library).filter((name) => name.endsWith('Error'));
    expect(exported.sort()).toEqual(Object.keys(errors).sort());
  });

  it.each(Object.entries(errors).filter(([name]) => name !== 'OFAuthUploadError'))('docs/errors.md documents %s with its code', (name, error) => {
    const row = readPage('docs/errors.md')
      .split('\n')
      .find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toContain(`| \`${error.code}\` |`);
  });
});

// The vitest sample (docs/emulator.md), imported at collection time so its tests are registered here.
const vitestSamples = samples.filter((s) => s.mode === 'vitest');
for (const sample of vitestSamples) {
  const file = join(work, `${scriptName(sample)}.mjs`);
  const sources: Record<string, string> = {
    'ofauth-upload-stream': join(ROOT, 'lib', 'index.ts'),
    'ofauth-upload-stream/emulator': join(ROOT, 'lib', 'emulator', 'index.ts'),
  };
  writeFileSync(file, toJavaScript(sample, (specifier) => sources[specifier]));
  describe(`the vitest sample at ${where(sample)}`, async () => {
    await import(pathToFileURL(file).href);
  });
}

/** Where a symlink points, or '' if it is gone (a descriptor closed meanwhile). */
function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}


/** `bash -c` with errexit and pipefail, so a failing stage of a pipe fails the recipe. */
function runBash(code: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stdout, stderr }));
  });
}
