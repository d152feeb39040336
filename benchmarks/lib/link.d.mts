// Types of link.mjs, for the TypeScript tests that drive it.
export interface LinkOptions {
  target: { host?: string; port: number };
  rttMs?: number;
  aggregateBytesPerS?: number;
  perConnectionBytesPerS?: number;
  burstMs?: number;
  cutEveryBytes?: number;
  seed?: number;
  connectRtt?: boolean;
  windowBytes?: number;
  port?: number;
  lifetimeMs?: number;
}

export interface LinkStats {
  connections: number;
  open: number;
  peakOpen: number;
  bytesUp: number;
  bytesDown: number;
  cuts: number;
}

export interface Link {
  port: number;
  stats(): LinkStats;
  /** Restarts the cut schedule from this seed. */
  reseed(seed: number): void;
  close(): Promise<void>;
}

export function startLink(options: LinkOptions): Promise<Link>;

export interface LinkProfile {
  rttMs: number;
  aggregateBytesPerS?: number;
  perConnectionBytesPerS?: number;
}
export const MiB: number;
export const PROFILES: { lan: LinkProfile; cloud: LinkProfile; far: LinkProfile };
export function linkBound(profile: LinkProfile, concurrency: number): number;
