// A link emulator: a TCP proxy on 127.0.0.1 that makes loopback look like a real network path.
// Each direction of each connection is delayed by RTT/2 and shaped by two token buckets, the
// connection's own (a TCP flow held to a fraction of the line by its window) and the link's
// aggregate (the line itself). It counts connections, and can cut connections mid-transfer at
// a seeded rate. It forwards bytes as they are: TLS passes through untouched.
//
//   const link = await startLink({ target: { port }, rttMs: 150, aggregateBytesPerS: 24 * MiB, perConnectionBytesPerS: 4 * MiB });
//   … connect to 127.0.0.1:link.port …
//   link.stats(); await link.close();
//
// What it models, per direction: a byte read from one side enters "the wire" when both
// buckets allow it, and is written to the other side RTT/2 later. A new connection's first
// client bytes leave one RTT after the connect (TCP's handshake: the kernel completes it on
// loopback at once). The sender is paused while its bytes wait for tokens, so backpressure
// reaches it as it would through a full window. What it does not model: see benchmarks/README.md.
//
// Every timer is per pending chunk or per link, every queue is bounded by the pause threshold,
// and `lifetimeMs` (unref'd) closes the link by itself if its owner forgets to.
import { createServer, connect } from 'node:net';

/**
 * @typedef {object} LinkOptions
 * @property {{ host?: string, port: number }} target  where connections are forwarded
 * @property {number} [rttMs]                     round-trip time added (half each way); default 0
 * @property {number} [aggregateBytesPerS]        the whole link, each direction; default unlimited
 * @property {number} [perConnectionBytesPerS]    one connection, each direction; default unlimited
 * @property {number} [burstMs]                   bucket depth in time at its rate (what an idle bucket may bank,
 *                                                and how late a timer may fire without losing rate); default 10 ms
 * @property {number} [cutEveryBytes]             mean client→server bytes between cuts (exponential); default never
 * @property {number} [seed]                      seed of the cut schedule; default 1
 * @property {boolean} [connectRtt]               first client bytes leave one RTT after connect; default true
 * @property {number} [windowBytes]               most bytes of one direction on the wire at once; default max(4 MiB, 2 × rate × RTT)
 * @property {number} [port]                      listening port; default 0 (any)
 * @property {number} [lifetimeMs]                closes itself after this long; default 15 minutes
 */

/**
 * @typedef {object} LinkStats
 * @property {number} connections   accepted since start
 * @property {number} open          open now
 * @property {number} peakOpen      most open at once
 * @property {number} bytesUp       client → server bytes delivered
 * @property {number} bytesDown     server → client bytes delivered
 * @property {number} cuts          connections cut on purpose
 */

const PAUSE_AT = 64 * 1024; // bytes read but not yet on the wire, per direction: then the sender is paused

/** mulberry32 (as lib/emulator/prng.ts): a small seeded PRNG, so a cut schedule can be replayed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const now = () => performance.now();

/**
 * A token bucket as a virtual clock: `free` is when the bytes granted so far will have been
 * paid for. Bytes may leave once the bucket is out of debt; a grant of n bytes leaving at
 * time `at` pushes `free` to n / rate after max(free, at − burst): an idle bucket banks at most
 * `burst` of idle time. An unlimited bucket is always free.
 */
class Bucket {
  /** @param {number} rate bytes per second (Infinity: unlimited) @param {number} burstMs */
  constructor(rate, burstMs) {
    this.perMs = rate / 1000;
    this.burstMs = burstMs;
    this.free = Number.isFinite(rate) ? 0 : Number.NEGATIVE_INFINITY;
  }

  /** Grants n bytes leaving at time `at` (at ≥ free). */
  take(n, at) {
    if (!Number.isFinite(this.perMs)) return;
    this.free = Math.max(this.free, at - this.burstMs) + n / this.perMs;
  }
}

// Bytes due within this many ms go now: one timer per couple of ms and connection rather than
// one per chunk (a 16 KiB TLS record lasts 1 ms at 16 MiB/s), well within a bucket's burst.
const EARLY_MS = 2;

// How late a timer may fire and still be forgiven: bytes are granted and delivered at the time
// they were due, not when a busy machine got round to it, so the rate does not drop with load.
const LATE_FORGIVEN_MS = 50;

