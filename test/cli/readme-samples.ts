import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './run-cli';

// The code blocks of the README and of every page under docs/, and what the docs tests do with
// each. A block is marked by an HTML comment on the line just above its fence:
//   ```ts   unmarked: run with Node to its end (test/readme.test.ts);
//           `<!-- docs-test: vitest -->` a test file itself, whose tests run as the docs test's;
//           `<!-- docs-test: server -->` a server the test starts with PORT set, sends requests
//           to, then stops. Every ts block is also compiled as users paste it, in a project made
//           by `tsc --init` (test/docs-typescript.test.ts).
//   ```sh   unmarked: not run (illustrations: a real bucket, a real CDN, a global install);
//           `<!-- docs-test: run -->` run with bash against the test's emulator, with stand-ins
//           for aws and ffmpeg (test/readme.test.ts);
//           `<!-- docs-test: local -->` run as written, in a clone, against the command's embedded
//           emulator, with the real ffmpeg of @ffmpeg-installer/ffmpeg and s3rver (test/docs.test.ts);
//           `<!-- docs-test: background -->` a server of the page's `local` blocks, started first
//           and stopped after them (test/docs.test.ts).

export type SampleMode = 'run' | 'vitest' | 'server';
export type ShellMode = 'run' | 'local' | 'background';

export interface Sample {
  /** The page, relative to the repository: 'README.md', 'docs/s3.md'. */
  file: string;
  /** 1-based line of the page where the code starts. */
  line: number;
  mode: SampleMode;
  /** The nearest heading above it, e.g. "## With the library: `GetObject` into the stream". */
  heading: string;
  code: string;
}

export interface Fence {
  file: string;
  line: number;
  lang: string;
}

export interface ShellSample {
  file: string;
  line: number;
  mode: ShellMode;
  code: string;
}

const TS_MODES: Record<string, SampleMode> = { vitest: 'vitest', server: 'server' };
const SH_MODES: Record<string, ShellMode> = { run: 'run', local: 'local', background: 'background' };
const MARKER = /^<!-- docs-test: (\S+) -->$/;

/** README.md, then every page of docs/ in name order, as paths relative to the repository. */
export function docPages(): string[] {
  const pages = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
  return ['README.md', ...pages.sort().map((name) => `docs/${name}`)];
}

export function readPage(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** Every fenced block's language, so a test can insist nothing escapes as ```typescript or ```js. */
export function fences(markdown: string, file: string): Fence[] {
  const out: Fence[] = [];
  let open = false;
  markdown.split('\n').forEach((text, i) => {
    const match = /^```(\S*)/.exec(text);
    if (!match) return;
    if (!open) out.push({ file, line: i + 1, lang: match[1] ?? '' });
    open = !open;
  });
  return out;
}

interface Block {
  line: number;
  lang: string;
  marker: string | undefined;
  heading: string;
  code: string;
}

/**
 * Every fenced block with its marker and heading. A marker that is not right above a fence, or
 * names no mode of that fence's language, throws: a typo must not quietly stop a block running.
 */
function blocks(markdown: string, file: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    const title = /^#+ (.*)$/.exec(text);
    if (title) heading = title[1] ?? '';
    const marker = MARKER.exec(text);
    if (marker && !/^```\S/.test(lines[i + 1] ?? '')) throw new Error(`${file}:${i + 1}: a docs-test marker must be right above a fence`);
    const fence = /^```(\S+)$/.exec(text);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed block`);
    const lang = fence[1] ?? '';
    const mark = MARKER.exec(lines[i - 1] ?? '')?.[1];
    const modes: Record<string, string> = lang === 'ts' ? TS_MODES : lang === 'sh' ? SH_MODES : {};
    if (mark !== undefined && modes[mark] === undefined) throw new Error(`${file}:${i}: no docs-test mode '${mark}' for a ${lang} block`);
    out.push({ line: i + 2, lang, marker: mark, heading, code: lines.slice(i + 1, end).join('\n') });
    // Past the block whole, so a `#` comment in a shell block is not taken for a heading.
    i = end;
  }
  return out;
}

export function tsSamples(markdown: string, file: string): Sample[] {
  return blocks(markdown, file)
    .filter((b) => b.lang === 'ts')
    .map((b) => ({ file, line: b.line, mode: b.marker === undefined ? 'run' : (TS_MODES[b.marker] ?? 'run'), heading: b.heading, code: b.code }));
}

/** The ```sh blocks that are marked, so run by a docs test. */
export function shellSamples(markdown: string, file: string): ShellSample[] {
  return blocks(markdown, file).flatMap((b) => {
    const mode = b.lang === 'sh' && b.marker !== undefined ? SH_MODES[b.marker] : undefined;
    return mode === undefined ? [] : [{ file, line: b.line, mode, code: b.code }];
  });
}

/** `file:line`, how a test names a sample. */
export function where(sample: { file: string; line: number }): string {
  return `${sample.file}:${sample.line}`;
}

/** Where the package's own names point: its sources, so the samples are checked against the real types. */
const PATHS = {
  'ofauth-upload-stream': ['lib/index.ts'],
  'ofauth-upload-stream/emulator': ['lib/emulator/index.ts'],
};

/** The sample as plain ESM JavaScript, with the package's names mapped by `resolve`. */
export function toJavaScript(sample: Sample, resolve: (specifier: string) => string | undefined): string {
  const js = ts.transpileModule(sample.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  }).outputText;
  return js.replace(/from '([^']+)'/g, (whole, specifier: string) => {
    const mapped = resolve(specifier);
    return mapped === undefined ? whole : `from ${JSON.stringify(mapped)}`;
  });
}

/** Public type members the docs must mention by name, so the reference cannot fall behind. */
export function documentedNames(): Record<string, string[]> {
  const file = join(ROOT, 'test', '__readme__', 'names.ts');
  const code = [
    "import type { OFAuthUploadOptions, UploadFileOptions } from 'ofauth-upload-stream';",
    "import type { Emulator, EmulatorOptions, EmulatorStats } from 'ofauth-upload-stream/emulator';",
    'export declare const uploadOptions: Required<OFAuthUploadOptions>;',
    'export declare const fileOptions: Required<UploadFileOptions>;',
    'export declare const emulatorOptions: Required<EmulatorOptions>;',
    'export declare const emulator: Emulator;',
    'export declare const emulatorStats: EmulatorStats;',
  ].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
    baseUrl: ROOT,
    paths: PATHS,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) =>
    name === file ? ts.createSourceFile(name, code, language) : getSourceFile(name, language, onError, create);
  const program = ts.createProgram([file], options, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error('documentedNames: could not load the declarations');
  const out: Record<string, string[]> = {};
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const type = checker.getTypeOfSymbol(symbol);
    out[symbol.name] = checker.getPropertiesOfType(type).map((p) => p.name);
  }
  return out;
}
