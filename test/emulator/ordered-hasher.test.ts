import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OrderedHasher, type PartSink } from '../../lib/emulator/ordered-hasher';
import { mulberry32 } from '../../lib/emulator/prng';
import { data } from './helpers';

function meter(): { held: number; max: number; hold(n: number): void; release(n: number): void } {
  return {
    held: 0,
    max: 0,
    hold(n) {
      this.held += n;
      this.max = Math.max(this.max, this.held);
    },
    release(n) {
      this.held -= n;
    },
  };
}

describe('OrderedHasher', () => {
  it('hashes in byte order under any interleaving of chunks, failures and retries', () => {
    const parts = 6;
    const partSize = 4000;
    const file = data(parts * partSize - 123, 9);
    const expected = createHash('sha256').update(file).digest('hex');
    for (let seed = 1; seed <= 200; seed += 1) {
      const random = mulberry32(seed);
      const m = meter();
      const hasher = new OrderedHasher(false, m);
      const accepted = new Set<number>();
      type Flight = { sink: PartSink; at: number; end: number; fails: boolean };
      const flights: Flight[] = [];
      while (accepted.size < parts) {
        // Start a PUT for a random part not yet accepted (retries of in-flight parts included).
        if (flights.length < 3 || random() < 0.2) {
          const n = 1 + Math.floor(random() * parts);
          if (!accepted.has(n)) {
            const start = (n - 1) * partSize;
            flights.push({ sink: hasher.openSink(n, false), at: start, end: Math.min(start + partSize, file.length), fails: random() < 0.2 });
          }
        }
        const index = Math.floor(random() * flights.length);
        const flight = flights[index];
        if (!flight) continue;
        const step = 1 + Math.floor(random() * 1500);
        if (flight.fails && random() < 0.3) {
          hasher.discard(flight.sink);
          flights.splice(index, 1);
          continue;
        }
        flight.sink.write(file.subarray(flight.at, Math.min(flight.at + step, flight.end)));
        flight.at = Math.min(flight.at + step, flight.end);
        if (flight.at === flight.end) {
          flights.splice(index, 1);
          if (!accepted.has(flight.sink.partNumber)) {
            accepted.add(flight.sink.partNumber);
            hasher.accept(flight.sink);
          } else hasher.discard(flight.sink);
        }
      }
      for (const flight of flights) hasher.discard(flight.sink);
      expect(hasher.hashedParts, `seed ${seed}`).toBe(parts);
      expect(hasher.digest(), `seed ${seed}`).toBe(expected);
      expect(m.held, `seed ${seed}`).toBe(0);
    }
  });

  it('streams the next part without holding it, and promotes a buffered part when its turn comes', () => {
    const m = meter();
    const hasher = new OrderedHasher(false, m);
    const one = hasher.openSink(1, false);
    const two = hasher.openSink(2, false);
    expect([one.mode, two.mode]).toEqual(['stream', 'buffer']);
    two.write(Buffer.from('bb'));
    one.write(Buffer.from('aaa'));
    expect(m.held).toBe(2);
    hasher.accept(one);
    expect(two.mode).toBe('stream');
    expect(m.held).toBe(0);
    two.write(Buffer.from('b'));
    hasher.accept(two);
    expect(hasher.digest()).toBe(createHash('sha256').update('aaabbb').digest('hex'));
  });
});

