import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../lib/emulator/index';
import { afterAll } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Builds dist/ if stale; the script itself takes a lock, so parallel test files don't race. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure-build.mjs')], { cwd: ROOT, stdio: 'pipe' });
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  input?: Uint8Array | string;
  /** Open this file as the child's stdin (a shell's `< file`) instead of a pipe; `input` is then ignored. */
  stdinFile?: string;
  cwd?: string;
  /** Run this script instead of dist/cli.js (the README's samples). */
  script?: string;
  /** Node's own flags, before the script (e.g. `--import` of a test harness). */
  nodeArgs?: string[];
  /** Leave stdin open for the test to write to (through `onSpawn`'s child) instead of ending it. */
  holdStdin?: boolean;
  /** Called once the process is spawned (e.g. to send it a signal later). */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * Where the CLI's resume journals go unless a test says otherwise: never the real ~/.cache of
 * whoever runs the tests. One per test file, removed after it (a Ctrl-C test leaves a journal).
 */
const CACHE_HOME = mkdtempSync(join(tmpdir(), 'ofauth-cli-test-cache-'));
afterAll(() => rmSync(CACHE_HOME, { recursive: true, force: true }));

/**
 * The CLI as a user runs it: `node dist/cli.js …` in a child process. Asynchronous on purpose:
 * the emulator it talks to may live in this (the test) process, and a sync spawn would block it.
 * OFAUTH_* variables of the surrounding shell are dropped so each test states its own.
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OFAUTH_') && key !== 'NODE_DEBUG') env[key] = value;
  }
  const stdinFd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script ?? CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...env, XDG_CACHE_HOME: CACHE_HOME, ...options.env },
      stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
    });
  } finally {
    // The child has its own copy of the descriptor.
    if (stdinFd !== undefined) closeSync(stdinFd);
  }
  options.onSpawn?.(child);
  const { stdin, stdout: out, stderr: err } = child;
  if (out === null || err === null) throw new Error('runCli: no stdout/stderr pipe');
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  err.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (stdin !== null) {
    // The CLI may exit before reading all of stdin (a usage error): that EPIPE is expected.
    stdin.on('error', () => undefined);
    if (options.input !== undefined) stdin.end(options.input);
    else if (!options.holdStdin) stdin.end();
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export { bytes, sha256 } from '../helpers';

/**
 * The emulator a CLI test file uploads to, and the environment that points the CLI at it
 * (`OFAUTH_BASE_URL`, `OFAUTH_API_KEY`, `OFAUTH_CONNECTION_ID`); the one started last is closed
 * after each test.
 */
export function cliEmulatorFixture(apiKey: string, connectionId: string) {
  let current: Emulator | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options: EmulatorOptions = {}): Promise<{ emu: Emulator; env: Record<string, string> }> => {
    current = await startEmulator({ apiKey, partSize: 1024 * 1024, ...options });
    return { emu: current, env: { OFAUTH_BASE_URL: current.url, OFAUTH_API_KEY: apiKey, OFAUTH_CONNECTION_ID: connectionId } };
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How many parts the one resume journal in `resumeDir` holds (undefined: none yet, or half written). */
export function journalParts(resumeDir: string): number | undefined {
  const name = existsSync(resumeDir) ? readdirSync(resumeDir).find((f) => f.endsWith('.json')) : undefined;
  if (name === undefined) return undefined;
  try {
    return (JSON.parse(readFileSync(join(resumeDir, name), 'utf8')) as { parts: unknown[] }).parts.length;
  } catch {
    return undefined;
  }
}
