import { type FileHandle, open, readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { SourceIdentity } from '../sources/source-item';
import { UsageError } from '../usage-error';

const entrySchema = z.looseObject({
  /** Where it went: the API base URL, or EMBEDDED_EMULATOR. Lines of older versions have none. */
  baseUrl: z.string().optional(),
  connectionId: z.string().optional(),
  source: z.string().min(1),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number().optional(),
  etag: z.string().optional(),
  /** Absent when the CLI did not read every byte itself (a resumed download). */
  sha256: z.string().optional(),
  mediaUploadId: z.string(),
  mediaId: z.union([z.string(), z.number(), z.null()]),
});

/** One finished upload, as one line of the manifest. */
export type ManifestEntry = z.infer<typeof entrySchema>;

/** The account an upload went to: a manifest line counts only for the same one. */
export interface ManifestTarget {
  /** The API base URL, or EMBEDDED_EMULATOR (its URL changes with every run). */
  baseUrl: string;
  connectionId: string;
}

/** The target of uploads to the CLI's embedded emulator: never the real API's. */
export const EMBEDDED_EMULATOR = 'embedded-emulator';

function matches(entry: ManifestEntry, identity: SourceIdentity): boolean {
  if (identity.kind === 'file') return entry.size === identity.size && entry.mtimeMs === identity.mtimeMs;
  return entry.etag === identity.etag && (identity.size === undefined || entry.size === identity.size);
}

function problem(path: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  return new UsageError(`--manifest ${JSON.stringify(path)}: ${code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message}`);
}

/**
 * The record of what a batch uploaded, one JSON line per finished upload, appended as each one
 * finishes. A line names the account it went to (base URL and connection id): a source counts as
 * uploaded only for the same account, so the same folder can be sent to another creator, or to
 * the real API after a trial against the emulator, with one manifest. Lines written before lines
 * named their account count for none (the source is sent again rather than wrongly skipped).
 * Appended a crash or a Ctrl-C leaves exactly the uploads that completed. Each line goes out in
 * one write on an O_APPEND descriptor (then fdatasync), so a line is never interleaved with
 * another; a line a crash cut short is ignored on reading, and the next line starts on its own.
 */
export class Manifest {
  readonly path: string;
  readonly #target: ManifestTarget;
  readonly #handle: FileHandle;
  readonly #entries = new Map<string, ManifestEntry[]>();
  /** The file does not end with a newline (a cut line): the next line starts with one. */
  #needsNewline: boolean;
  #writing: Promise<void> = Promise.resolve();
  /** Lines that were not a manifest entry (cut short, or foreign), left as they are. */
  readonly unreadableLines: number;

  private constructor(path: string, target: ManifestTarget, handle: FileHandle, text: string) {
    this.path = path;
    this.#target = target;
    this.#handle = handle;
    this.#needsNewline = text.length > 0 && !text.endsWith('\n');
    let unreadable = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed: ReturnType<typeof entrySchema.safeParse>;
      try {
        parsed = entrySchema.safeParse(JSON.parse(line));
      } catch {
        unreadable++;
        continue;
      }
      if (!parsed.success) {
        unreadable++;
        continue;
      }
      const list = this.#entries.get(parsed.data.source) ?? [];
      list.push(parsed.data);
      this.#entries.set(parsed.data.source, list);
    }
    this.unreadableLines = unreadable;
  }

  /** Reads what is there and opens the file for appending (created if missing): a usage error if it cannot be. */
  static async open(path: string, target: ManifestTarget): Promise<Manifest> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw problem(path, error);
    }
    try {
      return new Manifest(path, target, await open(path, 'a'), text);
    } catch (error) {
      throw problem(path, error);
    }
  }

  /** The entry recording this source with this identity (same size and mtime, or same ETag), for this manifest's account. */
  find(key: string, identity: SourceIdentity): ManifestEntry | undefined {
    const { baseUrl, connectionId } = this.#target;
    return this.#entries.get(key)?.findLast((entry) => entry.baseUrl === baseUrl && entry.connectionId === connectionId && matches(entry, identity));
  }

  /** Resolves once the line (naming this manifest's account) is written and synced; lines are written one after the other. */
  append(upload: ManifestEntry): Promise<void> {
    // The account first in the line, and always this manifest's.
    const entry: ManifestEntry = { ...this.#target, ...upload, ...this.#target };
    const write = this.#writing.then(async () => {
      const line = Buffer.from(`${this.#needsNewline ? '\n' : ''}${JSON.stringify(entry)}\n`);
      let done = 0;
      // A regular file takes the whole buffer in one write; the loop only guards a short write.
      while (done < line.length) done += (await this.#handle.write(line, done, line.length - done)).bytesWritten;
      this.#needsNewline = false;
      await this.#handle.datasync();
      const list = this.#entries.get(entry.source) ?? [];
      list.push(entry);
      this.#entries.set(entry.source, list);
    });
    this.#writing = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.#writing;
    await this.#handle.close();
  }
}
