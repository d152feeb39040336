import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const KEY = 'sk_live_Zq8xTOPSECRETvalue_0451';

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-build.mjs')], { cwd: root, stdio: 'inherit' });
}, 120_000);

describe('the API key stays secret', () => {
  it('appears in no output, debug log (NODE_DEBUG), error, event or emulator record', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'test/fixtures/debug-upload.mjs')], {
      env: { ...process.env, NODE_DEBUG: 'ofauth-upload-stream', TEST_API_KEY: KEY },
      timeout: 60_000,
    });
    const output = stdout + stderr;
    // The scenarios really ran, and the debug log was on.
    expect(output).toMatch(/OFAUTH-UPLOAD-STREAM \d+: PUT \/v2\/access\/uploads\/.*\/parts\/1 attempt 1 -> 400/);
    expect(output).toContain('result');
    expect(output).toContain('ERR_OFAUTH_API');
    expect(output).toContain('ERR_OFAUTH_NETWORK');
    expect(output).toContain('ERR_OFAUTH_INVALID_RESPONSE');
    expect(output).toContain('[REDACTED]');
    // Neither the key nor a long piece of it.
    expect(output).not.toContain(KEY);
    expect(output).not.toContain(KEY.slice(0, 16));
    expect(output).not.toContain(encodeURIComponent(KEY));
    // Presigned signatures never show up in logs or errors either.
    expect(stderr).not.toMatch(/X-Signature=/i);
  });
});
