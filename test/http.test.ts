import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../lib/emulator';
import { uploadToVault } from '../lib/index';
import { KiB, bytes, fastRetry, sha256, source } from './helpers';

const API_KEY = 'sk_test_http_reuse';
let emu: Emulator | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.close();
  await emu?.close();
  agent = undefined;
  emu = undefined;
});

/** An Agent that counts the connections it opens. */
function countingAgent(): { agent: Agent; connections: () => number } {
  let n = 0;
  const a = new Agent({ keepAliveTimeout: 10_000 });
  a.on('connect', () => n++);
  agent = a;
  return { agent: a, connections: () => n };
}

describe('connection reuse', () => {
  // undici marks a kept-alive socket reusable a turn after its response; a request dispatched in
  // the same turn as the previous answer would open a connection of its own.
  for (const concurrency of [1, 3, 6]) {
    it(`an upload at concurrency ${concurrency} opens at most one connection more: init, parts and complete reuse them`, async () => {
      emu = await startEmulator({ apiKey: API_KEY, partSize: 64 * KiB });
      const { agent: dispatcher, connections } = countingAgent();
      const data = bytes(48 * 64 * KiB + 5, concurrency);
      const result = await uploadToVault(source(data, 16 * KiB), {
        apiKey: API_KEY,
        connectionId: 'conn_test',
        baseUrl: emu.url,
        filename: 'clip.mp4',
        contentType: 'video/mp4',
        size: data.length,
        concurrency,
        dispatcher,
        ...fastRetry,
      });
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(data));
      expect(emu.requests.length).toBe(49 + 2);
      // One more than `concurrency`: a part whose body is sent waits for its answer while the
      // next part goes (PartUploader).
      expect(connections()).toBeLessThanOrEqual(concurrency + 1);
    });
  }
});
