// Item 7 of issue 26: a global install is told `npm install -g @aws-sdk/client-s3`.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectInstall, installKind } from '../../lib/cli/install-location';
import { loadS3Module } from '../../lib/cli/sources/s3-client';
import { UsageError } from '../../lib/cli/usage-error';
import { ROOT, ensureBuilt, runCli } from './run-cli';

const missing = () => Promise.reject(Object.assign(new Error("Cannot find package '@aws-sdk/client-s3'"), { code: 'ERR_MODULE_NOT_FOUND' }));
const NEED = 's3:// sources need the package @aws-sdk/client-s3 (an optional peer dependency), which is not installed: ';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ofauth-install-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadS3Module: the install command fits how the CLI was installed', () => {
  it.each([
    ['global', 'npm install -g @aws-sdk/client-s3 (ofauth-upload is installed globally)'],
    ['local', 'npm install @aws-sdk/client-s3'],
    ['unknown', 'npm install @aws-sdk/client-s3 (npm install -g @aws-sdk/client-s3 if ofauth-upload is installed globally)'],
  ] as const)('%s', async (kind, command) => {
    const error = await loadS3Module(missing, async () => kind).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`${NEED}${command}`);
  });

  it('a detection that fails gives the message for both, not an error of its own', async () => {
    const error = await loadS3Module(missing, () => Promise.reject(new Error('spawn npm ENOENT'))).catch((e: unknown) => e);
    expect((error as Error).message).toContain('(npm install -g @aws-sdk/client-s3 if ofauth-upload is installed globally)');
  });

  it('the SDK present: no detection at all', async () => {
    let asked = false;
    const sdk = { S3Client: class {} } as never;
    expect(await loadS3Module(async () => sdk, async () => ((asked = true), 'global'))).toBe(sdk);
    expect(asked).toBe(false);
  });
});

describe('installKind: inside `npm root -g`, symlinks resolved', () => {
  it('a file under the global root is global; one in a project, or beside the root, is local; no root is unknown', () => {
    const root = join(dir, 'prefix', 'lib', 'node_modules');
    const cli = join(root, 'ofauth-upload-stream', 'dist', 'cli.js');
    const project = join(dir, 'project', 'node_modules', 'ofauth-upload-stream', 'dist', 'cli.js');
    for (const file of [cli, project]) {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, '');
    }
    expect(installKind(cli, root)).toBe('global');
    expect(installKind(project, root)).toBe('local');
    // A sibling whose name starts like the root's is not inside it.
    expect(installKind(join(dir, 'prefix', 'lib', 'node_modules2', 'x.js'), root)).toBe('local');
    expect(installKind(root, root)).toBe('local');
    expect(installKind(cli, undefined)).toBe('unknown');
    // The global root reached through a symlink (e.g. /usr/local → /opt/homebrew) is the same place.
    symlinkSync(join(dir, 'prefix'), join(dir, 'prefix-link'));
    expect(installKind(cli, join(dir, 'prefix-link', 'lib', 'node_modules'))).toBe('global');
  });

  it('detectInstall asks npm: a module under npm_config_prefix\'s lib/node_modules is global, this checkout is not', async () => {
    const prefix = join(dir, 'npm-prefix');
    const file = join(prefix, 'lib', 'node_modules', 'ofauth-upload-stream', 'dist', 'cli.js');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '');
    const before = process.env.npm_config_prefix;
    process.env.npm_config_prefix = prefix;
    try {
      expect(await detectInstall(pathToFileURL(file).href)).toBe('global');
      expect(await detectInstall(pathToFileURL(join(ROOT, 'dist', 'cli.js')).href)).toBe('local');
    } finally {
      if (before === undefined) delete process.env.npm_config_prefix;
      else process.env.npm_config_prefix = before;
    }
  });
});

describe('the built CLI, installed globally under a prefix of its own, without the SDK', () => {
  it('says npm install -g; the same build in this checkout says npm install', async () => {
    ensureBuilt();
    const prefix = join(dir, 'global');
    const pkg = join(prefix, 'lib', 'node_modules', 'ofauth-upload-stream');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    // Its dependencies (undici, zod) as a global install has them; the SDK is hidden below.
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const hide = ['--import', join(ROOT, 'test', 'fixtures', 'hide-aws-sdk.mjs')];
    const env = { npm_config_prefix: prefix };
    const global = await runCli(['s3://media-bucket/clip.mp4'], { env, nodeArgs: hide, script: join(pkg, 'dist', 'cli.js') });
    expect(global.code).toBe(2);
    expect(global.stderr.split('\n')[0]).toBe(`ofauth-upload: ERR_USAGE: ${NEED}npm install -g @aws-sdk/client-s3 (ofauth-upload is installed globally)`);
    const local = await runCli(['s3://media-bucket/clip.mp4'], { env, nodeArgs: hide });
    expect(local.code).toBe(2);
    expect(local.stderr.split('\n')[0]).toBe(`ofauth-upload: ERR_USAGE: ${NEED}npm install @aws-sdk/client-s3`);
  });
});
