import { describe, expect, it } from 'vitest';
import { ANSWER_WAITS_NEEDED, AnswerWaits, LONG_ANSWER_WAIT_MS } from '../../lib/parts/answer-waits';

describe('AnswerWaits', () => {
  it('is long only once a few answers all took a round trip that matters', () => {
    const waits = new AnswerWaits();
    for (let i = 0; i < ANSWER_WAITS_NEEDED - 1; i++) waits.record(LONG_ANSWER_WAIT_MS + 100);
    expect(waits.long).toBe(false); // too few answers yet
    waits.record(LONG_ANSWER_WAIT_MS);
    expect(waits.long).toBe(true);
  });

  it('one quick answer proves the link near for the rest of the upload, however slow the later ones', () => {
    const waits = new AnswerWaits();
    waits.record(2);
    for (let i = 0; i < 20; i++) waits.record(500);
    expect(waits.long).toBe(false);
  });

  it('a quick answer after slow ones ends the overlap', () => {
    const waits = new AnswerWaits();
    for (let i = 0; i < ANSWER_WAITS_NEEDED; i++) waits.record(200);
    expect(waits.long).toBe(true);
    waits.record(LONG_ANSWER_WAIT_MS - 1);
    expect(waits.long).toBe(false);
  });

  it('a quick init proves the path near, however late the answers (a slow uplink drains its socket buffers)', () => {
    const near = new AnswerWaits(LONG_ANSWER_WAIT_MS - 1);
    for (let i = 0; i < 10; i++) near.record(800);
    expect(near.long).toBe(false);
    const far = new AnswerWaits(450);
    for (let i = 0; i < ANSWER_WAITS_NEEDED; i++) far.record(200);
    expect(far.long).toBe(true);
  });
});
