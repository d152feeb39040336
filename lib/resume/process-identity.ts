import { readFile, readlink } from 'node:fs/promises';

/**
 * What tells a process from a later one with the same pid, and from one in another pid namespace
 * (a container) or on another machine sharing the cache dir: the kernel's boot, its pid and time
 * namespaces, and its start time (clock ticks after boot). Each is absent where the system does
 * not tell it: no /proc (macOS, Windows), a kernel without time namespaces, or a /proc mounted
 * for another pid namespace (then /proc/<pid> would name someone else's processes).
 */
export interface ProcessIdentity {
  bootId?: string;
  pidNs?: string;
  timeNs?: string;
  startTime?: string;
}

async function attempt<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

interface ProcStat {
  state: string;
  startTime: string;
}

/** Fields 3 and 22 of /proc/<pid>/stat, counted after the last ')' since the command name may hold spaces and parentheses. */
async function procStat(pid: number | 'self'): Promise<ProcStat | undefined> {
  const text = await attempt(() => readFile(`/proc/${pid}/stat`, 'utf8'));
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, startTime] = [fields[0], fields[19]];
  return state !== undefined && startTime !== undefined && /^\d+$/.test(startTime) ? { state, startTime } : undefined;
}

let own: Promise<ProcessIdentity> | undefined;

/** This process's identity; none of it can change while it runs, so it is read once. */
export function ownIdentity(): Promise<ProcessIdentity> {
  own ??= (async () => {
    const [bootId, pidNs, timeNs, self] = await Promise.all([
      attempt(async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()),
      attempt(() => readlink('/proc/self/ns/pid')),
      attempt(() => readlink('/proc/self/ns/time')),
      attempt(() => readlink('/proc/self')),
    ]);
    // A start time is only worth recording (and others' only worth reading) through a /proc of our own pid namespace.
    const startTime = self === String(process.pid) ? (await procStat('self'))?.startTime : undefined;
    const identity: ProcessIdentity = {};
    if (bootId) identity.bootId = bootId;
    if (pidNs) identity.pidNs = pidNs;
    if (timeNs) identity.timeNs = timeNs;
    if (startTime) identity.startTime = startTime;
    return identity;
  })();
  return own;
}

/** Whether `pid` names a running process in this pid namespace (EPERM: it runs, as another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Whether the process that recorded `startTime` as pid `pid` of this very pid namespace still
 * runs: a pid now running something that started at another time (pids are reused: a container's
 * node is pid 1 on every start) is not it, nor is a zombie. 'unknown' when its start time cannot
 * be told (none recorded, or /proc hides it: hidepid, another namespace's /proc).
 */
export async function liveness(pid: number, startTime: string | undefined, canReadProc: boolean): Promise<'alive' | 'dead' | 'unknown'> {
  if (!isRunning(pid)) return 'dead';
  if (startTime === undefined || !canReadProc) return 'unknown';
  const now = await procStat(pid);
  // Gone between the two looks, or hidden from us.
  if (now === undefined) return isRunning(pid) ? 'unknown' : 'dead';
  return now.startTime === startTime && now.state !== 'Z' && now.state !== 'X' ? 'alive' : 'dead';
}
