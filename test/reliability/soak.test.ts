import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../lib/emulator';
import { mulberry32 } from '../../lib/emulator/prng';
import { OFAuthUploadError, OFAuthUploadStream } from '../../lib/index';
import { KiB, SKIP_BUT_ONCE_IN_CI, bytes, sha256, source } from '../helpers';

// A seeded soak: many uploads of random sizes and chunkings against an emulator injecting a
// random mix of 5xx, 429 + Retry-After, resets mid-body, slow answers and throttled reads.
// Every upload must either arrive byte-exact or fail typed after its retries — never hang,
// never finalize after a failure. SOAK_SEED=<n> replays a run; SOAK_UPLOADS=<n> resizes it.
const SEED = Number(process.env.SOAK_SEED ?? 20261125);
const UPLOADS = Number(process.env.SOAK_UPLOADS ?? 200);
const PARALLEL = 4;
const PART_SIZE = 16 * KiB;
const PER_UPLOAD_DEADLINE_MS = 20_000;

interface Outcome {
  index: number;
  ok: boolean;
  code?: string;
  faults: number;
  faultKinds: string[];
  initNotRetried?: boolean;
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

async function runOne(index: number): Promise<Outcome> {
  const random = mulberry32(SEED + index * 7919);
  const size = 1 + Math.floor(random() * PART_SIZE * 5);
  const chunkMode = random();
  const chunkSize = (i: number) =>
    chunkMode < 0.25 ? 1 + Math.floor(random() * 64) : chunkMode < 0.5 ? 1 + Math.floor(random() * 3 * PART_SIZE) : chunkMode < 0.75 ? PART_SIZE + (i % 3) : 4096;
  const emu: Emulator = await startEmulator({
    partSize: PART_SIZE,
    mode: random() < 0.15 ? 'planless' : 'auto',
    randomFaults: { seed: SEED + index, rate: 0.25, retryAfterSeconds: 1, maxDelayMs: 40 },
  });
  const data = bytes(size, SEED + index);
  const upload = new OFAuthUploadStream({
    apiKey: emu.apiKey,
    connectionId: 'soak',
    baseUrl: emu.url,
    filename: `soak-${index}.bin`,
    contentType: 'application/octet-stream',
    size,
    concurrency: 1 + Math.floor(random() * 3),
    retries: 3,
    retryBaseDelay: 2,
    retryMaxDelay: 10,
    retryAfterMax: 30, // the server asks for 1 s; capping keeps the soak fast and proves the cap
    headersTimeout: 2000,
    bodyTimeout: 2000,
  });
  let deadline: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      pipeline(source(data, chunkSize), upload).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`upload ${index} hung (seed ${SEED})`)), PER_UPLOAD_DEADLINE_MS);
      }),
    ]);
    // 'random:delay:15ms' → 'delay', 'random:status:503' → 'status:503', 'random:reset@1024' → 'reset'.
    const faultKinds = emu.requests
      .filter((r) => r.fault !== undefined)
      .map((r) => `${r.route}:${r.fault!.replace(/^random:/, '').replace(/(:[\d.]+(ms|B\/s))|(@\d+)$/, '')}`);
    const sessions = emu.uploads();
    // Init is not idempotent: however it failed, no upload ever opens a second (orphaned) session.
    expect(sessions.length, `upload ${index}, seed ${SEED}: sessions opened`).toBeLessThanOrEqual(1);
    if (outcome.ok) {
      const id = upload.result!.mediaUploadId;
      expect(emu.media(id)?.sha256, `upload ${index}, seed ${SEED}: stored bytes differ`).toBe(sha256(data));
      expect(emu.media(id)?.size).toBe(size);
      return { index, ok: true, faults: faultKinds.length, faultKinds };
    }
    expect(outcome.error, `upload ${index}, seed ${SEED}: untyped failure ${String(outcome.error)}`).toBeInstanceOf(OFAuthUploadError);
    // A failed upload never finalizes, and no complete call follows the failure.
    for (const s of sessions) expect(s.completed, `upload ${index}, seed ${SEED}: finalized after failure`).toBe(false);
    const code = (outcome.error as OFAuthUploadError).code;
    if (process.env.SOAK_VERBOSE) {
      console.log(`[soak] ${index}: ${String(outcome.error)}`);
      for (const r of emu.requests) console.log(`  #${r.id} ${r.route} part=${r.partNumber ?? '-'} status=${r.status} bytes=${r.bytesReceived} fault=${r.fault ?? '-'} ${r.error ?? ''}`);
    }
    // A reset at init may come after the server acted, so init is not sent again: such an
    // upload fails typed at once, by design (see http.ts), with one init request.
    const initNotRetried = sessions.length === 0 && /^init:reset/.test(faultKinds.at(-1) ?? '');
    if (initNotRetried) expect(emu.requests.filter((r) => r.route === 'init')).toHaveLength(faultKinds.filter((k) => k.startsWith('init:')).length);
    return { index, ok: false, code, faults: faultKinds.length, faultKinds, initNotRetried };
  } finally {
    clearTimeout(deadline);
    await emu.close();
  }
}

// Twenty seconds of seeded faults: in CI once, on the newest major (OFAUTH_CI).
describe.skipIf(SKIP_BUT_ONCE_IN_CI)(`fault soak (seed ${SEED}, ${UPLOADS} uploads)`, () => {
  it('every upload is byte-exact or fails typed; no hang, no finalize after failure', async () => {
    const outcomes: Outcome[] = [];
    let next = 0;
    const workers = Array.from({ length: PARALLEL }, async () => {
      while (next < UPLOADS) {
        const index = next++;
        outcomes.push(await runOne(index));
      }
    });
    await Promise.all(workers);

    // For each kind of fault: how often it was injected, and how the uploads it hit ended.
    const byKind = new Map<string, { injected: number; uploads: number; succeeded: number }>();
    for (const o of outcomes) {
      for (const kind of new Set(o.faultKinds)) {
        const entry = byKind.get(kind) ?? { injected: 0, uploads: 0, succeeded: 0 };
        entry.injected += o.faultKinds.filter((k) => k === kind).length;
        entry.uploads++;
        if (o.ok) entry.succeeded++;
        byKind.set(kind, entry);
      }
    }
    const failures = outcomes.filter((o) => !o.ok && !o.initNotRetried);
    const initStops = outcomes.filter((o) => o.initNotRetried).length;
    const failCodes = new Map<string, number>();
    for (const f of failures) failCodes.set(f.code ?? '?', (failCodes.get(f.code ?? '?') ?? 0) + 1);
    const table = [...byKind].sort().map(([k, v]) => `  ${k.padEnd(22)} injected ${String(v.injected).padStart(4)}  uploads hit ${String(v.uploads).padStart(4)}  of which succeeded ${v.succeeded}`);
    console.log(
      `[soak] seed=${SEED} uploads=${outcomes.length} succeeded=${outcomes.length - failures.length - initStops} ` +
        `failed=${failures.length} + ${initStops} stopped at init by design ` +
        `faultsInjected=${outcomes.reduce((n, o) => n + o.faults, 0)} failures by code: ${JSON.stringify(Object.fromEntries(failCodes))}\n` +
        table.join('\n'),
    );
    expect(outcomes).toHaveLength(UPLOADS);
    expect(outcomes.reduce((n, o) => n + o.faults, 0)).toBeGreaterThan(UPLOADS / 2);
    // Retries must carry nearly all uploads through a 20 % fault rate.
    expect(failures.length, `seed ${SEED}`).toBeLessThan(UPLOADS * 0.1);
    expect(unhandled, `seed ${SEED}`).toEqual([]);
  }, 120_000);
});
