import { beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED_PLAN_KINDS, malformPlan, startEmulator, type InitPlan } from '../../lib/emulator';
import { PlanError } from '../../lib/index';
import { parseInitAnswer } from '../../lib/plan';
import { initPlan } from './helpers';

// The emulator's broken plans, proven on the client's plan check directly; that a refused plan
// sends no byte is proven once, end to end, in upload-stream.test.ts.

describe('malformPlan', () => {
  // Sound plans exactly as the emulator hands them out, one per shape.
  const plans = new Map<number, { plan: InitPlan; origin: string }>();
  beforeAll(async () => {
    for (const [size, mode] of [[2500, 'multipart'], [700, 'single']] as const) {
      const emulator = await startEmulator({ partSize: 1000, mode });
      try {
        plans.set(size, { plan: await initPlan(emulator, size), origin: emulator.url });
      } finally {
        await emulator.close();
      }
    }
  });

  for (const kind of MALFORMED_PLAN_KINDS) {
    for (const size of [2500, 700]) {
      it(`'${kind}' (${size > 1000 ? 'several parts' : 'one part'}) is a plan the client refuses`, () => {
        const { plan, origin } = plans.get(size)!;
        expect(() => parseInitAnswer(plan, size, origin)).not.toThrow();
        expect(() => parseInitAnswer(malformPlan(plan, kind), size, origin)).toThrow(PlanError);
      });
    }
  }
});

describe('the malformedPlan option', () => {
  it('answers every init with that broken plan, while the session keeps the sound one', async () => {
    const emulator = await startEmulator({ partSize: 1000, mode: 'multipart', malformedPlan: 'gap' });
    try {
      const answer = await initPlan(emulator, 2500);
      expect(answer.parts[1]?.byteRange.start).toBe(1001);
      expect(emulator.media(answer.mediaUploadId)).toMatchObject({ size: 2500, uploadType: 'multipart', completed: false });
    } finally {
      await emulator.close();
    }
  });

  it('an unknown kind is refused at start', async () => {
    await expect(startEmulator({ malformedPlan: 'sideways' as never })).rejects.toThrow(/unknown malformedPlan/);
  });
});
