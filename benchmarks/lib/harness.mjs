// What every benchmark orchestrator and measuring child needs besides its rows: the sink, the
// peak-RSS reset, sizes from the command line, and what the report says of the checkout. Plain
// node: imports, so it loads no build of the library (lib/source.mjs does).
import { execFileSync, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The sink (benchmarks/sink.mjs) in a process of its own, once it listens.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ url: string, child: import('node:child_process').ChildProcess }>}
 */
export function forkSink(env) {
  const child = fork(join(here, '..', 'sink.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
  return new Promise((ready, reject) => {
    child.once('message', (m) => ready({ url: /** @type {any} */ (m).url, child }));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
}

/**
 * Resets the kernel's peak-RSS mark to the current RSS (Linux: `/proc/self/clear_refs` ← 5), so
 * the `maxRSS` read after the transfer is the transfer's own peak and not the warm-up's (undici
 * compiling its WASM parser peaks ~30 MiB above where the process then settles). Elsewhere
 * the mark stays, and RSS at end includes the warm-up: the result says which.
 * @returns {boolean}
 */
export function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * "1GiB", "256MiB", "1048576" → bytes.
 * @param {string} text
 * @returns {number}
 */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!m) throw new TypeError(`not a byte size: ${text}`);
  const unit = { k: KiB, m: MiB, g: 1024 * MiB }[(m[2] ?? 'b')[0].toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/**
 * The installed version of a package of the repository, or 'unknown'.
 * @param {string} pkg
 * @returns {string}
 */
export function packageVersion(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** @returns {string} the checkout's short commit, or 'unknown' outside a git checkout */
export function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
