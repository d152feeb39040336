import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator/index';
import * as library from '../lib/index';
import { ReadmeHarness, README_PRELOAD } from './cli/readme-harness';
import { type Sample, documentedNames, fences, shellSamples, toJavaScript, tsSamples, typecheck } from './cli/readme-samples';
import { ROOT, bytes, ensureBuilt, runCli, sha256 } from './cli/run-cli';

// Every ```ts block of the README is type-checked against the real types and run: with plain
// Node against the built package, the emulator and the harness of test/cli/readme-harness.ts,
// except the one marked `<!-- readme-test: vitest -->`, which is imported here so its tests run as
// this file's own. ```sh blocks marked `<!-- readme-test: run -->` are run with bash.

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ENV_NAMES = ['OFAUTH_API_KEY', 'OFAUTH_CONNECTION_ID', 'OFAUTH_BASE_URL'];
const POST_SAMPLE = 'Using the result in a post or a message';
const samples = tsSamples(README);
// Inside the repo: the scripts must resolve 'ofauth-upload-stream' by package self-reference.
const work = join(ROOT, 'test', `.readme-run-${process.pid}`);
mkdirSync(work, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('are all ts, sh or text, and there are samples of every kind', () => {
    expect(fences(README).filter((f) => !['ts', 'sh', 'text'].includes(f.lang))).toEqual([]);
    expect(samples.map((s) => s.mode)).toEqual(expect.arrayContaining(['run', 'vitest']));
  });

  it('type-check against lib/ with the project strictness', () => {
    // A deliberately broken sample rides along, to prove the check is not vacuous.
    const broken: Sample = { line: 0, mode: 'run', heading: 'broken', code: "import { OFAuthUploadStream } from 'ofauth-upload-stream';\nnew OFAuthUploadStream({ apiKey: 42 });" };
    const diagnostics = typecheck([...samples, broken]);
    expect(diagnostics.filter((d) => !d.startsWith('README.md:1:'))).toEqual([]);
    expect(diagnostics).toContain("README.md:1: Type 'number' is not assignable to type 'string'.");
  }, 60_000);
});

