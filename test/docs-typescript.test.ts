import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sample, docPages, readPage, tsSamples, where } from './cli/readme-samples';
import { ROOT, ensureBuilt } from './cli/run-cli';
import { SKIP_BUT_ONCE_IN_CI } from './helpers';

// Every ```ts block of the README and docs/ compiled as a user pastes it (issue 26: the download
// recipe did not compile in a `tsc --init` project). One scratch project, made the way a user
// makes one, and one tsc run over all the samples:
// - tsconfig.json is what `tsc --init` of this repository's TypeScript writes, with the one edit
//   its own comment asks for Node code: `"types": ["node"]` where it wrote `"types": []` (with
//   `[]`, `process` and every `node:` import are unknown). Nothing else is touched: `module`
//   nodenext, `strict`, `exactOptionalPropertyTypes`, `noUncheckedIndexedAccess`,
//   `verbatimModuleSyntax`, and the default `lib`, which includes the DOM's (where `fetch`'s
//   body type comes from);
// - package.json says `"type": "module"`: the samples use top-level await;
// - node_modules/ofauth-upload-stream is this package as npm publishes it: `npm pack` of the
//   built package, unpacked, so its types resolve through its `exports` and only the files it
//   ships exist; its dependencies, @types/node and what the samples import (the AWS SDK, busboy
//   and its types, vitest) are links to this repository's node_modules, i.e. the versions of its
//   lockfile, as `npm install` would have put them there.
// Compiled with this repository's tsc, `--noEmit` added on the command line.

