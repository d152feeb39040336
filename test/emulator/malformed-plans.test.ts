import { describe, expect, it } from 'vitest';
import { MALFORMED_PLAN_KINDS, startEmulator } from '../../lib/emulator';
import { PlanError, uploadToVault } from '../../lib/index';

describe('malformedPlan', () => {
  for (const kind of MALFORMED_PLAN_KINDS) {
    for (const size of [2500, 700]) {
      it(`'${kind}' (${size > 1000 ? 'several parts' : 'one part'}) is refused by the client before any byte is sent`, async () => {
        const emu = await startEmulator({ partSize: 1000, mode: size > 1000 ? 'multipart' : 'single', malformedPlan: kind });
        try {
          const error = await uploadToVault(Buffer.alloc(size, 1), {
            apiKey: emu.apiKey, connectionId: 'c', baseUrl: emu.url, filename: 'f', contentType: 'video/mp4', size, retries: 0,
          }).then(() => undefined, (e: unknown) => e);
          expect(error).toBeInstanceOf(PlanError);
          expect(emu.requests.map((r) => r.route)).toEqual(['init']);
        } finally {
          await emu.close();
        }
      });
    }
  }

  it('an unknown kind is refused at start', async () => {
    await expect(startEmulator({ malformedPlan: 'sideways' as never })).rejects.toThrow(/unknown malformedPlan/);
  });
});
