#!/usr/bin/env node
// What one copy into part buffers costs, without HTTP: 512 MiB over a loopback TCP socket to a
// discarding sink in its own process, three ways, each in its own process, interleaved.
//
//   node benchmarks/copy-cost.mjs [--rounds 3] [--node PATH]
//
//   views:  writes 64 KiB views of a 4 MiB pattern as they are (the ceiling's way)
//   parts:  copies each 64 KiB into five rotating 8 MiB part buffers, sends a filled part in
//           1 MiB slices (the library's way)
//   stream: copies each 64 KiB and sends those bytes at once, still in cache (a part sent while
//           it is being filled)
//
// Prints the client process's CPU per way and round, the medians, plus the first touch of
// 40 MiB of fresh buffers and a 512 MiB copy measured alone.
import { execFileSync, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MiB = 1024 * 1024;
const TOTAL = 512 * MiB;
const CHUNK = 64 * 1024;
const PART = 8 * MiB;
const self = fileURLToPath(import.meta.url);
const role = process.argv[2];

if (role === 'sink') {
  const server = net.createServer((socket) => socket.on('data', () => {}).on('error', () => {}).on('end', () => socket.end()));
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else if (role === 'client') {
  const way = process.argv[3];
  const pattern = Buffer.alloc(4 * MiB);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7) & 255;
  const sink = fork(self, ['sink']);
  const port = await new Promise((resolve) => sink.once('message', resolve));
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const write = (bytes) => (socket.write(bytes) ? undefined : new Promise((resolve) => socket.once('drain', resolve)));
  const buffers = Array.from({ length: 5 }, () => Buffer.allocUnsafeSlow(PART));
  const before = process.cpuUsage();
  let index = 0;
  let filled = 0;
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    const view = pattern.subarray(sent % pattern.length, (sent % pattern.length) + CHUNK);
    if (way === 'views') {
      await write(view);
      continue;
    }
    const buffer = buffers[index];
    buffer.set(view, filled);
    filled += CHUNK;
    if (way === 'stream') await write(buffer.subarray(filled - CHUNK, filled));
    if (filled === PART) {
      if (way === 'parts') for (let at = 0; at < PART; at += MiB) await write(buffer.subarray(at, at + MiB));
      filled = 0;
      index = (index + 1) % buffers.length;
    }
  }
  await new Promise((resolve) => socket.end(resolve));
  const cpu = process.cpuUsage(before);
  sink.kill();
  process.stdout.write(JSON.stringify({ way, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, sysMs: cpu.system / 1000 }));
} else if (role === 'alone') {
  const before = process.cpuUsage();
  const buffers = Array.from({ length: 5 }, () => Buffer.allocUnsafeSlow(PART));
  for (const buffer of buffers) buffer.fill(1);
  const touch = process.cpuUsage(before);
  const source = Buffer.alloc(CHUNK, 3);
  const beforeCopy = process.cpuUsage();
  for (let copied = 0, i = 0; copied < TOTAL; copied += CHUNK, i++) buffers[Math.floor(i / (PART / CHUNK)) % 5].set(source, (i * CHUNK) % PART);
  const copy = process.cpuUsage(beforeCopy);
  process.stdout.write(JSON.stringify({ firstTouchMs: (touch.user + touch.system) / 1000, copyMs: (copy.user + copy.system) / 1000 }));
} else {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, node: { type: 'string', default: process.execPath } } });
  const rounds = Number(values.rounds);
  const node = values.node;
  const results = { views: [], parts: [], stream: [] };
  console.log(`Node ${execFileSync(node, ['--version']).toString().trim()}, 512 MiB per way, ${rounds} rounds`);
  for (let round = 1; round <= rounds; round++) {
    for (const way of Object.keys(results)) {
      const r = JSON.parse(execFileSync(node, [self, 'client', way]).toString());
      results[way].push(r.cpuMs);
      console.log(`[round ${round}] ${way.padEnd(6)} CPU ${r.cpuMs.toFixed(0)} ms (user ${r.userMs.toFixed(0)}, sys ${r.sysMs.toFixed(0)})`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const alone = JSON.parse(execFileSync(node, [self, 'alone']).toString());
  console.log(`medians: views ${median(results.views).toFixed(0)} ms, parts ${median(results.parts).toFixed(0)} ms, stream ${median(results.stream).toFixed(0)} ms`);
  console.log(`alone: first touch of 40 MiB ${alone.firstTouchMs.toFixed(0)} ms, a 512 MiB copy in 64 KiB pieces ${alone.copyMs.toFixed(0)} ms`);
}
