import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../lib/cli/source-error';
import type { OpenedSource } from '../../lib/cli/sources/source-item';
import { type StreamContext, streamToVault } from '../../lib/cli/sources/stream-to-vault';
import { type Emulator, startEmulator } from '../../lib/emulator/index';
import { OFAuthApiError } from '../../lib/index';
import { bytes, sha256 } from '../helpers';

const MiB = 1024 * 1024;
let emu: Emulator;

/** An Agent that counts the requests it carries, per origin path. */
class CountingAgent extends Agent {
  readonly paths: string[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.paths.push(String(options.path));
    return super.dispatch(options, handler);
  }
}

beforeAll(async () => {
  emu = await startEmulator({ partSize: MiB });
});
afterAll(async () => emu.close());

function context(dispatcher: Dispatcher, recorded = false): StreamContext & { sessions: string[] } {
  const sessions: string[] = [];
  return {
    source: 'test-source',
    connection: { baseUrl: emu.url, apiKey: emu.apiKey, connectionId: 'c' },
    tuning: { concurrency: 2, retries: 0 },
    dispatcher,
    signal: new AbortController().signal,
    events: { opened: () => undefined, spooled: () => undefined, uploading: () => undefined, progress: () => undefined, session: (id) => sessions.push(id), resumed: () => undefined, rateLimited: () => undefined },
    recorded: () => recorded,
    resume: false,
    sessions,
  };
}

function opened(stream: Readable, size: number | undefined, closed: { count: number } = { count: 0 }): OpenedSource {
  return {
    stream,
    size,
    filename: 'a.mp4',
    contentType: 'video/mp4',
    identity: { kind: 'etag', etag: '"e"' },
    close: async () => {
      closed.count++;
      stream.destroy();
    },
  };
}

describe('streamToVault', () => {
  it('every upload goes through the dispatcher it is given (the batch shares one)', async () => {
    const agent = new CountingAgent();
    const one = bytes(2 * MiB + 1, 81);
    const two = bytes(3000, 82);
    const ctx = context(agent);
    const [a, b] = await Promise.all([streamToVault(opened(Readable.from([one]), one.length), ctx), streamToVault(opened(Readable.from([two]), two.length), ctx)]);
    await agent.close();
    expect(a).toMatchObject({ kind: 'uploaded', bytes: one.length, sha256: sha256(one) });
    expect(b).toMatchObject({ kind: 'uploaded', bytes: two.length, sha256: sha256(two) });
    // Two inits, 3 + 1 PUTs, one complete (the single PUT finalizes): all on this pool.
    expect(agent.paths.filter((p) => p.endsWith('/init'))).toHaveLength(2);
    expect(agent.paths).toHaveLength(emu.requests.length);
    expect(ctx.sessions).toHaveLength(2);
  });

  it('a source the manifest holds is closed unread: nothing is sent', async () => {
    const agent = new CountingAgent();
    const closed = { count: 0 };
    const result = await streamToVault(opened(Readable.from([bytes(10, 83)]), 10, closed), context(agent, true));
    await agent.close();
    expect(result).toEqual({ kind: 'skipped', identity: { kind: 'etag', etag: '"e"' } });
    expect(closed.count).toBe(1);
    expect(agent.paths).toEqual([]);
  });

  it('a source that fails mid-way is the source’s failure (SourceError); an upload failure keeps its own type', async () => {
    const agent = new CountingAgent();
    const broken = new Readable({
      read() {
        this.push(bytes(64 * 1024, 84));
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      },
    });
    const failure = await streamToVault(opened(broken, 2 * MiB), context(agent)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SourceError);
    expect(failure).toMatchObject({ reason: 'read', source: 'test-source', message: 'reading test-source failed: socket hang up' });

    emu.setFaults([{ route: 'init', action: { type: 'status', status: 403 } }]);
    try {
      const refused = await streamToVault(opened(Readable.from([bytes(1000, 85)]), 1000), context(agent)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OFAuthApiError);
    } finally {
      emu.setFaults([]);
      await agent.close();
    }
  });
});
