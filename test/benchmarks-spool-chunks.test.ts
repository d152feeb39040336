// Smoke test of `npm run bench -- --spool-chunks` (benchmarks/spool-chunks.mjs): every row runs,
// the sink counted every byte of every upload (the run fails otherwise), and the report is written.
import { SKIP_BUT_ONCE_IN_CI } from './helpers';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe.skipIf(SKIP_BUT_ONCE_IN_CI)('spool-chunks benchmark', () => {
  const out = mkdtempSync(join(tmpdir(), 'ofauth-spool-chunks-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs the download, memory and fetch rows at 4, 16 and 64 KiB and writes the report', { timeout: 90_000 }, async () => {
    await run(process.execPath, [join(root, 'benchmarks', 'run.mjs'), '--spool-chunks', '--size', '12MiB', '--rounds', '1', '--out', out, '--name', 'smoke'], {
      cwd: root,
      timeout: 85_000,
    });
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    const ids = ['download', 'memory', 'fetch'].flatMap((g) => [4, 16, 64].map((k) => `${g}-${k}k`));
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(ids);
    expect(report.size).toBe(12 * 1024 * 1024);
    for (const row of report.results) {
      expect(row.wallS.median, row.id).toBeGreaterThan(0);
      expect(row.timeVs64k, row.id).toBeGreaterThan(0);
    }
    // The spooled rows uploaded: 12 MiB in 8 MiB parts, spilled past the 8 MiB of spool memory.
    for (const row of report.results.filter((r: { group: string }) => r.group !== 'fetch')) expect(row.runs[0].detail.parts, row.id).toBe(2);
    expect(readFileSync(join(out, 'smoke.md'), 'utf8')).toContain('| download-4k | undici download, chunked in 4 KiB pieces |');
  });
});