/** One direction of one connection: src socket → buckets → delay line → dst socket. */
class Pipe {
  /**
   * @param {{ src: import('node:net').Socket, dst: import('node:net').Socket, own: Bucket, shared: Bucket, delayMs: number,
   *   notBefore: number, windowBytes: number, onWire: (n: number) => boolean, onDelivered: (n: number) => void, onDone: () => void }} o
   */
  constructor(o) {
    Object.assign(this, o);
    /** @type {Buffer[]} */
    this.waiting = []; // read, waiting for tokens
    /** @type {number[]} */
    this.since = []; // when each waiting chunk was read
    this.waitingBytes = 0;
    /** @type {{ at: number, chunk: Buffer }[]} */
    this.wire = []; // on the wire, each with its arrival time
    this.wireHead = 0;
    this.wireBytes = 0;
    /** @type {NodeJS.Timeout | undefined} */
    this.grantTimer = undefined;
    /** @type {NodeJS.Timeout | undefined} */
    this.deliverTimer = undefined;
    this.ended = false;
    this.closed = false;
    this.finished = false;
    this.src.on('data', (chunk) => this.#read(chunk));
    this.src.on('end', () => {
      this.ended = true;
      this.#maybeEnd();
    });
    this.dst.on('drain', () => this.#grant());
  }

  #read(chunk) {
    if (this.closed) return;
    this.waiting.push(chunk);
    this.since.push(now());
    this.waitingBytes += chunk.length;
    if (this.waitingBytes >= PAUSE_AT) this.src.pause();
    this.#grant();
  }

  /** Moves chunks onto the wire as the buckets and the window allow; one timer when it must wait. */
  #grant() {
    if (this.closed || this.grantTimer !== undefined) return;
    while (this.waiting.length > 0) {
      if (this.wireBytes + this.dst.writableLength >= this.windowBytes) return; // 'drain' or a delivery resumes
      const chunk = /** @type {Buffer} */ (this.waiting[0]);
      const t = now();
      // When this chunk is due: not before it was read, nor before the handshake, nor before
      // either bucket is out of debt.
      const due = Math.max(/** @type {number} */ (this.since[0]), this.notBefore, this.own.free, this.shared.free, t - LATE_FORGIVEN_MS);
      if (due > t + EARLY_MS) {
        this.grantTimer = setTimeout(() => {
          this.grantTimer = undefined;
          this.#grant();
        }, due - t);
        return;
      }
      this.waiting.shift();
      this.since.shift();
      this.waitingBytes -= chunk.length;
      this.own.take(chunk.length, due);
      this.shared.take(chunk.length, due);
      if (!this.onWire(chunk.length)) return; // the link cut this connection
      this.wire.push({ at: due + this.delayMs, chunk });
      this.wireBytes += chunk.length;
      this.#scheduleDelivery();
    }
    if (this.waitingBytes < PAUSE_AT && this.src.isPaused()) this.src.resume();
  }

  #scheduleDelivery() {
    if (this.deliverTimer !== undefined || this.wireHead >= this.wire.length) return;
    const wait = Math.max(0, /** @type {{at: number}} */ (this.wire[this.wireHead]).at - now());
    this.deliverTimer = setTimeout(() => {
      this.deliverTimer = undefined;
      this.#deliver();
    }, wait);
  }

  #deliver() {
    if (this.closed) return;
    const t = now() + EARLY_MS;
    let delivered = 0;
    while (this.wireHead < this.wire.length && /** @type {{at: number}} */ (this.wire[this.wireHead]).at <= t) {
      const { chunk } = /** @type {{chunk: Buffer}} */ (this.wire[this.wireHead]);
      this.wire[this.wireHead++] = /** @type {never} */ (undefined);
      this.wireBytes -= chunk.length;
      delivered += chunk.length;
      this.dst.write(chunk);
    }
    if (this.wireHead > 1024 && this.wireHead * 2 > this.wire.length) {
      this.wire = this.wire.slice(this.wireHead);
      this.wireHead = 0;
    }
    if (delivered > 0) this.onDelivered(delivered);
    this.#scheduleDelivery();
    this.#grant();
    this.#maybeEnd();
  }

  /** The sender closed its side: pass the FIN on once everything before it was delivered. */
  #maybeEnd() {
    if (this.ended && !this.closed && this.waiting.length === 0 && this.wireHead >= this.wire.length) {
      this.dst.end();
      this.#done();
    }
  }

  #done() {
    if (this.finished) return;
    this.finished = true;
    this.onDone();
  }

  /** The receiving socket closed: nothing more can be delivered. */
  stop() {
    this.close();
    this.#done();
  }

  close() {
    this.closed = true;
    clearTimeout(this.grantTimer);
    clearTimeout(this.deliverTimer);
    this.waiting = [];
    this.since = [];
    this.wire = [];
    this.wireHead = 0;
  }
}

/**
 * Starts a link on 127.0.0.1 forwarding to `target`.
 * @param {LinkOptions} options
 * @returns {Promise<{ port: number, stats: () => LinkStats, reseed: (seed: number) => void, close: () => Promise<void> }>}
 */
