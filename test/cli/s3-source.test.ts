import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../lib/cli/usage-error';
import { connectS3, loadS3Module } from '../../lib/cli/sources/s3-client';
import type { Emulator } from '../../lib/emulator/index';
import { ROOT, bytes, cliEmulatorFixture, ensureBuilt, runCli, sha256 } from './run-cli';
import { type FakeS3, S3RVER_ENV, startFakeS3 } from './s3rver';

// s3:// sources against s3rver, a fake S3 on 127.0.0.1; the SDK is an optional peer dependency.

const MiB = 1024 * 1024;
const API_KEY = 'sk_s3_SECRET_never_printed_52';
const BUCKET = 'media-bucket';
let s3: FakeS3;
let emu: Emulator | undefined;
let dir: string;

const objects: Record<string, { body: Buffer; type?: string }> = {
  'day1/a-roll.mp4': { body: bytes(2 * MiB + 11, 61), type: 'video/mp4' },
  // Stored without a useful type: the key's extension says what it is.
  'day1/still.jpg': { body: bytes(70_000, 62), type: 'binary/octet-stream' },
  'day1/takes/b-roll.mov': { body: bytes(1_200_000, 63) },
  'day2/other.mp4': { body: bytes(1000, 64), type: 'video/mp4' },
};

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ofauth-s3-'));
  s3 = await startFakeS3();
  await s3.createBucket(BUCKET);
  // A console's "folder" marker: a zero-byte key ending in '/', not an object to upload.
  await s3.put(BUCKET, 'day1/', Buffer.alloc(0));
  for (const [key, { body, type }] of Object.entries(objects)) await s3.put(BUCKET, key, body, type);
}, 30_000);
afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});
const emulator = cliEmulatorFixture(API_KEY, 'conn_s3');

/** Starts the emulator (closed after each test) and returns the CLI's environment for it. */
async function emulatorEnv(): Promise<Record<string, string>> {
  const started = await emulator();
  emu = started.emu;
  return { ...S3RVER_ENV, ...started.env };
}

