import { afterEach, describe, expect, it, vi } from 'vitest';

type InterruptModule = typeof import('../../lib/cli/interrupt');

async function fresh(): Promise<InterruptModule> {
  vi.resetModules();
  return import('../../lib/cli/interrupt');
}

const before = new Set(process.listeners('SIGINT'));
afterEach(() => {
  for (const listener of process.listeners('SIGINT')) if (!before.has(listener)) process.off('SIGINT', listener);
});

describe('Ctrl-C handling', () => {
  it('before any upload is under way, Ctrl-C exits with 130 (not killed by the signal)', async () => {
    const { installInterruptHandling } = await fresh();
    const exits: number[] = [];
    installInterruptHandling((code) => exits.push(code));
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
  });

  it('during an upload the first Ctrl-C runs its handler, the second exits at once', async () => {
    const { installInterruptHandling, onInterrupt } = await fresh();
    const exits: number[] = [];
    const aborted: string[] = [];
    installInterruptHandling((code) => exits.push(code));
    const remove = onInterrupt(() => aborted.push('abort'));
    process.emit('SIGINT', 'SIGINT');
    expect(aborted).toEqual(['abort']);
    expect(exits).toEqual([]);
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
    remove();
  });
});
