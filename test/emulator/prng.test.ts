import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fillXorshift32, mulberry32, pseudoRandomBytes } from '../../lib/emulator/prng';

// One xorshift32 serves the tests, the CLI's --sample and the benchmarks' source: its output is
// pinned here, so a sample's or a benchmark's sha256 means the same bytes from one version to the next.

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('xorshift32', () => {
  it('is the classic 13/17/5 xorshift, four little-endian bytes per step', () => {
    let x = 0x9e3779b9;
    const words: number[] = [];
    for (let i = 0; i < 3; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words.push(x >>> 0);
    }
    const out = pseudoRandomBytes(11, 0x9e3779b9);
    expect([out.readUInt32LE(0), out.readUInt32LE(4)]).toEqual(words.slice(0, 2));
    expect([...out.subarray(8)]).toEqual([words[2]! & 0xff, (words[2]! >>> 8) & 0xff, (words[2]! >>> 16) & 0xff]);
  });

  it('filled chunk by chunk (multiples of 4) gives the bytes of one fill, and the same seed the same bytes', () => {
    const whole = pseudoRandomBytes(10_003, 42);
    const pieces = Buffer.alloc(10_003);
    let state = 42;
    for (let at = 0; at < pieces.length; at += 4096) state = fillXorshift32(pieces.subarray(at, Math.min(at + 4096, pieces.length)), state);
    expect(pieces.equals(whole)).toBe(true);
    expect(pseudoRandomBytes(10_003, 42).equals(whole)).toBe(true);
    expect(pseudoRandomBytes(10_003, 43).equals(whole)).toBe(false);
    expect(pseudoRandomBytes(64, 0).equals(pseudoRandomBytes(64, 1))).toBe(true);
  });

  it('fills a view at an odd offset without touching its neighbours', () => {
    const backing = Buffer.alloc(16, 0xee);
    fillXorshift32(backing.subarray(3, 10), 7);
    expect(backing.subarray(3, 10).equals(pseudoRandomBytes(7, 7))).toBe(true);
    expect([...backing.subarray(0, 3), ...backing.subarray(10)].every((b) => b === 0xee)).toBe(true);
  });
});

describe('mulberry32', () => {
  it('replays from its seed, floats in [0, 1)', () => {
    const a = mulberry32(5);
    const b = mulberry32(5);
    const values = Array.from({ length: 100 }, () => a());
    expect(values).toEqual(Array.from({ length: 100 }, () => b()));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
  });
});

it('the benchmark pattern (1 MiB, seed 0x9e3779b9) is pinned', () => {
  expect(sha256(pseudoRandomBytes(1024 * 1024, 0x9e3779b9))).toBe('3e75ec671075e4115fc876c4c55d5abbac3bfe487a67ff4ca2db38386a014f27');
});
