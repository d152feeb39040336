import { parseArgs } from 'node:util';
import { BYTE_COUNT_FORMS, parseByteCount } from './units';
import { UsageError } from './usage-error';

/**
 * One SOURCE of the command line, as written: what it holds (a folder's files, an S3 prefix's
 * objects) is found later, when the sources are expanded.
 */
export type SourceSpec =
  /** A file, a folder, or a named pipe: which one is known once it is stat'ed. */
  | { kind: 'path'; path: string }
  | { kind: 'stdin' }
  | { kind: 'url'; url: URL }
  /** `key` '' or ending in '/': every object under that prefix. */
  | { kind: 's3'; bucket: string; key: string }
  | { kind: 'sample'; size: number; label: string };

export interface UploadArgs {
  sources: SourceSpec[];
  /** Folders: their subfolders too (hidden entries are always skipped). */
  recursive: boolean;
  /** Sources uploaded at once, sharing one connection pool. */
  jobs: number;
  /** Append a line per finished upload; sources recorded there unchanged are skipped. */
  manifest?: string;
  /** An S3-compatible endpoint (addressed path-style). */
  s3Endpoint?: string;
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
  /** Write every event of the package's diagnostics channels to this file, one JSON line each. */
  trace?: string;
  json: boolean;
  quiet: boolean;
}

export interface EmulatorArgs {
  port: number;
  partSize?: number;
  /** OFAuth's per-connection limiter: refill per minute and bucket size. */
  rateLimit?: { perMinute: number; burst: number };
  json: boolean;
}

export type Command =
  | { kind: 'help'; topic: 'upload' | 'emulator' }
  | { kind: 'version' }
  | { kind: 'upload'; args: UploadArgs }
  | { kind: 'emulator'; args: EmulatorArgs };

const uploadOptions = {
  jobs: { type: 'string', short: 'j' },
  recursive: { type: 'boolean', short: 'r' },
  manifest: { type: 'string' },
  's3-endpoint': { type: 'string' },
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
  trace: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const emulatorOptions = {
  port: { type: 'string' },
  'part-size': { type: 'string' },
  'rate-limit': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `PER_MINUTE[/BURST]`, e.g. `60/90` (the standard plan); the burst defaults to the rate. */
function rateLimit(text: string): { perMinute: number; burst: number } {
  const match = /^\s*(\d+)\s*(?:\/\s*(\d+)\s*)?$/.exec(text);
  const perMinute = Number(match?.[1]);
  const burst = match?.[2] === undefined ? perMinute : Number(match[2]);
  if (match === null || !Number.isSafeInteger(perMinute) || perMinute < 1 || !Number.isSafeInteger(burst) || burst < 1) {
    throw new UsageError(`--rate-limit must be PER_MINUTE or PER_MINUTE/BURST with whole numbers >= 1 (the standard plan: 60/90), got ${JSON.stringify(text)}`);
  }
  return { perMinute, burst };
}

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
      ...(values['rate-limit'] === undefined ? {} : { rateLimit: rateLimit(values['rate-limit']) }),
      json: values.json ?? false,
    },
  };
}

// Loose on purpose (older buckets may hold capitals or underscores): S3 itself judges the name.
const S3_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

function sourceSpec(text: string): SourceSpec {
  if (text === '-') return { kind: 'stdin' };
  if (/^https?:\/\//i.test(text)) {
    if (!URL.canParse(text)) throw new UsageError(`${JSON.stringify(text.slice(0, 200))} is not a valid URL`);
    return { kind: 'url', url: new URL(text) };
  }
  if (/^s3:\/\//i.test(text)) {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!S3_BUCKET.test(bucket)) {
      throw new UsageError(`${JSON.stringify(text)}: expected s3://BUCKET/KEY (or s3://BUCKET/PREFIX/ for every object under it), with a bucket name`);
    }
    return { kind: 's3', bucket, key: slash === -1 ? '' : rest.slice(slash + 1) };
  }
  return { kind: 'path', path: text };
}

function sourcesOf(positionals: string[], sample: string | undefined): SourceSpec[] {
  if (sample !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either sources (files, folders, -, URLs, s3://…) or --sample SIZE, not both');
    return [{ kind: 'sample', size: byteCount('sample', sample), label: sample.trim().replace(/\s+/g, '') }];
  }
  if (positionals.length === 0) throw new UsageError('missing the file to upload (or a folder, a URL, s3://…; - for stdin, or --sample SIZE)');
  const sources = positionals.map(sourceSpec);
  if (sources.filter((s) => s.kind === 'stdin').length > 1) throw new UsageError('- (stdin) can be given only once');
  return sources;
}

/** Flags that describe one source, refused when there are several (they would apply to each). */
function checkSingleSourceFlags(sources: SourceSpec[], values: { filename?: string | undefined; size?: string | undefined }): void {
  const [first] = sources;
  if (values.filename !== undefined && sources.length !== 1) {
    throw new UsageError(`--filename names one source; got ${sources.length} (each source is named after its file, URL or key)`);
  }
  if (values.size !== undefined) {
    if (first?.kind === 'sample') throw new UsageError('--size cannot be combined with --sample (the sample has its own size)');
    if (sources.length !== 1 || (first?.kind !== 'path' && first?.kind !== 'stdin')) {
      throw new UsageError('--size applies to one file or pipe, or to stdin, given alone (URLs and S3 objects tell their own size)');
    }
  }
}

/** Turns argv (without node and the script) into a command; every mistake is a UsageError. */
export function parseCommand(argv: string[]): Command {
  if (argv[0] === 'emulator') return parseEmulator(argv.slice(1));
  const { values, positionals } = parse(() => parseArgs({ args: argv, options: uploadOptions, strict: true, allowPositionals: true }));
  if (values.help) return { kind: 'help', topic: 'upload' };
  if (values.version) return { kind: 'version' };
  const sources = sourcesOf(positionals, values.sample);
  checkSingleSourceFlags(sources, values);
  const empty = (['filename', 'content-type', 'vault-user-id', 'spool-dir', 'resume-dir', 'manifest', 'trace', 's3-endpoint'] as const).find(
    (flag) => values[flag]?.trim() === '',
  );
  if (empty !== undefined) throw new UsageError(`--${empty} must not be empty`);
  if (values['resume-dir'] !== undefined) {
    if (values['no-resume']) throw new UsageError('--resume-dir cannot be combined with --no-resume');
    if (!sources.some((source) => source.kind === 'path' || source.kind === 'url' || source.kind === 's3')) {
      throw new UsageError('--resume-dir applies to files, URLs and S3 objects: stdin and --sample are read once and cannot be resumed');
    }
  }
  const endpoint = values['s3-endpoint'];
  if (endpoint !== undefined && (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))) {
    throw new UsageError(`--s3-endpoint must be an http(s) URL such as http://127.0.0.1:9000, got ${JSON.stringify(endpoint.slice(0, 100))}`);
  }
  return {
    kind: 'upload',
    args: {
      sources,
      recursive: values.recursive ?? false,
      jobs: values.jobs === undefined ? 2 : integer('jobs', values.jobs, 1, 64),
      ...(values.manifest === undefined ? {} : { manifest: values.manifest }),
      ...(endpoint === undefined ? {} : { s3Endpoint: endpoint }),
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
      ...(values.trace === undefined ? {} : { trace: values.trace }),
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
