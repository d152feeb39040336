import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './run-cli';

/**
 * How a sample is exercised beyond type-checking: every one is run with Node to its end, except
 * those marked just above their fence: `<!-- readme-test: vitest -->`, a test file itself, and
 * `<!-- readme-test: server -->`, a server the test starts with PORT set, sends requests to,
 * then stops.
 */
export type SampleMode = 'run' | 'vitest' | 'server';

export interface Sample {
  /** 1-based README line of the first code line. */
  line: number;
  mode: SampleMode;
  /** The nearest heading above it, e.g. "### From an S3 object" → "From an S3 object". */
  heading: string;
  code: string;
}

export interface Fence {
  line: number;
  lang: string;
}

const MARKERS: Record<string, SampleMode> = { '<!-- readme-test: vitest -->': 'vitest', '<!-- readme-test: server -->': 'server' };

/** A ```sh block marked `<!-- readme-test: run -->`: run with bash by the README test. */
export interface ShellSample {
  line: number;
  code: string;
}

export function shellSamples(markdown: string): ShellSample[] {
  const lines = markdown.split('\n');
  const samples: ShellSample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`README line ${i + 1}: unclosed sh block`);
    if (lines[i - 1] === '<!-- readme-test: run -->') samples.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return samples;
}

/** Every fenced block's language, so a test can insist nothing escapes as ```typescript or ```js. */
export function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  let open = false;
  markdown.split('\n').forEach((text, i) => {
    const match = /^```(\S*)/.exec(text);
    if (!match) return;
    if (!open) out.push({ line: i + 1, lang: match[1] ?? '' });
    open = !open;
  });
  return out;
}

export function tsSamples(markdown: string): Sample[] {
  const lines = markdown.split('\n');
  const samples: Sample[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    if (/^```\S/.test(text) && text !== '```ts') {
      // Skip other blocks whole, so a `#` comment in a shell block is not taken for a heading.
      i = lines.indexOf('```', i + 1);
      if (i === -1) throw new Error(`README: unclosed block`);
      continue;
    }
    const title = /^#+ (.*)$/.exec(text);
    if (title) heading = title[1] ?? '';
    if (text !== '```ts') continue;
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`README line ${i + 1}: unclosed ts block`);
    const mode: SampleMode = MARKERS[lines[i - 1] ?? ''] ?? 'run';
    samples.push({ line: i + 2, mode, heading, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return samples;
}

/** Where the package's own names point: its sources, so the samples are checked against the real types. */
const PATHS = {
  'ofauth-upload-stream': ['lib/index.ts'],
  'ofauth-upload-stream/emulator': ['lib/emulator/index.ts'],
};

/**
 * Type-checks each sample as its own module (as a user would paste it), with the project's
 * strictness, against lib/ and the installed type packages. Returns readable diagnostics, with
 * positions as README lines.
 */
export function typecheck(samples: Sample[]): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    noEmit: true,
    baseUrl: ROOT,
    paths: PATHS,
  };
  // Virtual files inside the repo, so bare imports resolve from its node_modules.
  const virtual = new Map(samples.map((s) => [join(ROOT, 'test', '__readme__', `line-${s.line}.ts`), s] as const));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, onError, create) => {
    const sample = virtual.get(name);
    return sample ? ts.createSourceFile(name, sample.code, language) : getSourceFile(name, language, onError, create);
  };
  host.fileExists = (name) => virtual.has(name) || fileExists(name);
  host.readFile = (name) => virtual.get(name)?.code ?? readFile(name);

  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const sample = d.file ? virtual.get(d.file.fileName) : undefined;
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return sample ? `README.md:${sample.line + line}: ${message}` : `${d.file.fileName}:${line + 1}: ${message}`;
  });
}

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

/** Public type members the README must mention by name, so the reference cannot fall behind. */
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
