import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { README_BIN } from './readme-harness';
import { REAL_FFMPEG, isFragmentedMp4, makeTestVideo, withFfmpeg } from './real-ffmpeg';
import { ROOT, ensureBuilt, sha256 } from './run-cli';

// The README's one-liner, run by bash as a user types it: the real ffmpeg (through the shim of
// test/fixtures/readme/bin, which copies its stdout aside) transcoding a real clip to a
// fragmented MP4 on stdout, piped into the built CLI with no size and no OFAUTH_API_KEY, so the
// CLI spools the pipe and uploads it to its embedded emulator.

const LINE = 'ffmpeg -i talk.mp4 -c:v libx264 -movflags frag_keyframe+empty_moov -f mp4 pipe:1 | ofauth-upload - --filename clip.mp4';

let cwd: string;
beforeAll(async () => {
  ensureBuilt();
  cwd = mkdtempSync(join(tmpdir(), 'ofauth-cli-ffmpeg-'));
  if (REAL_FFMPEG.path !== undefined) await makeTestVideo(REAL_FFMPEG.path, join(cwd, 'talk.mp4'));
}, 60_000);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** `LINE` under `set -o pipefail`, in `cwd`, with the shims first on PATH and no OFAUTH_ variables. */
function runLine(env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; transcoded: Buffer }> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('OFAUTH_')) base[key] = value;
  const tee = join(cwd, 'ffmpeg-stdout');
  const child = spawn('bash', ['-o', 'pipefail', '-c', LINE], {
    cwd,
    env: { ...base, PATH: `${README_BIN}${delimiter}${process.env.PATH ?? ''}`, README_FFMPEG: REAL_FFMPEG.path ?? '', README_FFMPEG_TEE: tee, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, transcoded: readFileSync(tee) }));
  });
}

describe("the README's ffmpeg one-liner, with the real ffmpeg and the built CLI", () => {
  it('is the line the README shows', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(`\n${LINE}\n`);
  });

  it.skipIf(REAL_FFMPEG.skip !== undefined)(
    withFfmpeg("against the embedded emulator, with no --size: exit 0, sha256 match yes, and the stored bytes are ffmpeg's"),
    async () => {
      const run = await runLine();
      expect(run.stderr).toContain('No OFAUTH_API_KEY set: uploading to the embedded emulator');
      expect(run.code).toBe(0);
      expect(isFragmentedMp4(run.transcoded)).toBe(true);
      expect(run.stdout).toContain('Uploaded clip.mp4 (video/mp4) to the embedded emulator');
      expect(run.stdout).toContain(`  bytes          ${run.transcoded.length} `);
      expect(run.stdout).toContain(`  sha256 local   ${sha256(run.transcoded)}\n`);
      expect(run.stdout).toContain(`  sha256 stored  ${sha256(run.transcoded)} (emulator)\n`);
      expect(run.stdout).toContain('  sha256 match   yes\n');
    },
    30_000,
  );

  // What the README warns about: the CLI sees the end of the pipe, not how ffmpeg ended.
  it.skipIf(REAL_FFMPEG.skip !== undefined)(
    withFfmpeg('an ffmpeg that dies half-way: what it wrote is uploaded, and only pipefail makes the line fail'),
    async () => {
      const run = await runLine({ README_FFMPEG_CRASH_AFTER: '20000' });
      expect(run.transcoded.length).toBe(20_000);
      expect(run.code).toBe(128 + 9); // SIGKILL, reported by pipefail
      expect(run.stdout).toContain(`  bytes          20000 `);
      expect(run.stdout).toContain('  sha256 match   yes\n');
    },
    30_000,
  );
});
