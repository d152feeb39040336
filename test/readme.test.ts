import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator/index';
import * as library from '../lib/index';
import { documentedNames, fences, shellSamples, toJavaScript, tsSamples, typecheck } from './cli/readme-samples';
import { ROOT, bytes, ensureBuilt, runCli, sha256 } from './cli/run-cli';

// Every ```ts block of the README is type-checked against the real types; the ones marked
// `<!-- readme-test: run -->` are run with plain Node against the built package and an emulator,
// and the one marked `<!-- readme-test: vitest -->` is imported here, so its tests run as this
// file's own.

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const samples = tsSamples(README);
// Inside the repo: the scripts must resolve 'ofauth-upload-stream' by package self-reference.
const work = join(ROOT, 'test', `.readme-run-${process.pid}`);
mkdirSync(work, { recursive: true });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('are all ts, sh or text, and there are samples of every kind', () => {
    expect(fences(README).filter((f) => !['ts', 'sh', 'text'].includes(f.lang))).toEqual([]);
    expect(samples.map((s) => s.mode)).toEqual(expect.arrayContaining(['typecheck', 'run', 'vitest']));
  });

  it('type-check against lib/ with the project strictness', () => {
    // A deliberately broken sample rides along, to prove the check is not vacuous.
    const broken = { line: 0, mode: 'typecheck' as const, code: "import { OFAuthUploadStream } from 'ofauth-upload-stream';\nnew OFAuthUploadStream({ apiKey: 42 });" };
    const diagnostics = typecheck([...samples, broken]);
    expect(diagnostics.filter((d) => !d.startsWith('README.md:1:'))).toEqual([]);
    expect(diagnostics).toContain("README.md:1: Type 'number' is not assignable to type 'string'.");
  }, 60_000);
});

describe('README samples marked run, with Node against dist/ and an emulator', () => {
  let emu: Emulator;
  let cwd: string;
  const API_KEY = 'sk_readme_key';
  beforeAll(async () => {
    ensureBuilt();
    emu = await startEmulator({ apiKey: API_KEY, partSize: 1024 * 1024 });
    cwd = mkdtempSync(join(tmpdir(), 'ofauth-readme-'));
  });
  afterAll(async () => {
    await emu.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  // The files the samples name, in the directory they run in.
  const inputs: Record<string, Buffer> = { 'clip.mp4': bytes(2 * 1024 * 1024 + 17, 5), 'thumb.jpg': bytes(40_000, 6) };

  for (const sample of samples.filter((s) => s.mode === 'run')) {
    it(`README.md:${sample.line}`, async () => {
      for (const [name, data] of Object.entries(inputs)) writeFileSync(join(cwd, name), data);
      const script = join(work, `line-${sample.line}.mjs`);
      writeFileSync(script, toJavaScript(sample, () => undefined));
      emu.reset();
      const run = await runNode(script, cwd, { OFAUTH_API_KEY: API_KEY, OFAUTH_CONNECTION_ID: 'conn_readme', OFAUTH_BASE_URL: emu.url });
      expect(run.stderr.replace(/\r\d+%/g, '')).toBe('');
      expect(run.code).toBe(0);
      const [upload] = emu.uploads();
      expect(emu.uploads()).toHaveLength(1);
      expect(upload?.completed).toBe(true);
      const source = Object.entries(inputs).find(([name]) => upload?.filename === name);
      expect(upload?.sha256).toBe(sha256(source?.[1] ?? Buffer.alloc(0)));
      expect(run.stdout).toContain(upload?.mediaUploadId);
    });
  }
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

function runNode(script: string, cwd: string, env: Record<string, string>) {
  return runCli([], { cwd, env, script });
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
