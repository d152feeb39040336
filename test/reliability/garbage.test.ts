import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type FaultRule, startEmulator } from '../../lib/emulator';
import { InvalidResponseError, OFAuthUploadError, OFAuthUploadStream, PlanError } from '../../lib/index';
import { KiB, bytes, source, timed } from '../helpers';

// Whatever a server answers, the upload ends in a typed error or a verified success: never a
// crash, an unhandled rejection, or `finish` after an answer it could not trust.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const garbage: Array<[string, { body: string; contentType?: string; status?: number }]> = [
  ['HTML', { body: '<!doctype html><h1>502 Bad Gateway</h1>', contentType: 'text/html' }],
  ['an empty body', { body: '' }],
  ['truncated JSON', { body: '{"mediaUploadId":"upl' }],
  ['a JSON array', { body: '[1,2,3]' }],
  ['JSON null', { body: 'null' }],
  ['a 204 with no body', { body: '', status: 204 }],
];

async function attempt(faults: FaultRule[], mode: 'multipart' | 'single' = 'multipart') {
  emu = await startEmulator({ partSize: 32 * KiB, mode, faults });
  const data = bytes(3 * 32 * KiB, 5);
  const upload = new OFAuthUploadStream({
    apiKey: emu.apiKey, connectionId: 'g', baseUrl: emu.url, filename: 'g.bin',
    contentType: 'application/octet-stream', size: mode === 'single' ? 32 * KiB : data.length, retries: 1, retryBaseDelay: 1,
  });
  let finished = false;
  upload.on('finish', () => (finished = true));
  const { error } = await timed(pipeline(source(mode === 'single' ? data.subarray(0, 32 * KiB) : data, 8 * KiB), upload));
  return { error, finished, completes: emu.requests.filter((r) => r.route === 'complete').length };
}

describe('garbage answers', () => {
  for (const [label, body] of garbage) {
    it(`init answering ${label} → PlanError or InvalidResponseError, nothing sent`, async () => {
      const { error, finished } = await attempt([{ route: 'init', action: { type: 'body', ...body } }]);
      expect(error).toBeInstanceOf(OFAuthUploadError);
      expect(error instanceof PlanError || error instanceof InvalidResponseError).toBe(true);
      expect(finished).toBe(false);
      expect(emu!.requests.filter((r) => r.route === 'part')).toHaveLength(0);
    });

    it(`a part answering ${label} → InvalidResponseError, no complete`, async () => {
      const { error, finished, completes } = await attempt([{ route: 'part', partNumber: 2, action: { type: 'body', ...body } }]);
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect((error as InvalidResponseError).code).toBe('ERR_OFAUTH_INVALID_RESPONSE');
      expect(finished).toBe(false);
      expect(completes).toBe(0);
    });

    it(`complete answering ${label} → InvalidResponseError, never finish`, async () => {
      const { error, finished } = await attempt([{ route: 'complete', action: { type: 'body', ...body } }]);
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(finished).toBe(false);
    });
  }

  it('a single-part finalize answering garbage → InvalidResponseError', async () => {
    const { error, finished } = await attempt([{ route: 'single', action: { type: 'body', body: '<html>' } }], 'single');
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(finished).toBe(false);
  });

  const wrong: Array<[string, FaultRule]> = [
    ['a part answer with the wrong mediaUploadId', { route: 'part', partNumber: 1, action: { type: 'mutate', fn: (a) => ({ ...a, mediaUploadId: 'upload:someone-else' }) } }],
    ['a part answer with the wrong partNumber', { route: 'part', partNumber: 2, action: { type: 'mutate', fn: (a) => ({ ...a, partNumber: 3 }) } }],
    ['a part answer with a string partNumber', { route: 'part', partNumber: 2, action: { type: 'mutate', fn: (a) => ({ ...a, partNumber: '2' }) } }],
    ['a complete answer with the wrong mediaUploadId', { route: 'complete', action: { type: 'mutate', fn: (a) => ({ ...a, mediaUploadId: 'upload:someone-else' }) } }],
    ['a complete answer without media', { route: 'complete', action: { type: 'mutate', fn: ({ media: _m, ...a }) => a } }],
    ['a complete answer whose media has no id', { route: 'complete', action: { type: 'mutate', fn: (a) => ({ ...a, media: { type: 'video' } }) } }],
  ];
  for (const [label, rule] of wrong) {
    it(`${label} → InvalidResponseError, never finish`, async () => {
      const { error, finished } = await attempt([rule]);
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(finished).toBe(false);
    });
  }

  it('a 3xx redirect is not followed: it is an API error, and the key goes nowhere else', async () => {
    const { error, finished } = await attempt([{ route: 'part', action: { type: 'status', status: 307, body: '' } }]);
    expect(error).toBeInstanceOf(OFAuthUploadError);
    expect(finished).toBe(false);
  });
});
