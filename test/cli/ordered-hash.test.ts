import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OrderedHash } from '../../lib/cli/ordered-hash';
import { bytes } from '../helpers';

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('OrderedHash', () => {
  const data = bytes(100_000, 3);
  const piece = (start: number, end: number) => data.subarray(start, end);

  it('hashes out-of-order ranges in order, ignores bytes already hashed, and keeps partial overlaps right', () => {
    const hash = new OrderedHash(data.length, 1 << 20);
    hash.add(50_000, piece(50_000, 75_000));
    hash.add(0, piece(0, 20_000));
    hash.add(75_000, piece(75_000, 100_000));
    hash.add(0, piece(0, 10_000));
    hash.add(10_000, piece(10_000, 50_000));
    expect(hash.digest()).toBe(sha(data));
  });

  it('has no digest when bytes are missing (a resumed upload) or the pending bytes passed the bound', () => {
    const missing = new OrderedHash(data.length, 1 << 20);
    missing.add(0, piece(0, 40_000));
    missing.add(60_000, piece(60_000, 100_000));
    expect(missing.digest()).toBeUndefined();
    const bounded = new OrderedHash(data.length, 30_000);
    bounded.add(40_000, piece(40_000, 80_000));
    bounded.add(0, piece(0, 40_000));
    bounded.add(80_000, piece(80_000, 100_000));
    expect(bounded.digest()).toBeUndefined();
  });
});
