#!/usr/bin/env node
// The link emulator in its own process (so the client under test can never stall it, nor it
// the client): one link per profile, each forwarding to its own target.
//
//   fork('link-process.mjs', [JSON.stringify({ far: { target: { port }, rttMs: 150, … }, … })])
//   → IPC { ready: true, ports: { far: 40123, … } }
//   ← IPC { stats: id } → IPC { id, stats: { far: LinkStats, … }, cpuS } (the process's CPU seconds)
//   ← IPC { reseed: 'far', seed: 13, id } → IPC { id }: the cut schedule starts over
//
// Exits when its parent goes away (IPC disconnect); each link also closes itself after its
// `lifetimeMs`, and then the process has nothing left to do.
import { startLink } from './lib/link.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
/** @type {Record<string, Awaited<ReturnType<typeof startLink>>>} */
const links = {};
for (const [name, options] of Object.entries(config)) links[name] = await startLink(options);

const ports = Object.fromEntries(Object.entries(links).map(([name, link]) => [name, link.port]));
process.on('message', (m) => {
  const message = /** @type {{ stats?: number, reseed?: string, seed?: number, id?: number }} */ (m);
  if (message.stats !== undefined) {
    const cpu = process.cpuUsage();
    process.send?.({
      id: message.stats,
      stats: Object.fromEntries(Object.entries(links).map(([name, link]) => [name, link.stats()])),
      cpuS: (cpu.user + cpu.system) / 1e6,
    });
  } else if (message.reseed !== undefined) {
    links[message.reseed]?.reseed(message.seed ?? 1);
    process.send?.({ id: message.id });
  }
});
const stop = async () => {
  await Promise.all(Object.values(links).map((link) => link.close()));
  process.exit(0);
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.send) process.send({ ready: true, ports });
else process.stdout.write(`${JSON.stringify({ ready: true, ports })}\n`);
