/**
 * A source that can be read again at any offset: the spool once the stream ended, a file, or a
 * ranged remote source. Parts are read at their byte ranges when a slot frees, so a failed part
 * (or a plan-less whole-file PUT) is retried by reading again instead of holding its bytes.
 */
export interface PartSource {
  /** Total bytes; fixed for the life of the source. */
  readonly size: number;
  /**
   * Parts may be read at once, up to the upload's concurrency (a download is bound per
   * connection; a local file is not, and is read one part at a time).
   */
  readonly parallelReads?: boolean;
  /** Fills `into` with exactly `into.length` bytes from `position`, or rejects. */
  read(into: Uint8Array, position: number): Promise<void>;
  /**
   * The `length` bytes from `position`, in order, as they come: one request for a remote source,
   * where `read` in slices would cost one per slice. Without it, a body is read slice by slice.
   */
  stream?(position: number, length: number): AsyncIterable<Uint8Array>;
  /** Throws (typed) if the source is no longer what was read; called before finalizing. */
  verify?(): Promise<void>;
  /** Releases the source (closes, deletes a spool); safe to call more than once. */
  close(): Promise<void>;
}
