import { describe, expect, it } from 'vitest';
import { PushBody } from '../../lib/planless/push-body';

describe('PushBody', () => {
  it('a push resolves once the consumer took the chunk, then the next one flows', async () => {
    const body = new PushBody();
    const got: string[] = [];
    const consumer = (async () => {
      for await (const chunk of body) got.push(Buffer.from(chunk).toString());
    })();
    let first = false;
    const p1 = body.push(Buffer.from('a')).then(() => (first = true));
    expect(body.started).toBe(false);
    await p1;
    expect(first).toBe(true);
    expect(body.started).toBe(true);
    await body.push(Buffer.from('b'));
    body.end();
    await consumer;
    expect(got).toEqual(['a', 'b']);
  });

  it('fail() rejects the waiting push and every later one, and ends the consumer with the error', async () => {
    const body = new PushBody();
    const iterator = body[Symbol.asyncIterator]();
    const next = iterator.next();
    const pending = body.push(Buffer.from('x'));
    await next; // taken, not yet released
    const waiting = body.push(Buffer.from('y'));
    const boom = new Error('request failed');
    body.fail(boom);
    await expect(waiting).rejects.toBe(boom);
    await expect(body.push(Buffer.from('z'))).rejects.toBe(boom);
    await expect(iterator.next()).rejects.toBe(boom);
    await pending;
  });
});
