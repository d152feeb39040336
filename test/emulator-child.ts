import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { join } from 'node:path';
import type { EmulatorOptions, EmulatorStats, FaultRule, RequestRecord, StoredMedia } from '../lib/emulator';

const root = join(__dirname, '..');

/** The emulator in a process of its own, so a test's memory figures do not count the server's. */
export interface ChildEmulator {
  url: string;
  apiKey: string;
  media(mediaUploadId: string): Promise<StoredMedia | null>;
  stats(): Promise<EmulatorStats>;
  /** The request log, as `emulator.requests`. */
  requests(): Promise<RequestRecord[]>;
  /** Plain-JSON fault rules only (no `mutate`: functions cannot cross the process boundary). */
  setFaults(rules: FaultRule[]): Promise<void>;
  close(): Promise<void>;
}

/** Plain-JSON emulator options only: functions cannot cross the process boundary. */
export async function startChildEmulator(options: EmulatorOptions): Promise<ChildEmulator> {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-build.mjs')], { cwd: root, stdio: 'inherit' });
  const child: ChildProcess = fork(join(root, 'test/fixtures/emulator-process.mjs'), [JSON.stringify(options)]);
  const ready = await new Promise<{ url: string; apiKey: string }>((resolve) => child.once('message', resolve as (m: unknown) => void));
  let nextId = 0;
  const ask = <T>(message: Record<string, unknown>): Promise<T> => {
    const id = ++nextId;
    return new Promise((resolve) => {
      const onMessage = (reply: { id?: number } & Record<string, unknown>) => {
        if (reply.id !== id) return;
        child.off('message', onMessage);
        resolve(reply as T);
      };
      child.on('message', onMessage);
      child.send({ ...message, id });
    });
  };
  return {
    ...ready,
    media: async (mediaUploadId) => (await ask<{ media: StoredMedia | null }>({ type: 'media', mediaUploadId })).media,
    stats: async () => (await ask<{ stats: EmulatorStats }>({ type: 'stats' })).stats,
    requests: async () => (await ask<{ requests: RequestRecord[] }>({ type: 'requests' })).requests,
    setFaults: async (rules) => {
      await ask({ type: 'setFaults', rules });
    },
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' });
      await exited;
    },
  };
}