type Line = Record<string, unknown> & { type: string; source: string };
const jsonLines = (stdout: string): Line[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('s3:// sources (s3rver)', () => {
  it('a prefix: every object under it, streamed with its size and type; a missing key is that source’s failure; a manifest skips them next time', async () => {
    const env = await emulatorEnv();
    const manifest = join(dir, 's3.jsonl');
    const args = [`s3://${BUCKET}/day1/`, `s3://${BUCKET}/nope.mp4`, 's3://no-such-bucket/x/', '--s3-endpoint', s3.endpoint, '--manifest', manifest, '--json'];
    const run = await runCli(args, { env });
    expect(run.code).toBe(1);
    const lines = jsonLines(run.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', sources: 5, uploaded: 3, failed: 2 });
    const uploaded = lines.filter((l) => l.type === 'uploaded');
    expect(uploaded.map((l) => l.source).sort()).toEqual(['day1/a-roll.mp4', 'day1/still.jpg', 'day1/takes/b-roll.mov'].map((k) => `s3://${BUCKET}/${k}`));
    const types: Record<string, string> = { 'a-roll.mp4': 'video/mp4', 'still.jpg': 'image/jpeg', 'b-roll.mov': 'video/quicktime' };
    for (const line of uploaded) {
      const { body } = objects[line.source.slice(`s3://${BUCKET}/`.length)] ?? { body: Buffer.alloc(0) };
      expect(line).toMatchObject({ size: body.length, sha256: sha256(body), contentType: types[String(line.filename)] });
      expect(emu!.media(String(line.mediaUploadId))).toMatchObject({ completed: true, size: body.length, sha256: sha256(body) });
    }
    // Lines come in the order the sources finish, not the order they were named.
    expect(lines.find((l) => l.source === `s3://${BUCKET}/nope.mp4`)).toMatchObject({
      type: 'failed',
      error: { code: 'ERR_SOURCE', reason: 's3', s3Code: 'NotFound', status: 404, message: expect.stringContaining(`HeadObject s3://${BUCKET}/nope.mp4 failed`) },
    });
    // A prefix that cannot be listed is that SOURCE's failure; the others still ran.
    expect(lines.find((l) => l.source === 's3://no-such-bucket/x/')).toMatchObject({
      type: 'failed',
      error: { code: 'ERR_SOURCE', reason: 's3', s3Code: 'NoSuchBucket', status: 404, message: expect.stringContaining('ListObjectsV2 s3://no-such-bucket/x/ failed: NoSuchBucket') },
    });
    const recorded = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recorded).toHaveLength(3);
    for (const entry of recorded) expect(entry.etag).toMatch(/^"[0-9a-f]{32}"$/);

    emu!.reset();
    s3.requests.length = 0;
    const again = await runCli(args, { env });
    const lines2 = jsonLines(again.stdout);
    expect(lines2.at(-1)).toMatchObject({ skipped: 3, uploaded: 0, failed: 2 });
    expect(emu!.stats.initCalls).toBe(0);
    // Skipped on the listing's ETags alone: the one listing, and a HEAD only for the key not listed.
    expect(s3.requests.map((r) => r.replace(/\?.*/, ''))).toEqual([`GET /${BUCKET}/`, 'GET /no-such-bucket/', `HEAD /${BUCKET}/nope.mp4`]);
  });

  it('one object, named alone: the one-upload output, named after its key', async () => {
    const env = await emulatorEnv();
    const run = await runCli([`s3://${BUCKET}/day2/other.mp4`, '--s3-endpoint', s3.endpoint], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Uploaded other.mp4 (video/mp4) to http://127.0.0.1:');
    expect(run.stdout).toContain(`sha256 local   ${sha256(objects['day2/other.mp4']?.body ?? Buffer.alloc(0))}`);
  });

  it('on Node < 22, the SDK\'s NodeVersionSupportWarning is not printed, even without its opt-out in the environment', async () => {
    // Empty, whatever this process has: the SDK's opt-out is off (it wants the string 'true').
    const s3Env = { ...S3RVER_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '' };
    const started = await emulator();
    emu = started.emu;
    const env = { ...s3Env, ...started.env };
    if (Number(process.versions.node.split('.')[0]) < 22) {
      // The control: this SDK on this Node does warn when a client is made and nobody opted out.
      const bare = spawnSync(process.execPath, ['-e', "new (require('@aws-sdk/client-s3').S3Client)({ region: 'us-east-1' })"], {
        cwd: ROOT,
        env: { ...process.env, ...s3Env },
        encoding: 'utf8',
      });
      expect(bare.stderr).toContain('NodeVersionSupportWarning');
    }
    for (const args of [[`s3://${BUCKET}/day2/other.mp4`, '-q'], [`s3://${BUCKET}/day1/`, '--json']]) {
      const run = await runCli([...args, '--s3-endpoint', s3.endpoint], { env });
      expect(run.code).toBe(0);
      expect(run.stderr).not.toContain('NodeVersionSupportWarning');
      expect(run.stderr).not.toContain('AWS SDK');
    }
  });

  it('ListObjectsV2 is followed page by page, with the continuation token', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const sdk = await loadS3Module();
    const pages: { ContinuationToken?: string | undefined; MaxKeys?: number | undefined }[] = [];
    class CountedList extends sdk.ListObjectsV2Command {
      constructor(input: ConstructorParameters<typeof sdk.ListObjectsV2Command>[0]) {
        super(input);
        pages.push(input);
      }
    }
    const access = await connectS3({ ...sdk, ListObjectsV2Command: CountedList }, { endpoint: s3.endpoint, pageSize: 2 });
    const keys: string[] = [];
    try {
      for await (const object of access.list(BUCKET, 'day')) keys.push(object.key);
    } finally {
      access.destroy();
      vi.unstubAllEnvs();
    }
    expect(keys).toEqual(['day1/', 'day1/a-roll.mp4', 'day1/still.jpg', 'day1/takes/b-roll.mov', 'day2/other.mp4']);
    expect(pages).toHaveLength(3);
    expect(pages.map((p) => p.MaxKeys)).toEqual([2, 2, 2]);
    expect(pages[0]?.ContinuationToken).toBeUndefined();
    expect(pages[1]?.ContinuationToken).toEqual(expect.any(String));
    expect(pages[2]?.ContinuationToken).not.toBe(pages[1]?.ContinuationToken);
  });
});

describe('@aws-sdk/client-s3 is an optional peer dependency', () => {
  const hide = ['--import', join(ROOT, 'test', 'fixtures', 'hide-aws-sdk.mjs')];

  it('missing: an s3:// source is a one-line usage error naming the package, before anything is sent', async () => {
    const env = await emulatorEnv();
    const run = await runCli([`s3://${BUCKET}/day1/`], { env, nodeArgs: hide });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(
      'ofauth-upload: ERR_USAGE: s3:// sources need the package @aws-sdk/client-s3 (an optional peer dependency), which is not installed: npm install @aws-sdk/client-s3',
    );
    expect(emu!.requests).toHaveLength(0);
    // Loaded only for s3:// sources: everything else works without it.
    const file = join(dir, 'plain.mp4');
    writeFileSync(file, bytes(5000, 65));
    const plain = await runCli([file, '--json'], { env, nodeArgs: hide });
    expect(plain.code).toBe(0);
  });

  it('another failure of the import is not mistaken for a missing package', async () => {
    await expect(loadS3Module(() => Promise.reject(Object.assign(new Error('x'), { code: 'ERR_MODULE_NOT_FOUND' })))).rejects.toThrow(UsageError);
    await expect(loadS3Module(() => Promise.reject(new SyntaxError('Unexpected token')))).rejects.toThrow(SyntaxError);
  });
});
