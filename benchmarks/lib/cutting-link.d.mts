// Types of cutting-link.mjs, for the TypeScript tests that drive it.
export interface CuttingLink {
  /** `http://127.0.0.1:<port>`: the target, through the link. */
  url: string;
  port: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Bytes the target sent towards clients (all connections; what a cut dropped excluded). */
  readonly bytesDown: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A link to 127.0.0.1:`targetPort` cutting connections about every `meanBytes` of traffic back, replayable from `seed`. */
export function startCuttingLink(targetPort: number, meanBytes: number, seed?: number): Promise<CuttingLink>;
