import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Answer } from './answer';
import type { BodyOptions } from './body';
import type { FaultInjector } from './faults';
import type { Lifecycle } from './lifecycle';
import type { MediaStore } from './media-store';
import type { ResolvedOptions } from './options';
import type { RateLimiter } from './rate-limiter';
import type { Recorder } from './recorder';
import type { RouteMatch, ServerKind } from './router';
import type { UrlSigner } from './signing';
import type { RequestRecord } from './types';

/** Everything one emulator instance shares between its two servers. */
export interface EmulatorState {
  options: ResolvedOptions;
  store: MediaStore;
  recorder: Recorder;
  faults: FaultInjector;
  lifecycle: Lifecycle;
  signer: UrlSigner;
  /** OFAuth's per-connection token buckets, when `rateLimit` is set. */
  limiter: RateLimiter | undefined;
  /** Filled once both servers listen. */
  urls: { api: string; foreign: string | undefined };
}

export interface RequestContext {
  state: EmulatorState;
  server: ServerKind;
  req: IncomingMessage;
  res: ServerResponse;
  match: RouteMatch;
  record: RequestRecord;
  /** How this request's body is read (throttled by a slowRead fault). */
  body: BodyOptions;
  /** Headers every answer to this request carries (the rate limiter's). */
  headers: Record<string, string>;
}

/** Resolves to the answer to send, or undefined when the client left mid-body (nothing to send). */
export type Handler = (ctx: RequestContext) => Promise<Answer | undefined>;
