#!/usr/bin/env node
// Builds dist/ when it is missing or older than any source file, so `npm test`, `npm start` and
// `npm run bench` work on a fresh clone without a separate build step.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputs = ['dist/index.js', 'dist/index.cjs', 'dist/emulator.js', 'dist/emulator.cjs', 'dist/cli.js'];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * A lock directory, so test files starting in parallel workers (each calling this) never rebuild
 * dist/ on top of each other: the second waits, then finds dist/ fresh.
 */
function withLock(run) {
  const lock = join(root, 'node_modules', '.cache', 'ofauth-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes was left by a killed run.
      if (Date.now() > deadline || Date.now() - statSync(lock).mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    run();
  } finally {
    rmdirSync(lock);
  }
}

withLock(() => {
  const sources = Math.max(
    newestSource(join(root, 'lib')),
    ...['package.json', 'tsup.config.ts'].map((f) => statSync(join(root, f)).mtimeMs),
  );
  const stale = outputs.some((f) => !existsSync(join(root, f)) || statSync(join(root, f)).mtimeMs < sources);
  if (stale) {
    const tsup = join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js');
    if (!existsSync(tsup)) {
      process.stderr.write('dist/ needs building, but the dev dependencies are missing: run `npm ci` (without --omit=dev or NODE_ENV=production).\n');
      process.exitCode = 1;
      return;
    }
    process.stderr.write('Building dist/ (sources changed)…\n');
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [tsup], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
});