const PAGES = docPages();
const samples = PAGES.flatMap((file) => tsSamples(readPage(file), file));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const scratch = mkdtempSync(join(tmpdir(), 'ofauth-docs-tsc-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The scratch file of each sample, so a diagnostic can be reported at its page and line. */
const files = new Map<string, Sample>();
const fileOf = (sample: Sample) => `samples/${sample.file.replace(/[^\w]/g, '-')}-${sample.line}.ts`;

// Controls, compiled in the same program: each proves the project is as strict as it claims.
// The line: under the default lib, fetch's body is the DOM's ReadableStream, which
// Readable.fromWeb (typed by node:stream/web) does not take.
const FROM_WEB = "import { Readable } from 'node:stream';\nconst response = await fetch('https://cdn.example.com/clip.mp4');\nif (response.body !== null) Readable.fromWeb(response.body);\n";
const WRONG_OPTION = "import { OFAuthUploadStream } from 'ofauth-upload-stream';\nnew OFAuthUploadStream({ apiKey: 42 });\n";
/** The cast docs/urls.md gives in its prose for Readable.fromWeb, which must compile. */
const castInUrls = /`(Readable\.fromWeb\(response\.body as [^`]+\))`/.exec(readPage('docs/urls.md'))?.[1];

interface Diagnostic {
  file: string;
  line: number;
  code: string;
  message: string;
}

let template = '';
let diagnostics: Diagnostic[] = [];
let listed: string[] = [];

beforeAll(() => {
  ensureBuilt();
  execFileSync(process.execPath, [TSC, '--init'], { cwd: scratch, stdio: 'pipe' });
  template = readFileSync(join(scratch, 'tsconfig.json'), 'utf8');
  writeFileSync(join(scratch, 'tsconfig.json'), template.replace(/^(\s*)"types": \[\],$/m, '$1"types": ["node"],'));
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify({ name: 'docs-samples', private: true, type: 'module' }, null, 2)}\n`);

  // The package as published.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string }>;
  const installed = join(scratch, 'node_modules', 'ofauth-upload-stream');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(scratch, packed[0]?.filename ?? ''), '-C', installed, '--strip-components=1']);

  // Its dependencies, Node's types, and what the samples import, from this repository's install.
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const imported = samples.flatMap((s) => [...s.code.matchAll(/from '([^'.][^']*)'/g)].map((m) => m[1] ?? ''));
  const packages = new Set(['@types/node', ...Object.keys(manifest.dependencies ?? {})]);
  for (const specifier of imported) {
    if (specifier.startsWith('node:') || specifier.startsWith('ofauth-upload-stream')) continue;
    const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
    packages.add(name);
    packages.add(`@types/${name.replace(/^@/, '').replace('/', '__')}`);
  }
  for (const name of packages) {
    const target = join(ROOT, 'node_modules', name);
    if (!existsSync(target)) continue;
    mkdirSync(join(scratch, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(target, join(scratch, 'node_modules', name), 'junction');
  }

  mkdirSync(join(scratch, 'samples'));
  for (const sample of samples) {
    files.set(fileOf(sample), sample);
    writeFileSync(join(scratch, fileOf(sample)), `${sample.code}\n`);
  }
  writeFileSync(join(scratch, 'samples', 'control-from-web.ts'), FROM_WEB);
  writeFileSync(join(scratch, 'samples', 'control-wrong-option.ts'), WRONG_OPTION);
  writeFileSync(join(scratch, 'samples', 'control-urls-cast.ts'), `import { Readable } from 'node:stream';\nconst response = await fetch('https://cdn.example.com/clip.mp4');\nif (response.body !== null) ${castInUrls ?? ''};\n`);

  let output: string;
  try {
    output = execFileSync(process.execPath, [TSC, '-p', '.', '--noEmit', '--pretty', 'false', '--listFiles'], { cwd: scratch, encoding: 'utf8' });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  listed = output.split('\n').filter((line) => line.startsWith('/'));
  diagnostics = output.split('\n').flatMap((line) => {
    const match = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    return match ? [{ file: match[1] ?? '', line: Number(match[2]), code: match[3] ?? '', message: match[4] ?? '' }] : [];
  });
}, 120_000);

// tsc's verdict does not depend on the Node major: in CI once, on the newest (OFAUTH_CI).
describe.skipIf(SKIP_BUT_ONCE_IN_CI)('the samples, compiled in a project made by `tsc --init`', () => {
  it('tsc --init of this TypeScript writes `"types": []`, and the edit for Node applied', () => {
    // Its own comment asks for `"types": ["node"]` for Node code; nothing else was changed.
    expect(template).toMatch(/^\s*"types": \[\],$/m);
    expect(template).toMatch(/^\s*\/\/ "types": \["node"\],$/m);
    const used = readFileSync(join(scratch, 'tsconfig.json'), 'utf8');
    expect(used).toMatch(/^\s*"types": \["node"\],$/m);
    expect(used.replace('"types": ["node"],', '"types": [],')).toBe(template);
    // The settings the samples are held to, as this TypeScript's --init has them.
    for (const setting of ['"module": "nodenext"', '"strict": true', '"exactOptionalPropertyTypes": true', '"noUncheckedIndexedAccess": true', '"verbatimModuleSyntax": true']) {
      expect(template).toContain(setting);
    }
  });

  it('resolves the package through its exports, from the packed copy (not the repository)', () => {
    const installed = join(scratch, 'node_modules', 'ofauth-upload-stream');
    expect(listed).toEqual(expect.arrayContaining([join(installed, 'dist', 'index.d.ts'), join(installed, 'dist', 'emulator.d.ts')].map((f) => f.replaceAll('\\', '/'))));
    expect(listed.filter((f) => f.startsWith(`${ROOT}/dist/`) || f.startsWith(`${ROOT}/lib/`))).toEqual([]);
    expect(existsSync(join(installed, 'lib'))).toBe(false);
  });

  it('every ts sample of the README and docs/ compiles', () => {
    expect(files.size).toBe(samples.length);
    expect(samples.length).toBeGreaterThanOrEqual(10);
    const found = diagnostics
      .filter((d) => !d.file.startsWith('samples/control-'))
      .map((d) => {
        const sample = files.get(d.file);
        return sample ? `${where({ file: sample.file, line: sample.line + d.line - 1 })}: ${d.code} ${d.message}` : `${d.file}:${d.line}: ${d.code} ${d.message}`;
      });
    expect(found).toEqual([]);
  });

  it('the controls: a wrong option and the issue\'s Readable.fromWeb(response.body) fail; the cast docs/urls.md gives compiles', () => {
    expect(castInUrls).toBeDefined();
    const controls = diagnostics.filter((d) => d.file.startsWith('samples/control-')).map((d) => [d.file, d.line, d.code]);
    expect(controls).toEqual([
      ['samples/control-from-web.ts', 3, 'TS2345'],
      ['samples/control-wrong-option.ts', 2, 'TS2322'],
    ]);
  });

});
