import diagnosticsChannel from 'node:diagnostics_channel';
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CHANNEL_NAMES } from '../diagnostics/channels';
import { redactSecrets } from '../redact';
import { describeError } from './describe-error';
import { UsageError } from './usage-error';

// `--trace FILE`: every event of the package's diagnostics channels (lib/diagnostics/channels.ts)
// as one JSON line, for bug reports. A line is
//   { "t": 12.345, "channel": "part", "event": "asyncEnd", ...the message's fields }
// t: ms since the trace started (3 decimals); channel: the name after `ofauth-upload-stream:`;
// event: the tracing event (start, end, asyncStart, asyncEnd, error), or for a plain channel
// `publish` (the spool's own `event`, disk or ended, when it has one). The fields are made
// JSON-safe: the upload a message belongs to is `upload: { filename, mediaUploadId }`, an error is
// `{ name, code, message }` (on the `error` and `asyncEnd` lines), the upload's result is a summary
// on its `asyncEnd` line only, URLs lose any query, and a field that is not a plain value (headers,
// anything unvetted) is left out. Each line is written synchronously as its event happens, so
// whatever ends the process (success, failure, Ctrl-C, a second Ctrl-C's exit), the file holds
// whole lines only, and every one of them passes through the redaction of the API key.

const PREFIX = 'ofauth-upload-stream:';
const TRACING: ReadonlySet<string> = new Set([CHANNEL_NAMES.upload, CHANNEL_NAMES.init, CHANNEL_NAMES.part, CHANNEL_NAMES.complete]);
const TRACING_EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const;
/** The line's own keys: a message field of the same name does not overwrite them. */
const LINE_KEYS = new Set(['t', 'channel', 'event']);

/** `{ name, code, message }` of any error, as the CLI describes errors elsewhere. */
function errorFields(error: unknown): { name: string; code: string; message: string } {
  const { name, code, message } = describeError(error);
  return { name, code, message };
}

/** An URL's origin and path, or a string that is not one as it is. */
function withoutQuery(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const cut = text.search(/[?#]/);
  return cut === -1 ? text : text.slice(0, cut);
}

function plainValue(value: unknown): string | number | boolean | null | undefined {
  switch (typeof value) {
    case 'string':
      return withoutQuery(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    default:
      return value === null ? null : undefined;
  }
}

function uploadRef(upload: unknown): { filename?: unknown; mediaUploadId?: unknown } | undefined {
  if (typeof upload !== 'object' || upload === null) return undefined;
  const { filename, mediaUploadId } = upload as Record<string, unknown>;
  return { filename: plainValue(filename), ...(mediaUploadId === undefined ? {} : { mediaUploadId: plainValue(mediaUploadId) }) };
}

function resultSummary(result: unknown): Record<string, unknown> | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const { mediaUploadId, size, parts, media } = result as Record<string, unknown>;
  const mediaId = typeof media === 'object' && media !== null ? plainValue((media as Record<string, unknown>).id) : undefined;
  return {
    mediaUploadId: plainValue(mediaUploadId),
    size: plainValue(size),
    parts: Array.isArray(parts) ? parts.length : undefined,
    ...(mediaId === undefined ? {} : { mediaId }),
  };
}

/**
 * One event as the object its line holds (before redaction). `channel` is the short name
 * (`part`, `rate-limit`…), `event` a tracing event or `publish`.
 */
export function traceRecord(t: number, channel: string, event: string, message: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  let ownEvent: string | undefined;
  const outcome = event === 'error' || event === 'asyncEnd';
  if (typeof message === 'object' && message !== null) {
    for (const [key, value] of Object.entries(message)) {
      if (value === undefined) continue;
      if (key === 'upload') {
        const ref = uploadRef(value);
        if (ref !== undefined) fields.upload = ref;
      } else if (key === 'result') {
        const summary = event === 'asyncEnd' ? resultSummary(value) : undefined;
        if (summary !== undefined) fields.result = summary;
      } else if (key === 'error') {
        if (outcome) fields.error = errorFields(value);
      } else if (key === 'event' && event === 'publish' && typeof value === 'string') {
        ownEvent = value;
      } else if (!LINE_KEYS.has(key) && key !== 'headers') {
        const safe = plainValue(value);
        if (safe !== undefined) fields[key] = safe;
      }
    }
  }
  return { t: Math.round(t * 1000) / 1000, channel, event: ownEvent ?? event, ...fields };
}

/** Every secret in the forms a JSON line can hold it: as is (and URI-encoded), and JSON-escaped. */
function secretForms(secrets: readonly string[]): string[] {
  return secrets.flatMap((secret) => (secret.length === 0 ? [] : [secret, JSON.stringify(secret).slice(1, -1)]));
}

/**
 * The trace of this run: subscribed to every channel of the package from `open` until `close`.
 * A handler never throws (diagnostics_channel would raise it on the process): a line that cannot
 * be written stops the trace, and `close` returns why.
 */
export class TraceFile {
  readonly path: string;
  readonly #secrets: string[];
  readonly #t0 = performance.now();
  readonly #undo: Array<() => void> = [];
  #fd: number | undefined;
  #failure: Error | undefined;

  private constructor(path: string, fd: number, secrets: readonly string[]) {
    this.path = path;
    this.#fd = fd;
    this.#secrets = secretForms(secrets);
  }

  /** Creates (or empties) FILE and starts tracing; a UsageError when it cannot be written. */
  static open(path: string, secrets: readonly string[]): TraceFile {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
      throw new UsageError(`--trace ${JSON.stringify(path)}: ${why}`);
    }
    const trace = new TraceFile(path, fd, secrets);
    trace.#subscribe();
    return trace;
  }

  #subscribe(): void {
    for (const name of Object.values(CHANNEL_NAMES)) {
      const channel = name.slice(PREFIX.length);
      // By name through the module's subscribe, which holds the channel for as long as it is subscribed.
      const events = TRACING.has(name) ? TRACING_EVENTS.map((event) => [event, `tracing:${name}:${event}`] as const) : ([['publish', name]] as const);
      for (const [event, channelName] of events) {
        const handler = (message: unknown) => this.#write(channel, event, message);
        diagnosticsChannel.subscribe(channelName, handler);
        this.#undo.push(() => diagnosticsChannel.unsubscribe(channelName, handler));
      }
    }
  }

  #write(channel: string, event: string, message: unknown): void {
    if (this.#fd === undefined) return;
    try {
      const line = `${redactSecrets(JSON.stringify(traceRecord(performance.now() - this.#t0, channel, event, message)), this.#secrets)}\n`;
      const bytes = Buffer.from(line);
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.#fd, bytes, offset);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.close();
    }
  }

  /** Stops tracing and closes the file (every line is already written); idempotent. Returns a write failure, if any. */
  close(): Error | undefined {
    for (const undo of this.#undo.splice(0)) undo();
    if (this.#fd !== undefined) {
      const fd = this.#fd;
      this.#fd = undefined;
      try {
        closeSync(fd);
      } catch (error) {
        this.#failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    return this.#failure;
  }
}