// Every ts sample but the vitest one is run with plain Node against dist/, as written, in the
// harness of test/cli/readme-harness.ts: the API at OFAUTH_BASE_URL (the emulator behind a front
// that also answers posts and messages), a local S3 and CDN, a stand-in ffmpeg, and no other
// network. Each must exit 0 with a clean stderr, having finalized exactly one upload of the bytes
// it was given. A sample that ignores OFAUTH_BASE_URL fails: the preload refuses production.
describe('README samples, every one run with Node against dist/ and the emulator', () => {
  let emu: Emulator;
  let harness: ReadmeHarness;
  let cwd: string;
  const API_KEY = 'sk_readme_key';

  // The files the samples read, in the directory they run in; the S3 object and the download are
  // the clip too, and the stand-in ffmpeg transcodes input.mov to a copy and talk.mp4 to PCM.
  const clip = bytes(2 * 1024 * 1024 + 17, 5);
  const talk = bytes(100_003, 7);
  const inputs: Record<string, Buffer> = { 'clip.mp4': clip, 'thumb.jpg': bytes(40_000, 6), 'input.mov': clip, 'talk.mp4': talk };
  /** What each uploaded filename must hold. */
  const expected: Record<string, Buffer> = { 'clip.mp4': clip, 'thumb.jpg': inputs['thumb.jpg'] ?? Buffer.alloc(0), 'talk.pcm': cycle(talk, 30 * 48_000 * 2 * 2) };

  beforeAll(async () => {
    ensureBuilt();
    emu = await startEmulator({ apiKey: API_KEY, partSize: 1024 * 1024 });
    harness = await ReadmeHarness.start(emu, API_KEY, {
      s3: { 'my-bucket/videos/clip.mp4': { body: clip, contentType: 'video/mp4' } },
      cdn: { 'clip.mp4': { body: clip, contentType: 'video/mp4' } },
    });
    cwd = mkdtempSync(join(tmpdir(), 'ofauth-readme-'));
  });
  afterAll(async () => {
    await harness.close();
    await emu.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  /** Runs one sample in a fresh directory state and lists everything wrong with the outcome. */
  async function runSample(sample: Sample, name: string, variant: { env?: Record<string, string>; rejectPosts?: boolean } = {}) {
    for (const [file, data] of Object.entries(inputs)) writeFileSync(join(cwd, file), data);
    const script = join(work, `${name}.mjs`);
    writeFileSync(script, toJavaScript(sample, () => undefined));
    emu.reset();
    harness.reset();
    harness.rejectPosts = variant.rejectPosts ?? false;
    const run = await runCli([], { cwd, script, nodeArgs: ['--import', pathToFileURL(README_PRELOAD).href], env: harness.env(cwd, variant.env) });
    const uploads = emu.uploads();
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
      const want = expected[upload.filename];
      if (want === undefined) problems.push(`uploaded ${upload.filename}, a name the harness has no bytes for`);
      else if (upload.sha256 !== sha256(want)) problems.push(`${upload.filename}: stored bytes differ from the source`);
    }
    return { run, uploads, problems, calls: [...harness.calls] };
  }

  const runnable = samples.filter((s) => s.mode === 'run');

  it('every ts sample but the vitest one is run, and each reads the three OFAUTH_ variables', () => {
    expect(runnable.length).toBe(samples.length - 1);
    expect(runnable.length).toBeGreaterThanOrEqual(8);
    const missing = runnable.flatMap((s) => ENV_NAMES.filter((name) => !s.code.includes(`process.env.${name}`)).map((name) => `README.md:${s.line} ${name}`));
    expect(missing).toEqual([]);
  });

  for (const sample of runnable) {
    it(`README.md:${sample.line} (${sample.heading})`, async () => {
      const { problems, calls } = await runSample(sample, `line-${sample.line}`);
      expect(problems).toEqual([]);
      // Only the post sample talks to the API beyond uploads, and every call it made was accepted.
      expect(calls).toEqual(
        sample.heading === POST_SAMPLE
          ? [expect.objectContaining({ route: 'post', status: 200 }), expect.objectContaining({ route: 'message', status: 200 })]
          : [],
      );
    });
  }

  it('the post sample checks response.ok: a refused post fails it', async () => {
    const sample = runnable.find((s) => s.heading === POST_SAMPLE);
    if (!sample) throw new Error(`no sample under "${POST_SAMPLE}"`);
    const { run, calls } = await runSample(sample, 'post-rejected', { rejectPosts: true });
    expect(calls.map((c) => [c.route, c.status])).toEqual([['post', 400]]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('POST /v2/access/posts failed: HTTP 400');
  });

  it('the error sample, with a wrong key, prints its 401 advice', async () => {
    const sample = runnable.find((s) => s.heading === 'Cancelling and handling errors');
    if (!sample) throw new Error('no sample under "Cancelling and handling errors"');
    const { run, uploads } = await runSample(sample, 'errors-wrong-key', { env: { OFAUTH_API_KEY: 'sk_wrong' } });
    expect(run.code).toBe(0);
    expect(run.stderr.trim()).toBe('check OFAUTH_API_KEY');
    expect(uploads).toEqual([]);
  });

  it('a sample that ignores OFAUTH_BASE_URL fails here (it would reach production)', async () => {
    const ignoring: Sample = {
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

// The shell recipes marked run: bash, with the built CLI on PATH as `ofauth-upload` and a
// stand-in `aws` (test/fixtures/readme/bin/aws) serving objects from a directory, so a recipe runs
// unchanged against an object whose size it cannot know in advance.
describe('README shell recipes marked run, with bash, the built CLI and a stand-in aws', () => {
  const recipes = shellSamples(README);
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
  });
  afterAll(async () => {
    await emu.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('there is one (the S3 pipe)', () => {
    expect(recipes.map((r) => r.code)).toEqual([expect.stringContaining('aws s3 cp')]);
  });

  for (const recipe of recipes) {
    it(`README.md:${recipe.line}`, async () => {
      emu.reset();
      const run = await runBash(recipe.code, cwd, {
        PATH: `${join(ROOT, 'test', 'fixtures', 'readme', 'bin')}${delimiter}${process.env.PATH ?? ''}`,
        README_S3_DIR: join(cwd, 's3'),
        OFAUTH_API_KEY: API_KEY,
        OFAUTH_CONNECTION_ID: 'conn_readme_sh',
        OFAUTH_BASE_URL: emu.url,
      });
      expect(run.stderr).not.toMatch(/ofauth-upload: ERR_|aws \(README stand-in\)/);
      expect(run.code).toBe(0);
      expect(emu.uploads()).toHaveLength(1);
      expect(emu.uploads()[0]).toMatchObject({ filename: 'clip.mp4', size: object.length, completed: true, sha256: sha256(object) });
    });
  }
});

describe('README reference', () => {
  const names = documentedNames();

  it.each([
    ['upload options', 'uploadOptions'],
    ['uploadFile options', 'fileOptions'],
    ['emulator options', 'emulatorOptions'],
    ['emulator members', 'emulator'],
    ['emulator stats', 'emulatorStats'],
  ])('mentions every one of the %s', (_label, key) => {
    // Named in code quotes: `name`, `name,` in a list, or `name(` for a method.
    const missing = (names[key] ?? []).filter((name) => !['`', ',', '('].some((after) => README.includes(`\`${name}${after}`)));
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
    UploadLockedError: new library.UploadLockedError('/f.lock', 1, 'host'),
  };

  it('covers every exported error class', () => {
    const exported = Object.keys(library).filter((name) => name.endsWith('Error'));
    expect(exported.sort()).toEqual(Object.keys(errors).sort());
  });

  it.each(Object.entries(errors).filter(([name]) => name !== 'OFAuthUploadError'))('documents %s with its code', (name, error) => {
    const row = README.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toContain(`| \`${error.code}\` |`);
  });
});

// The README's vitest sample, imported at collection time so its tests are registered here.
const vitestSamples = samples.filter((s) => s.mode === 'vitest');
for (const sample of vitestSamples) {
  const file = join(work, `line-${sample.line}.mjs`);
  const sources: Record<string, string> = {
    'ofauth-upload-stream': join(ROOT, 'lib', 'index.ts'),
    'ofauth-upload-stream/emulator': join(ROOT, 'lib', 'emulator', 'index.ts'),
  };
  writeFileSync(file, toJavaScript(sample, (specifier) => sources[specifier]));
  describe(`README vitest sample at README.md:${sample.line}`, async () => {
    await import(pathToFileURL(file).href);
  });
}

/** `data` repeated and cut to `length` bytes: what the stand-in ffmpeg makes of its input. */
function cycle(data: Buffer, length: number): Buffer {
  return Buffer.concat(Array.from({ length: Math.ceil(length / data.length) }, () => data)).subarray(0, length);
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
