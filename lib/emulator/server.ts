import { createServer, type Server } from 'node:http';
import type { EmulatorState } from './context';
import { dispatch } from './dispatch';
import { FaultInjector } from './faults';
import { Lifecycle } from './lifecycle';
import { MediaStore } from './media-store';
import { resolveOptions } from './options';
import { RateLimiter } from './rate-limiter';
import { Recorder } from './recorder';
import type { ServerKind } from './router';
import { UrlSigner } from './signing';
import type { Emulator, EmulatorOptions, EmulatorStats, FaultRule, RequestRecord, StoredMedia } from './types';

function makeServer(state: EmulatorState, kind: ServerKind): Server {
  // requestTimeout 0: slow-read faults and multi-GiB single PUTs legitimately take minutes.
  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 5_000 }, (req, res) => dispatch(state, kind, req, res));
  server.on('connection', (socket) => state.lifecycle.track(socket));
  return server;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('emulator: server has no TCP address'));
      else resolve(address.port);
    });
  });
}

function originOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

class RunningEmulator implements Emulator {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly state: EmulatorState,
    private readonly servers: Server[],
  ) {}

  get url(): string {
    return this.state.urls.api;
  }

  get foreignUrl(): string | undefined {
    return this.state.urls.foreign;
  }

  get apiKey(): string {
    return this.state.options.apiKey;
  }

  get requests(): RequestRecord[] {
    return this.state.recorder.requests;
  }

  get stats(): EmulatorStats {
    return this.state.recorder.stats;
  }

  media(mediaUploadId: string): StoredMedia | undefined {
    return this.state.store.get(mediaUploadId)?.snapshot();
  }

  uploads(): StoredMedia[] {
    return this.state.store.snapshots();
  }

  setFaults(rules: FaultRule[]): void {
    this.state.faults.setRules(rules);
  }

  reset(): void {
    this.state.recorder.reset();
    this.state.store.clear();
    this.state.faults.reset();
    this.state.limiter?.reset();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = Promise.all(this.servers.map(closeServer));
      // Hanging and stalled requests are parked on purpose: cut their sockets so close never waits.
      this.state.lifecycle.close();
      await closed;
    })();
    return this.closing;
  }
}

export async function startEmulator(options?: EmulatorOptions): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const urls: EmulatorState['urls'] = { api: '', foreign: undefined };
  const state: EmulatorState = {
    options: resolved,
    store: new MediaStore(() => urls.api, { forgetAfterMs: resolved.forgetAfterMs, maxHeldParts: resolved.maxHeldParts }),
    recorder: new Recorder(resolved.apiKey, resolved.maxRequestLog),
    faults: new FaultInjector(resolved.faults, resolved.randomFaults),
    lifecycle: new Lifecycle(),
    signer: new UrlSigner(),
    limiter: resolved.rateLimit === undefined ? undefined : new RateLimiter(resolved.rateLimit),
    urls,
  };
  const api = makeServer(state, 'api');
  const foreign = resolved.foreignOrigin ? makeServer(state, 'foreign') : undefined;
  const servers = foreign ? [api, foreign] : [api];
  const emulator = new RunningEmulator(state, servers);
  try {
    urls.api = originOf(resolved.host, await listen(api, resolved.host, resolved.port));
    if (foreign) urls.foreign = originOf(resolved.host, await listen(foreign, resolved.host, 0));
  } catch (error) {
    await emulator.close();
    throw error;
  }
  return emulator;
}