describe('OrderedHasher backpressure', () => {
  const closed = (sinks: PartSink[]): boolean[] => sinks.map((s) => s.gate.closed);

  it('pauses parts more than maxPartsAhead past the next one while it arrives, and reopens them as it advances', () => {
    const hasher = new OrderedHasher(false, meter(), { wholeHash: true, fullMd5: false, maxPartsAhead: 2 });
    const one = hasher.openSink(1, false);
    const later = [2, 3, 4, 5].map((n) => hasher.openSink(n, false));
    expect(closed(later)).toEqual([false, false, true, true]);
    one.write(Buffer.from('a'));
    hasher.accept(one);
    // Part 2 is promoted and streams: window 3..4.
    expect(later.map((s) => s.mode)).toEqual(['stream', 'buffer', 'buffer', 'buffer']);
    expect(closed(later)).toEqual([false, false, false, true]);
    for (const [i, sink] of later.slice(0, 3).entries()) sink.write(Buffer.from('bcd'[i]!));
    hasher.accept(later[1]!); // part 3 waits for part 2
    hasher.accept(later[2]!); // part 4 too
    expect(later[3]!.gate.closed).toBe(true);
    hasher.accept(later[0]!); // 2, 3, 4 hashed: part 5 is next and flows
    expect(later[3]!.mode).toBe('stream');
    expect(later[3]!.gate.closed).toBe(false);
    later[3]!.write(Buffer.from('e'));
    hasher.accept(later[3]!);
    expect(hasher.digest()).toBe(createHash('sha256').update('abcde').digest('hex'));
  });

  it('pauses nothing while the next part is not arriving (the client may be waiting on the others)', () => {
    const hasher = new OrderedHasher(false, meter(), { wholeHash: true, fullMd5: false, maxPartsAhead: 1 });
    const far = [5, 6, 7].map((n) => hasher.openSink(n, false));
    expect(closed(far)).toEqual([false, false, false]);
    const one = hasher.openSink(1, false);
    expect(closed(far)).toEqual([true, true, true]);
    // The client gives up on part 1 mid-body: nothing is arriving for it, so the rest flow again.
    hasher.discard(one);
    expect(closed(far)).toEqual([false, false, false]);
  });

  it('never pauses re-PUTs of accepted parts, nor anything when the whole-media hash is off', () => {
    const hasher = new OrderedHasher(false, meter(), { wholeHash: true, fullMd5: false, maxPartsAhead: 1 });
    hasher.openSink(1, false);
    expect(hasher.openSink(9, true).gate.closed).toBe(false);
    const off = new OrderedHasher(false, meter(), { wholeHash: false, fullMd5: false, maxPartsAhead: 1 });
    off.openSink(1, false);
    expect(off.openSink(9, false).gate.closed).toBe(false);
  });
});

describe('OrderedHasher held-parts cap', () => {
  it('refuses a part that would be held beyond maxHeldParts, never the next part nor a re-PUT', () => {
    const m = meter();
    const hasher = new OrderedHasher(false, m, { wholeHash: true, fullMd5: false, maxHeldParts: 2 });
    const three = hasher.openSink(3, false);
    three.write(Buffer.from('c'));
    hasher.accept(three); // waiting for 1 and 2
    const four = hasher.openSink(4, false); // receiving, to be held
    expect(hasher.heldParts).toBe(2);
    expect(hasher.mustRefuse(5, false)).toBe(true);
    expect(hasher.mustRefuse(2, false)).toBe(true);
    expect(hasher.mustRefuse(1, false)).toBe(false); // the next part closes the gap
    expect(hasher.mustRefuse(3, true)).toBe(false); // a re-PUT of an accepted part holds nothing
    hasher.discard(four);
    expect(hasher.mustRefuse(5, false)).toBe(false);
    const one = hasher.openSink(1, false);
    one.write(Buffer.from('a'));
    hasher.accept(one);
    const two = hasher.openSink(2, false);
    two.write(Buffer.from('b'));
    hasher.accept(two);
    expect(hasher.heldParts).toBe(0);
    expect(m.held).toBe(0);
    expect(hasher.digest()).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it('never refuses without a whole-media hash (nothing is held), nor without a cap', () => {
    const off = new OrderedHasher(false, meter(), { wholeHash: false, fullMd5: false, maxHeldParts: 0 });
    expect(off.mustRefuse(9, false)).toBe(false);
    const uncapped = new OrderedHasher(false, meter(), { wholeHash: true, fullMd5: false });
    for (let n = 2; n < 50; n += 1) uncapped.openSink(n, false);
    expect(uncapped.mustRefuse(50, false)).toBe(false);
  });

  it('dispose releases what is held, and holds nothing accepted afterwards', () => {
    const m = meter();
    const hasher = new OrderedHasher(false, m, { wholeHash: true, fullMd5: false });
    const two = hasher.openSink(2, false);
    two.write(Buffer.alloc(10));
    hasher.accept(two);
    const three = hasher.openSink(3, false);
    three.write(Buffer.alloc(5));
    expect(m.held).toBe(15);
    hasher.dispose();
    expect(m.held).toBe(0);
    three.write(Buffer.alloc(5));
    hasher.accept(three);
    expect(m.held).toBe(0);
  });
});