export async function startLink(options) {
  const rttMs = options.rttMs ?? 0;
  const aggregate = options.aggregateBytesPerS ?? Number.POSITIVE_INFINITY;
  const perConnection = options.perConnectionBytesPerS ?? Number.POSITIVE_INFINITY;
  // Timers fire a millisecond or more late; a bucket that banks less than that loses rate.
  const burst = options.burstMs ?? 10;
  const connectRtt = options.connectRtt ?? true;
  const lineRate = Math.min(aggregate, perConnection);
  const windowBytes = options.windowBytes ?? Math.max(4 * 1024 * 1024, Number.isFinite(lineRate) ? (2 * lineRate * rttMs) / 1000 : 0);
  const targetHost = options.target.host ?? '127.0.0.1';
  // Each direction has its own line, as a full-duplex link does.
  const sharedUp = new Bucket(aggregate, burst);
  const sharedDown = new Bucket(aggregate, burst);
  let random = prng(options.seed ?? 1);
  const cutMean = options.cutEveryBytes;
  const nextCut = () => (cutMean === undefined ? Number.POSITIVE_INFINITY : -Math.log(1 - random()) * cutMean);
  let untilCut = nextCut();

  /** @type {LinkStats} */
  const stats = { connections: 0, open: 0, peakOpen: 0, bytesUp: 0, bytesDown: 0, cuts: 0 };
  /** @type {Set<() => void>} */
  const live = new Set();

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    stats.connections++;
    stats.open++;
    stats.peakOpen = Math.max(stats.peakOpen, stats.open);
    const accepted = now();
    const upstream = connect({ host: targetHost, port: options.target.port, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let done = false;
    let pipesDone = 0;
    /** @type {Pipe[]} */
    const pipes = [];
    /** @param {'end' | 'abort' | 'cut'} how */
    const finish = (how) => {
      if (done) return;
      done = true;
      live.delete(abort);
      stats.open--;
      for (const p of pipes) p.close();
      if (how === 'cut') {
        // A reset, not a FIN: the client sees ECONNRESET mid-request, as when a path dies.
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else if (how === 'abort') {
        client.destroy();
        upstream.destroy();
      }
      // 'end': both sides were ended after their last byte was delivered; they close by themselves.
    };
    const abort = () => finish('abort');
    live.add(abort);
    const pipeDone = () => {
      if (++pipesDone === 2) finish('end');
    };
    const cut = () => {
      stats.cuts++;
      finish('cut');
      return false;
    };
    const up = new Pipe({
      src: client,
      dst: upstream,
      own: new Bucket(perConnection, burst),
      shared: sharedUp,
      delayMs: rttMs / 2,
      notBefore: connectRtt ? accepted + rttMs : 0,
      windowBytes,
      onWire: (n) => {
        untilCut -= n;
        if (untilCut > 0) return true;
        untilCut = nextCut();
        return cut();
      },
      onDelivered: (n) => (stats.bytesUp += n),
      onDone: pipeDone,
    });
    const down = new Pipe({
      src: upstream,
      dst: client,
      own: new Bucket(perConnection, burst),
      shared: sharedDown,
      delayMs: rttMs / 2,
      notBefore: 0,
      windowBytes,
      onWire: () => true,
      onDelivered: (n) => (stats.bytesDown += n),
      onDone: pipeDone,
    });
    pipes.push(up, down);
    // An error (a reset by either side) ends both at once. A clean close of one socket only
    // ends the pipe writing into it: what it sent before closing still travels the other way.
    client.on('error', abort);
    upstream.on('error', abort);
    client.on('close', (hadError) => (hadError ? abort() : down.stop()));
    upstream.on('close', (hadError) => (hadError ? abort() : up.stop()));
    upstream.once('connect', () => client.resume());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(undefined));
  });
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;

  let closing;
  const close = () => {
    closing ??= new Promise((resolve) => {
      clearTimeout(lifetime);
      for (const abort of [...live]) abort();
      server.close(() => resolve(undefined));
    });
    return closing;
  };
  const lifetime = setTimeout(close, options.lifetimeMs ?? 15 * 60_000);
  lifetime.unref();
  /** Restarts the cut schedule, so that uploads compared with each other meet the same cuts. */
  const reseed = (seed) => {
    random = prng(seed);
    untilCut = nextCut();
  };
  return { port, stats: () => ({ ...stats }), reseed, close };
}

/** The link profiles of `npm run bench -- --links` (bytes per second). */
export const MiB = 1024 * 1024;
export const PROFILES = {
  lan: { rttMs: 1 },
  cloud: { rttMs: 20, aggregateBytesPerS: 64 * MiB, perConnectionBytesPerS: 16 * MiB },
  far: { rttMs: 150, aggregateBytesPerS: 24 * MiB, perConnectionBytesPerS: 4 * MiB },
};

/**
 * The best a transfer over `concurrency` connections can do: min(aggregate, concurrency × per
 * connection), in bytes per second (Infinity on an uncapped link).
 * @param {{ aggregateBytesPerS?: number, perConnectionBytesPerS?: number }} profile
 * @param {number} concurrency
 */
export function linkBound(profile, concurrency) {
  return Math.min(profile.aggregateBytesPerS ?? Number.POSITIVE_INFINITY, concurrency * (profile.perConnectionBytesPerS ?? Number.POSITIVE_INFINITY));
}
