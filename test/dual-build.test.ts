import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

type Lib = typeof import('../lib/index');
const root = join(__dirname, '..');
let esm: Lib;
let cjs: Lib;

beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-build.mjs')], { cwd: root, stdio: 'inherit' });
  esm = (await import(join(root, 'dist/index.js'))) as Lib;
  cjs = createRequire(import.meta.url)(join(root, 'dist/index.cjs')) as Lib;
}, 120_000);

describe('the ESM and CJS builds loaded in one process', () => {
  it('are really two copies of the classes', () => {
    expect(esm.PlanError).not.toBe(cjs.PlanError);
  });

  it('instanceof holds across them, both ways, and stays precise', () => {
    const fromCjs = new cjs.PlanError(['gap']);
    const fromEsm = new esm.SizeMismatchError(1, 2);
    expect(fromCjs).toBeInstanceOf(esm.PlanError);
    expect(fromCjs).toBeInstanceOf(esm.OFAuthUploadError);
    expect(fromCjs).not.toBeInstanceOf(esm.SizeMismatchError);
    expect(fromEsm).toBeInstanceOf(cjs.SizeMismatchError);
    expect(fromEsm).toBeInstanceOf(cjs.OFAuthUploadError);
    expect(new cjs.InvalidResponseError({ status: 200, method: 'PUT', path: '/', bodyExcerpt: '', attempts: 1 }, 'x')).toBeInstanceOf(esm.OFAuthApiError);
  });

  it('an options error thrown by the CJS stream is recognised by the ESM classes', () => {
    let caught: unknown;
    try {
      new cjs.OFAuthUploadStream({ apiKey: 'k', connectionId: 'c', filename: 'f', contentType: 't', size: 0 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(esm.InvalidOptionsError);
    expect(caught).toBeInstanceOf(esm.OFAuthUploadError);
    expect(caught).toBeInstanceOf(TypeError);
  });
});
