import { createHash } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { type UploadSession, isPlanless, parseInitAnswer } from '../plan';
import type { PartReceipt } from '../upload-sink';
import { sweepTemps } from './debris';

/**
 * What identifies one upload of one file: the account and server it goes to, the file (real
 * path, size and mtime as `fstat` gave them) and what init was told. A journal is used only for
 * exactly this key; the API key is never part of it (the connection id and base URL stand for
 * the account).
 */
export interface JournalKey {
  baseUrl: string;
  connectionId: string;
  /** The source: a file's real path, a URL without its query, `s3://bucket/key`, a RangeSource's name. */
  path: string;
  size: number;
  /** The source's version: a file's mtime in ns, a download's or object's validator, a RangeSource's version. */
  mtimeNs: string;
  filename: string;
  contentType: string;
  vaultUpload: { mode?: 'message' | undefined; userId?: string | null | undefined } | null;
}

/** What an earlier run left: its session and the parts the vault acknowledged. */
export interface JournalEntry {
  session: UploadSession;
  parts: PartReceipt[];
}

const keySchema = z.strictObject({
  baseUrl: z.string(),
  connectionId: z.string(),
  path: z.string(),
  size: z.number(),
  mtimeNs: z.string(),
  filename: z.string(),
  contentType: z.string(),
  vaultUpload: z.strictObject({ mode: z.literal('message').optional(), userId: z.string().nullable().optional() }).nullable(),
});

const recordSchema = z.object({
  version: z.literal(1),
  key: keySchema,
  /** The init answer as validated then; validated again (and for this size) when read. */
  session: z.unknown(),
  parts: z.array(z.object({ partNumber: z.number().int().positive(), etag: z.string().optional() })),
});

/** `$XDG_CACHE_HOME/ofauth-upload-stream`, else `~/.cache/ofauth-upload-stream`. */
export function defaultResumeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative value is invalid and must be ignored.
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'ofauth-upload-stream');
}

/**
 * The journal's (and its lock's) file name: one per file and account, so a second process
 * uploading the same file meets the first one's lock, and a journal left for an older version of
 * the file is found, and replaced, rather than left behind forever.
 */
