/**
 * Any store that can answer a byte range — an HTTP server, S3, GCS, Azure Blob, a database blob —
 * as an upload source. `uploadFromRanges` reads each part of the plan by its range, up to
 * `concurrency` parts at once, reads again only what a cut or failed read did not deliver, and
 * (with `resume`) journals the upload under `name` + `version`, so a crashed upload continues
 * with the missing parts only.
 *
 * @example
 * ```ts
 * const source: RangeSource = {
 *   size: blob.size,
 *   name: `gs://${bucket}/${key}`,
 *   version: String(blob.generation),
 *   filename: 'clip.mp4',
 *   readRange: (start, end, signal) => file.createReadStream({ start, end, signal }),
 * };
 * await uploadFromRanges(source, { apiKey, connectionId, resume: true });
 * ```
 */
export interface RangeSource {
  /** The object's size in bytes (at least 1). */
  readonly size: number;
  /**
   * Where the bytes come from, as it may be shown in errors and journaled: the same for the same
   * object on every run, and holding no secret (no query string, no credentials).
   */
  readonly name: string;
  /**
   * Which version of the object this is: an ETag, a generation number, a content hash. A journal
   * left for another version is never resumed; `readRange` must read this version only.
   */
  readonly version: string;
  /** The filename to upload as, when the options name none. */
  readonly filename?: string;
  /** The content type to upload as, when the options name none (else from the filename). */
  readonly contentType?: string;
  /**
   * The bytes `start` to `end` (inclusive) of this version, in order: an async iterable of
   * chunks (a Node Readable is one) or one Uint8Array. It may end early (a dropped connection):
   * the rest is asked for with a new call. Throw `SourceChangedError` when the store says the
   * version is gone (a 412), `SourceReadError` for what no retry can fix (403, 404): both stop
   * the upload at once. Any other error is retried, within `rangeRetries`.
   */
  readRange(start: number, end: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array> | Uint8Array> | AsyncIterable<Uint8Array>;
  /** Releases what the source holds (a client, a handle); called once the upload ends. */
  close?(): Promise<void>;
}

/** What reading a ranged source cost: in the result of `uploadFromRanges`, `uploadFromUrl`, `uploadFromS3`. */
export interface DownloadStats {
  /**
   * `ranged`: parts were read by byte range. `stream`: the source was read once, front to back
   * (a server without range support or without a validator).
   */
  mode: 'ranged' | 'stream';
  /** Bytes downloaded from the source by this call (re-reads included; parts resumed from the vault excluded). */
  bytes: number;
  /** Range requests made (0 for a stream). */
  requests: number;
  /** Of those, reads of what a cut, failed or timed-out read did not deliver. */
  rereads: number;
  /** Only for a stream: why the source was not read by range. */
  why?: string;
}
