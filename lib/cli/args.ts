import { parseArgs } from 'node:util';
import { BYTE_COUNT_FORMS, parseByteCount } from './units';
import { UsageError } from './usage-error';

export type SourceSpec =
  | { kind: 'file'; path: string }
  | { kind: 'stdin' }
  | { kind: 'sample'; size: number; label: string };

export interface UploadArgs {
  source: SourceSpec;
  filename?: string;
  contentType?: string;
  size?: number;
  concurrency?: number;
  retries?: number;
  vaultUserId?: string;
  /** Only used when the size is unknown (a pipe without --size): where and how the source is spooled. */
  spoolDir?: string;
  spoolMemory?: number;
  maxSize?: number;
  /** A regular file keeps a resume journal unless --no-resume. */
  resume: boolean;
  resumeDir?: string;
  json: boolean;
  quiet: boolean;
}

export interface EmulatorArgs {
  port: number;
  partSize?: number;
  json: boolean;
}

export type Command =
  | { kind: 'help'; topic: 'upload' | 'emulator' }
  | { kind: 'version' }
  | { kind: 'upload'; args: UploadArgs }
  | { kind: 'emulator'; args: EmulatorArgs };

const uploadOptions = {
  filename: { type: 'string' },
  'content-type': { type: 'string' },
  size: { type: 'string' },
  sample: { type: 'string' },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  'vault-user-id': { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-memory': { type: 'string' },
  'max-size': { type: 'string' },
  'no-resume': { type: 'boolean' },
  'resume-dir': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const emulatorOptions = {
  port: { type: 'string' },
  'part-size': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function byteCount(flag: string, text: string, min = 1): number {
  const parsed = parseByteCount(text);
  if (parsed.ok && parsed.bytes >= min) return parsed.bytes;
  const problem = parsed.ok ? `got ${JSON.stringify(text)}` : parsed.problem;
  throw new UsageError(`--${flag} must be a byte count${min === 0 ? '' : ' > 0'}: ${BYTE_COUNT_FORMS}; ${problem}`);
}

/** util.parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes: those are the user's mistake, not ours. */
function parse<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message);
    throw error;
  }
}

function parseEmulator(argv: string[]): Command {
  const { values, positionals } = parse(() => parseArgs({ args: argv, options: emulatorOptions, strict: true, allowPositionals: true }));
  if (values.help) return { kind: 'help', topic: 'emulator' };
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} after "emulator"`);
  return {
    kind: 'emulator',
    args: {
      port: values.port === undefined ? 0 : integer('port', values.port, 0, 65_535),
      ...(values['part-size'] === undefined ? {} : { partSize: byteCount('part-size', values['part-size']) }),
      json: values.json ?? false,
    },
  };
}

function sourceOf(positionals: string[], sample: string | undefined): SourceSpec {
  if (positionals.length > 1) throw new UsageError(`expected one file (or - for stdin), got ${positionals.length} arguments`);
  const [target] = positionals;
  if (sample !== undefined) {
    if (target !== undefined) throw new UsageError('give either a file (or -) or --sample SIZE, not both');
    return { kind: 'sample', size: byteCount('sample', sample), label: sample.trim().replace(/\s+/g, '') };
  }
  if (target === undefined) throw new UsageError('missing the file to upload (use - for stdin, or --sample SIZE)');
  return target === '-' ? { kind: 'stdin' } : { kind: 'file', path: target };
}

/** Turns argv (without node and the script) into a command; every mistake is a UsageError. */
export function parseCommand(argv: string[]): Command {
  if (argv[0] === 'emulator') return parseEmulator(argv.slice(1));
  const { values, positionals } = parse(() => parseArgs({ args: argv, options: uploadOptions, strict: true, allowPositionals: true }));
  if (values.help) return { kind: 'help', topic: 'upload' };
  if (values.version) return { kind: 'version' };
  const source = sourceOf(positionals, values.sample);
  if (source.kind === 'sample' && values.size !== undefined) throw new UsageError('--size cannot be combined with --sample (the sample has its own size)');
  const empty = (['filename', 'content-type', 'vault-user-id', 'spool-dir', 'resume-dir'] as const).find((flag) => values[flag]?.trim() === '');
  if (empty !== undefined) throw new UsageError(`--${empty} must not be empty`);
  if (values['resume-dir'] !== undefined) {
    if (values['no-resume']) throw new UsageError('--resume-dir cannot be combined with --no-resume');
    if (source.kind !== 'file') throw new UsageError('--resume-dir applies to a file: stdin and --sample are read once and cannot be resumed');
  }
  return {
    kind: 'upload',
    args: {
      source,
      ...(values.filename === undefined ? {} : { filename: values.filename }),
      ...(values['content-type'] === undefined ? {} : { contentType: values['content-type'] }),
      ...(values.size === undefined ? {} : { size: byteCount('size', values.size) }),
      ...(values.concurrency === undefined ? {} : { concurrency: integer('concurrency', values.concurrency, 1, 64) }),
      ...(values.retries === undefined ? {} : { retries: integer('retries', values.retries, 0, 100) }),
      ...(values['vault-user-id'] === undefined ? {} : { vaultUserId: values['vault-user-id'] }),
      ...(values['spool-dir'] === undefined ? {} : { spoolDir: values['spool-dir'] }),
      ...(values['spool-memory'] === undefined ? {} : { spoolMemory: byteCount('spool-memory', values['spool-memory'], 0) }),
      ...(values['max-size'] === undefined ? {} : { maxSize: byteCount('max-size', values['max-size']) }),
      resume: !(values['no-resume'] ?? false),
      ...(values['resume-dir'] === undefined ? {} : { resumeDir: values['resume-dir'] }),
      json: values.json ?? false,
      quiet: values.quiet ?? false,
    },
  };
}

/** Whether the user asked for JSON, even when the rest of the command line could not be parsed. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}
