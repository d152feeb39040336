// Where the built library is loaded from. `run.mjs` copies dist/ into a private snapshot before
// the first measurement (BENCH_DIST), so every row of a run measures the same build even when
// someone rebuilds dist/ in the shared tree meanwhile. Standalone, it is ../../dist.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_DIST = join(here, '..', '..', 'dist');

export function distDir() {
  return process.env.BENCH_DIST ?? REPO_DIST;
}

/** @returns {Promise<typeof import('../../dist/index.js')>} */
export function loadLibrary() {
  return import(pathToFileURL(join(distDir(), 'index.js')).href);
}

/** @returns {Promise<typeof import('../../dist/emulator.js')>} */
export function loadEmulator() {
  return import(pathToFileURL(join(distDir(), 'emulator.js')).href);
}

/**
 * Copies dist/*.js into `benchmarks/<name>/` (inside the repo, so `undici` and `zod` still
 * resolve from node_modules) and returns its path.
 * @param {string} name
 * @returns {string}
 */
export function snapshotDist(name = '.dist-snapshot') {
  const target = join(here, '..', name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      for (const file of ['index.js', 'emulator.js']) {
        if (!existsSync(join(REPO_DIST, file))) throw new Error(`dist/${file} is missing (run npm run build)`);
      }
      for (const file of readdirSync(REPO_DIST)) {
        if (file.endsWith('.js') || file.endsWith('.js.map')) cpSync(join(REPO_DIST, file), join(target, file));
      }
      return target;
    } catch (error) {
      // Someone may be rebuilding dist/ right now: give it a few seconds.
      if (attempt >= 30) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
}
