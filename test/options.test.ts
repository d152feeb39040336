import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../lib/errors';
import { resolveOptions } from '../lib/options';

const base = { apiKey: 'sk_secret_123', connectionId: 'conn_1', filename: 'a.mp4', size: 10, contentType: 'video/mp4' };

function reject(input: unknown): InvalidOptionsError {
  try {
    resolveOptions(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error).toBeInstanceOf(TypeError);
    return error as InvalidOptionsError;
  }
  throw new Error('expected InvalidOptionsError');
}

describe('resolveOptions', () => {
  it('fills the defaults', () => {
    const o = resolveOptions(base);
    expect(o.baseUrl).toBe('https://api.ofauth.com');
    expect(o.concurrency).toBe(4);
    expect(o.retries).toBe(5);
  });

  it('size may be omitted (the source is spooled); spool and maxBufferMemory have defaults', () => {
    const { size: _omitted, ...noSize } = base;
    const resolved = resolveOptions(noSize);
    expect(resolved.size).toBeUndefined();
    expect(resolved.spool).toEqual({ memory: 8 * 1024 * 1024 });
    expect(resolved.maxBufferMemory).toBe(256 * 1024 * 1024);
    expect(reject({ ...base, spool: { memory: -1 } }).message).toMatch(/option "spool.memory"/);
    expect(reject({ ...base, spool: { maxbytes: 5 } }).message).toMatch(/unknown option "maxbytes"/);
    expect(reject({ ...base, maxBufferMemory: 0 }).message).toMatch(/option "maxBufferMemory".*got 0/);
  });

  it('strips a trailing slash from baseUrl', () => {
    expect(resolveOptions({ ...base, baseUrl: 'http://127.0.0.1:9/' }).baseUrl).toBe('http://127.0.0.1:9');
  });

  it('names the option, what was expected and what came', () => {
    expect(reject({ ...base, concurrency: 0 }).message).toMatch(/option "concurrency": .*>=1.*got 0/);
    expect(reject({ ...base, size: 1.5 }).message).toMatch(/option "size".*got 1.5/);
    expect(reject({ ...base, size: -1 }).message).toMatch(/option "size"/);
    expect(reject({ ...base, baseUrl: 'ftp://x' }).message).toMatch(/option "baseUrl".*http/);
    expect(reject({ ...base, concurency: 2 }).message).toMatch(/unknown option "concurency"/);
    expect(reject({ ...base, vaultUpload: { mode: 'post' } }).message).toMatch(/vaultUpload.mode/);
    expect(reject({ ...base, signal: {} }).message).toMatch(/option "signal": expected an AbortSignal/);
    expect(reject(null).message).toMatch(/options object/);
  });

  it('a zero or wrong size names the ways out (the exact size, or omit it to spool), not zod\'s words', () => {
    const waysOut =
      'pass the exact byte count of the source (fs.stat size, S3 ContentLength, HTTP Content-Length), ' +
      'or omit size when it is unknown: the source is then spooled until it ends (see the spool option)';
    const zero = reject({ ...base, size: 0 });
    expect(zero.message).not.toMatch(/Too small/);
    expect(zero.issues).toEqual([`option "size" is 0: the API needs at least one byte; ${waysOut}`]);
    // Other wrong sizes say what a size is, once each, with what came.
    expect(reject({ ...base, size: '10' }).issues).toEqual([
      `option "size": expected the exact byte count of the source, a whole number from 1 to 9007199254740991 (got "10"); ${waysOut}`,
    ]);
    expect(reject({ ...base, size: 2 ** 60 }).issues).toHaveLength(1);
  });

  it('never echoes the API key or the connection id', () => {
    const error = reject({ ...base, apiKey: 12345678, connectionId: ['x'] });
    expect(error.message).toMatch(/option "apiKey": .*got number/);
    expect(error.message).not.toContain('12345678');
    const empty = reject({ ...base, size: 0, apiKey: 'sk_secret_123' });
    expect(empty.message).not.toContain('sk_secret_123');
  });
});
