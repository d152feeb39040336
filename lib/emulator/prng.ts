// The package's seeded pseudo-random generators, one of each kind, so a failing run can be
// replayed from its seed: mulberry32 for decisions (random faults), xorshift32 for bytes (test
// data, the CLI's --sample, the benchmarks' source).

/** mulberry32: floats in [0, 1) from a seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `target` with xorshift32 output from `state`, four bytes per step (little-endian), and
 * returns the state to go on from: fill chunk after chunk and the bytes are those of one long
 * fill, as long as every chunk but the last is a multiple of 4 bytes. Incompressible, and fast
 * enough for GiB-sized data. A state of 0 (xorshift's fixed point) counts as 1.
 */
export function fillXorshift32(target: Uint8Array, state: number): number {
  let x = state >>> 0 || 1;
  const words = target.length >>> 2;
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i << 2, x >>> 0, true);
  }
  const tail = target.length & 3;
  if (tail > 0) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    for (let j = 0; j < tail; j++) target[(words << 2) + j] = (x >>> (8 * j)) & 0xff;
  }
  return x >>> 0;
}

/** `size` deterministic pseudo-random bytes for `seed` (xorshift32): the same seed, the same bytes. */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  fillXorshift32(out, seed);
  return out;
}
