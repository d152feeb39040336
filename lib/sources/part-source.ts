/**
 * A source that can be read again at any offset: the spool once the stream ended, or a file.
 * Parts are read at their byte ranges when a slot frees, so a failed part (or a plan-less
 * whole-file PUT) is retried by reading again instead of holding its bytes.
 */
export interface PartSource {
  /** Total bytes; fixed for the life of the source. */
  readonly size: number;
  /** Fills `into` with exactly `into.length` bytes from `position`, or rejects. */
  read(into: Uint8Array, position: number): Promise<void>;
  /** Throws (typed) if the source is no longer what was read; called before finalizing. */
  verify?(): Promise<void>;
  /** Releases the source (closes, deletes a spool); safe to call more than once. */
  close(): Promise<void>;
}
