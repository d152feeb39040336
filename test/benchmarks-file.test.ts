import { SKIP_BUT_ONCE_IN_CI } from './helpers';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// The file rows of `npm run bench` (issue 11): the same file through uploadFile and through
// pipeline(createReadStream, OFAuthUploadStream), with uploadFile's two targets. A smoke run only:
// the figures come from the full run.
describe.skipIf(SKIP_BUT_ONCE_IN_CI)('benchmark: uploadFile vs createReadStream → OFAuthUploadStream', () => {
  const out = mkdtempSync(join(tmpdir(), 'ofauth-bench-file-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs both rows on one file, reports uploadFile against the stream, and removes the file', { timeout: 20_000 }, async () => {
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [join(root, 'benchmarks', 'run.mjs'), '--only', 'file-stream,file-uploadfile', '--size', '16MiB', '--rounds', '1', '--out', out, '--name', 'smoke'],
      { cwd: root, timeout: 19_000 },
    );
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(report.results.map((r: { id: string }) => r.id)).toEqual(['idle', 'file-stream', 'file-uploadfile']);
    const [, stream, file] = report.results;
    expect(file).toMatchObject({ kind: 'file', size: 16 * 1024 * 1024, ratioTo: 'file-stream' });
    expect(file.runs[0].detail.parts).toBe(2);
    expect(stream.runs[0].detail.parts).toBe(2);
    expect(file.ratios.mibPerS).toBeGreaterThan(0);
    expect(report.targets.filter((t: { name: string }) => t.name.startsWith('uploadFile')).map((t: { limit: string }) => t.limit)).toEqual(['≥ 0.95×', '≤ 1.1×']);
    expect(existsSync(file.file)).toBe(false);
    expect(stderr).toContain('file-uploadfile');
  });
});