export function journalName(key: JournalKey): string {
  return createHash('sha256').update(JSON.stringify([key.baseUrl, key.connectionId, key.path])).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so two keys compare equal whatever order their fields came in. */
function canonical(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function sameKey(a: JournalKey, b: JournalKey): boolean {
  return canonical(a) === canonical(b);
}

/**
 * One upload's resume journal: its session and the parts the vault acknowledged, with their
 * etags. Every write replaces the file whole (a temp file renamed over it), so a process killed
 * at any moment leaves the previous or the next version, never half of one. Writes follow each
 * other; acknowledgements that arrive during a write are written together by the next one.
 */
export class Journal {
  readonly path: string;
  readonly #dir: string;
  readonly #key: JournalKey;
  #entry: JournalEntry | undefined;
  #writes: Promise<void> = Promise.resolve();
  #writeQueued = false;
  readonly #warned = new Set<'read' | 'written'>();
  #changedFrom: string | undefined;

  constructor(dir: string, key: JournalKey) {
    this.path = join(dir, `${journalName(key)}.json`);
    this.#dir = dir;
    this.#key = key;
  }

  /**
   * The entry an earlier run left for exactly this key, if its session is still a sound plan for
   * this size. Anything else in the slot (another version of the file, another name, a damaged
   * file) is removed, and undefined returned; a slot that cannot be read at all (a directory, a
   * file another user owns) is reported with a warning and left alone: it costs only the resume.
   * Called under the lock, whose holder owns the journal: so the temp files of writers killed
   * mid-write are removed here, with any of the package's temp files abandoned in the dir.
   */
  async load(apiOrigin: string): Promise<JournalEntry | undefined> {
    await sweepTemps(this.#dir, `${journalName(this.#key)}.json.`, 0, true);
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') this.#warn('read', error);
      return undefined;
    }
    const entry = this.#parse(text, apiOrigin);
    if (entry === undefined) await unlink(this.path).catch(() => undefined);
    return entry;
  }

  #parse(text: string, apiOrigin: string): JournalEntry | undefined {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return undefined;
    }
    const record = recordSchema.safeParse(json);
    if (!record.success) return undefined;
    if (!sameKey(record.data.key, this.#key)) {
      // The same source and upload, another version of its bytes: worth saying why it restarts.
      const { size, mtimeNs, ...rest } = record.data.key;
      const { size: nowSize, mtimeNs: nowVersion, ...now } = this.#key;
      const previous = (record.data.session as { mediaUploadId?: unknown } | null)?.mediaUploadId;
      if (canonical(rest) === canonical(now) && (size !== nowSize || mtimeNs !== nowVersion) && typeof previous === 'string') this.#changedFrom = previous;
      return undefined;
    }
    let session: UploadSession;
    try {
      session = parseInitAnswer(record.data.session, this.#key.size, apiOrigin);
    } catch {
      return undefined;
    }
    const total = isPlanless(session) ? 0 : session.parts.length;
    const parts = new Map<number, PartReceipt>();
    for (const part of record.data.parts) {
      if (part.partNumber <= total) parts.set(part.partNumber, part.etag === undefined ? { partNumber: part.partNumber } : part);
    }
    return { session, parts: [...parts.values()].sort((a, b) => a.partNumber - b.partNumber) };
  }

  /**
   * After `load`: the session of a journal this slot held for another version of the same source
   * (a file since modified, an object since replaced), which `load` removed.
   */
  get changedFrom(): string | undefined {
    return this.#changedFrom;
  }

  /** A new session: written before any part is sent, replacing whatever the slot held. */
  start(session: UploadSession): Promise<void> {
    this.#entry = { session, parts: [] };
    return this.#write();
  }

  /** Carries on with the entry `load` returned (already on disk). */
  continueWith(entry: JournalEntry): void {
    this.#entry = { session: entry.session, parts: [...entry.parts] };
  }

  /** A part of session `mediaUploadId` was acknowledged (a late answer for an abandoned session is ignored). */
  acknowledge(mediaUploadId: string, receipt: PartReceipt): void {
    if (this.#entry?.session.mediaUploadId !== mediaUploadId) return;
    this.#entry.parts.push(receipt);
    void this.#write();
  }

  /** Resolves once every write asked for so far is on disk (or failed and was reported). */
  settle(): Promise<void> {
    return this.#writes;
  }

  /** The upload is over for good (finalized, or it can never be resumed): the journal goes. */
  async remove(): Promise<void> {
    this.#entry = undefined;
    await this.#writes;
    await unlink(this.path).catch(() => undefined);
  }

  #write(): Promise<void> {
    if (this.#writeQueued) return this.#writes;
    this.#writeQueued = true;
    this.#writes = this.#writes.then(async () => {
      this.#writeQueued = false;
      const entry = this.#entry;
      if (entry === undefined) return;
      const record = { version: 1, key: this.#key, session: entry.session, parts: entry.parts };
      const temp = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        await rename(temp, this.path);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        this.#warn('written', error);
      }
    });
    return this.#writes;
  }

  /**
   * A journal that cannot be read or written costs only the ability to resume: the upload goes
   * on, and a later run sends again what it cannot know was acknowledged (parts are idempotent).
   */
  #warn(failed: 'read' | 'written', error: unknown): void {
    if (this.#warned.has(failed)) return;
    this.#warned.add(failed);
    const code = (error as { code?: unknown } | null)?.code;
    const outcome = failed === 'read' ? 'this upload starts afresh' : 'the upload goes on, but could not be resumed from here';
    process.emitWarning(`uploadFile: the resume journal ${this.path} could not be ${failed} (${typeof code === 'string' ? code : String(error)}); ${outcome}`, {
      code: 'OFAUTH_RESUME_JOURNAL',
    });
  }
}
