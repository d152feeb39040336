import { RatePacer } from './rate-pacer';

/**
 * One pacer per API origin and connection id: OFAuth's limit is per connection, whoever sends.
 * The registry lives on `globalThis` under a registry symbol, so the ESM and the CJS build loaded
 * in one process (an app's `import` and a dependency's `require`) pace one connection together
 * instead of each believing it has the whole bucket. A pacer is used by its shape (`take`,
 * `observe`), so one made by the other build serves as well.
 */
const REGISTRY = Symbol.for('ofauth-upload-stream.pacers');
/** A pacer nothing asked for this long is forgotten: its bucket has long been full again. */
const FORGET_IDLE_MS = 10 * 60_000;
const SWEEP_EVERY_MS = 60_000;
let sweptAt = 0;

function registry(): Map<string, RatePacer> {
  const holder = globalThis as { [REGISTRY]?: Map<string, RatePacer> };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
}

/**
 * The pacer every upload in this process to `baseUrl` as `connectionId` shares (concurrent
 * streams, `uploadFile` calls, batch jobs), unless it is given its own. Keyed by the origin, so
 * `https://api.ofauth.com` and `https://api.ofauth.com/` are one.
 */
export function sharedPacer(baseUrl: string, connectionId: string): RatePacer {
  const pacers = registry();
  const now = Date.now();
  if (now - sweptAt > SWEEP_EVERY_MS) {
    sweptAt = now;
    for (const [key, pacer] of pacers) if (typeof pacer.idleFor === 'function' && pacer.idleFor() > FORGET_IDLE_MS) pacers.delete(key);
  }
  const key = `${new URL(baseUrl).origin}\n${connectionId}`;
  let pacer = pacers.get(key);
  if (pacer === undefined) {
    pacer = new RatePacer();
    pacers.set(key, pacer);
  }
  return pacer;
}
