import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Builds dist/ when any source is newer, before any test file runs: tests that run the built
 * package in a child process (the CLI, a killed upload, a named pipe) must never test a stale
 * build, also when vitest is started directly rather than through `npm test`.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'ensure-build.mjs')], { stdio: ['ignore', 'inherit', 'inherit'] });
}
