// The benchmark source: a Readable generated in memory (no disk), deterministic, so a receiver
// that hashes what it got (the emulator) can be checked against `expectedSha256`.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { loadEmulator } from './dist.mjs';

// The package's one xorshift32 (the CLI's --sample uses it too), from the build being measured.
const { pseudoRandomBytes } = await loadEmulator();

const PATTERN_BYTES = 1024 * 1024;
const MAX_CHUNK = 1024 * 1024;

/** @type {Buffer | undefined} */
let pattern;

/**
 * 1 MiB of xorshift32 noise (incompressible, seed-fixed), followed by a copy of its first
 * MAX_CHUNK bytes so a chunk that wraps around the pattern is still one `copy`.
 * @returns {Buffer}
 */
function getPattern() {
  if (pattern !== undefined) return pattern;
  const buf = Buffer.allocUnsafeSlow(PATTERN_BYTES + MAX_CHUNK);
  pseudoRandomBytes(PATTERN_BYTES, 0x9e3779b9).copy(buf, 0);
  buf.copy(buf, PATTERN_BYTES, 0, MAX_CHUNK);
  pattern = buf;
  return buf;
}

/**
 * A source of `size` bytes in `chunkSize` chunks.
 * - 'view' (default): each chunk is a read-only view of the shared pattern: no allocation, no
 *   copy, no garbage, so what is measured is the uploader, not the source. Safe for any
 *   consumer, even one that keeps the chunks: nobody ever writes to the pattern.
 * - 'fresh': each chunk is a new buffer the pattern is copied into, as `fs.createReadStream`
 *   hands out. Realistic, but the source's own allocation, copy and garbage (dead chunks wait
 *   for an external-memory GC: tens of MiB of RSS) are charged to every row alike.
 * @param {number} size
 * @param {number} chunkSize
 * @param {'view' | 'fresh'} mode
 * @returns {Readable}
 */
export function generatedSource(size, chunkSize = 64 * 1024, mode = 'view') {
  if (chunkSize > MAX_CHUNK) throw new RangeError(`chunkSize ${chunkSize} > ${MAX_CHUNK}`);
  const pat = getPattern();
  const fresh = mode === 'fresh';
  let offset = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (offset >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkSize, size - offset);
      const at = offset % PATTERN_BYTES;
      offset += n;
      if (fresh) {
        const chunk = Buffer.allocUnsafe(n);
        pat.copy(chunk, 0, at, at + n);
        this.push(chunk);
      } else {
        this.push(pat.subarray(at, at + n));
      }
    },
  });
}

/**
 * Whether `bytes` are exactly what `generatedSource` yields at upload offset `offset` (any
 * chunk size, any mode): a receiver checks each body slice where it lands, at memcmp speed.
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @returns {boolean}
 */
export function matchesSource(bytes, offset) {
  const pat = getPattern();
  for (let done = 0; done < bytes.length; ) {
    const at = (offset + done) % PATTERN_BYTES;
    const n = Math.min(MAX_CHUNK, bytes.length - done);
    if (Buffer.compare(bytes.subarray(done, done + n), pat.subarray(at, at + n)) !== 0) return false;
    done += n;
  }
  return true;
}

/**
 * sha256 hex of what `generatedSource(size, …)` yields (independent of the chunk size).
 * @param {number} size
 * @returns {string}
 */
export function expectedSha256(size) {
  const pat = getPattern();
  const hash = createHash('sha256');
  for (let offset = 0; offset < size; offset += PATTERN_BYTES) {
    hash.update(pat.subarray(0, Math.min(PATTERN_BYTES, size - offset)));
  }
  return hash.digest('hex');
}

/**
 * "1GiB", "256MiB", "64KiB", "1.5GiB", "1048576" → bytes.
 * @param {string} text
 * @returns {number}
 */
export function parseBytes(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(String(text).trim());
  if (!m) throw new TypeError(`not a byte size: ${text}`);
  const unit = (m[2] ?? 'B').toUpperCase()[0];
  const mult = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[unit];
  return Math.round(Number(m[1]) * mult);
}

/**
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  for (const [unit, n] of /** @type {const} */ ([['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]])) {
    if (bytes >= n && bytes % (n / 4) === 0) return `${bytes / n} ${unit}`;
  }
  return `${bytes} B`;
}
