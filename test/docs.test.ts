import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShellSample, docPages, fences, readPage, shellSamples, where } from './cli/readme-samples';
import { REAL_FFMPEG, withFfmpeg } from './cli/real-ffmpeg';
import { ROOT, ensureBuilt } from './cli/run-cli';
import { SKIP_BUT_ONCE_IN_CI } from './helpers';
import { freePort, waitForListening } from './net';

// The docs as a whole: the README is a front door whose first command works, every relative link
// and #anchor of the README and docs/ resolves, and docs/try-it-locally.md runs as written, in
// this clone, with the real ffmpeg of @ffmpeg-installer/ffmpeg and s3rver. (The samples of every
// page are run by test/readme.test.ts and compiled by test/docs-typescript.test.ts.)

const PAGES = docPages();
const README = readPage('README.md');

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown page: its headings' slugs, a repeated one suffixed -1, -2… */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const text of withoutCode(markdown)) {
    const title = /^#{1,6} (.*)$/.exec(text);
    if (!title) continue;
    const base = slug(title[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** The page's lines outside fenced code blocks (blanked inside them, so line numbers hold). */
function withoutCode(markdown: string): string[] {
  let open = false;
  return markdown.split('\n').map((text) => {
    if (/^```/.test(text)) {
      open = !open;
      return '';
    }
    return open ? '' : text;
  });
}

/**
 * What is wrong with the relative links of a page (`file` relative to the repository): a target
 * that does not exist, or an #anchor its page lacks. Links to other sites are not followed.
 */
function brokenLinks(file: string, markdown: string): string[] {
  const problems: string[] = [];
  withoutCode(markdown).forEach((text, i) => {
    // Inline code is not a link.
    for (const match of text.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? '';
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      const at = `${file}:${i + 1}: ${target}`;
      if (path !== '' && (resolved.startsWith('..') || !existsSync(join(ROOT, resolved)))) {
        problems.push(`${at}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!resolved.endsWith('.md') || (path !== '' && statSync(join(ROOT, resolved)).isDirectory())) problems.push(`${at}: an anchor into a file that is not markdown`);
      else if (!anchors(resolved === file ? markdown : readPage(resolved)).has(anchor)) problems.push(`${at}: no heading with this anchor`);
    }
  });
  return problems;
}

describe('links', () => {
  it('every relative link and #anchor of the README and docs/ resolves', () => {
    expect(PAGES.length).toBeGreaterThanOrEqual(14);
    expect(PAGES.flatMap((file) => brokenLinks(file, readPage(file)))).toEqual([]);
  });

  it('the check finds a missing page, a missing anchor and a link out of the repository', () => {
    const page = ['[a](streams.md#no-such-heading)', '[b](nowhere.md)', '[c](../../etc/passwd)', '[d](#links)', '`[e](ignored.md)`', '## Links', '[f](https://example.com/x)'].join('\n');
    expect(brokenLinks('docs/rigged.md', page)).toEqual([
      'docs/rigged.md:1: streams.md#no-such-heading: no heading with this anchor',
      'docs/rigged.md:2: nowhere.md: no such file',
      'docs/rigged.md:3: ../../etc/passwd: no such file',
    ]);
  });

  it("anchors are GitHub's", () => {
    expect(['`uploadFile(path, options): Promise<UploadResult>`', "With the library: from ffmpeg's stdout", 'A pipe with `--size`', 'A local S3 (s3rver)'].map(slug)).toEqual([
      'uploadfilepath-options-promiseuploadresult',
      'with-the-library-from-ffmpegs-stdout',
      'a-pipe-with---size',
      'a-local-s3-s3rver',
    ]);
  });

  it('the README links every page of docs/', () => {
    const linked = new Set([...README.matchAll(/\]\((docs\/[^)#]+\.md)[)#]/g)].map((m) => m[1]));
    expect(PAGES.filter((file) => file.startsWith('docs/') && !linked.has(file))).toEqual([]);
  });
});

describe('the README, a front door', () => {
  const sections = [...README.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
  const firstScreen = README.slice(0, README.indexOf('\n## ', README.indexOf('## Documentation') + 1));

  it('reads: what it is, the two commands, the command, the library, the links (Node versions after)', () => {
    expect(sections).toEqual(['Quick start', 'The command', 'The library', 'Documentation', 'Node versions']);
    // About a screen up to the end of the links (77 lines now): a recipe added here would push it past.
    expect(firstScreen.split('\n').length).toBeLessThanOrEqual(90);
    const blocks = fences(firstScreen, 'README.md').map((f) => f.lang);
    expect(blocks).toEqual(['sh', 'sh', 'sh', 'ts']);
  });

  it('its first commands are `npm ci && npm start`, then `npm test`', () => {
    expect(/```sh\n([\s\S]*?)\n```/.exec(README)?.[1]).toBe('npm ci && npm start\nnpm test');
  });

  it('`npm start` uploads a generated sample to the embedded emulator when no API key is set', async () => {
    ensureBuilt();
    const run = await runBash('npm start', ROOT, {});
    expect(run.stderr).toContain('No OFAUTH_API_KEY set: uploading to the embedded emulator');
    expect(run.stdout).toContain('Uploaded sample-64MiB.bin (application/octet-stream) to the embedded emulator');
    expect(run.stdout).toContain('  sha256 match   yes\n');
    expect(run.code).toBe(0);
  }, 60_000);
});

// docs/try-it-locally.md as a user runs it in a clone: its `background` block (s3rver) started in
// a process group of its own, then each `local` block with bash, in the clone, with no OFAUTH_
// variable (so the command uses its embedded emulator) and no AWS setting but what the block
// gives. One change: its port 4568 becomes a free one, so parallel runs cannot collide. mktemp
// makes s3rver's folder under a temp dir of the test's, removed after.
describe.skipIf(SKIP_BUT_ONCE_IN_CI)('docs/try-it-locally.md, run as written', () => {
  const blocks = shellSamples(readPage('docs/try-it-locally.md'), 'docs/try-it-locally.md');
  const PORT = '4568';
  let port = 0;
  let temp = '';
  let s3rver: ChildProcess | undefined;
  const skip = REAL_FFMPEG.skip !== undefined;
  const run = (block: ShellSample, env: Record<string, string> = {}) => runBash(block.code.replaceAll(PORT, String(port)), ROOT, { TMPDIR: temp, ...env });

  beforeAll(async () => {
    if (skip) return;
    ensureBuilt();
    temp = mkdtempSync(join(tmpdir(), 'ofauth-try-it-locally-'));
    port = await freePort();
    const background = blocks.find((b) => b.mode === 'background');
    if (background === undefined) return;
    s3rver = spawn('bash', ['-c', background.code.replaceAll(PORT, String(port))], { cwd: ROOT, env: cleanEnv({ TMPDIR: temp }), stdio: 'ignore', detached: true });
    await waitForListening(port, () => s3rver?.exitCode !== null || s3rver.signalCode !== null, 'the background block', 30_000);
  }, 60_000);
  afterAll(async () => {
    if (s3rver?.pid !== undefined && s3rver.exitCode === null) {
      const exited = new Promise((resolve) => s3rver?.once('exit', resolve));
      process.kill(-s3rver.pid, 'SIGTERM');
      await exited;
    }
    if (temp !== '') rmSync(temp, { recursive: true, force: true });
  });

  it('has a local block for ffmpeg, the s3rver to start, and a local block for S3, all on port 4568', () => {
    expect(blocks.map((b) => b.mode)).toEqual(['local', 'background', 'local']);
    expect(blocks.slice(1).every((b) => b.code.includes(PORT))).toBe(true);
    expect(blocks[0]?.code).toContain("require('@ffmpeg-installer/ffmpeg').path");
  });

  it.skipIf(skip)(withFfmpeg(`${where(blocks[0] ?? { file: '?', line: 0 })}: ffmpeg from npm into the command: uploaded, and the emulator stored what ffmpeg wrote`), async () => {
    const result = await run(blocks[0] as ShellSample);
    expect(result.stderr).toContain('No OFAUTH_API_KEY set: uploading to the embedded emulator');
    expect(result.stdout).toContain('Uploaded test-pattern.mp4 (video/mp4) to the embedded emulator');
    expect(result.stdout).toContain('  sha256 match   yes\n');
    expect(result.code).toBe(0);
  }, 60_000);

  it.skipIf(skip)(withFfmpeg(`${where(blocks[2] ?? { file: '?', line: 0 })}: a clip put in s3rver, uploaded with --s3-endpoint and its credentials, as the page shows`), async () => {
    const result = await run(blocks[2] as ShellSample);
    const line = /^uploaded {2}s3:\/\/demo-bucket\/day1\/clip\.mp4 {2}.* {2}sha256 ok$/m;
    expect(result.stdout).toMatch(line);
    expect(result.stdout).toMatch(/^Done: 1 source, 1 uploaded, 0 skipped, 0 failed; /m);
    expect(result.code).toBe(0);
    // The output the page shows has the same shape.
    expect(readPage('docs/try-it-locally.md')).toMatch(line);
  }, 60_000);

  it.skipIf(skip)(withFfmpeg('as the page says, another key id fails the source with InvalidAccessKeyId, exit code 1'), async () => {
    const upload = (blocks[2]?.code ?? '').split('\n').find((l) => l.includes('npx ofauth-upload s3://')) ?? '';
    const result = await run({ ...(blocks[2] as ShellSample), code: upload.replace('AWS_ACCESS_KEY_ID=S3RVER', 'AWS_ACCESS_KEY_ID=someone-else') });
    expect(upload).toContain('AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER npx ofauth-upload s3://demo-bucket/day1/ --s3-endpoint');
    expect(result.stderr).toMatch(/ERR_SOURCE: ListObjectsV2 s3:\/\/demo-bucket\/day1\/ failed: InvalidAccessKeyId: /);
    expect(result.code).toBe(1);
  }, 60_000);
});

/** This process's environment without OFAUTH_ and AWS_ variables (a user's own would change the outcome), plus `env`. */
function cleanEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('OFAUTH_') && !key.startsWith('AWS_') && key !== 'NODE_DEBUG') out[key] = value;
  }
  // No ~/.aws files, no instance metadata: only what the block itself gives.
  return { ...out, AWS_CONFIG_FILE: '/nonexistent/ofauth-docs-aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/ofauth-docs-aws-credentials', AWS_EC2_METADATA_DISABLED: 'true', ...env };
}

/** `bash -c` with errexit and pipefail, so a failing stage of a pipe fails the block. */
function runBash(code: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stdout, stderr }));
  });
}

