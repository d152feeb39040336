import { describe, expect, it } from 'vitest';
import { parseCommand, wantsJson } from '../../lib/cli/args';
import { resolveTarget } from '../../lib/cli/target';
import { formatBytes, formatClock, parseByteCount } from '../../lib/cli/units';
import { UsageError } from '../../lib/cli/usage-error';

describe('byte counts', () => {
  it.each([
    ['1048576', 1_048_576],
    ['512KiB', 524_288],
    ['64MiB', 67_108_864],
    ['64mib', 67_108_864],
    ['1.5GiB', 1_610_612_736],
    ['2TiB', 2 * 1024 ** 4],
    ['10 B', 10],
    [' 2MiB ', 2_097_152],
    // Decimal units: powers of 1000, computed exactly (1.1 × 1000 is not 1100 in floating point).
    ['10MB', 10_000_000],
    ['1kB', 1000],
    ['1.1kB', 1100],
    ['1.5GB', 1_500_000_000],
    ['3TB', 3_000_000_000_000],
    ['0.001MB', 1000],
  ])('%j is %d bytes', (text, bytes) => expect(parseByteCount(text)).toEqual({ ok: true, bytes }));

  it.each([
    ['', 'is not a number of bytes'],
    ['MiB', 'is not a number of bytes'],
    ['-1', 'is not a number of bytes'],
    ['1e3', 'is not a number of bytes'],
    ['1.5', 'not a whole number of bytes'],
    ['0.3KiB', 'not a whole number of bytes'],
    ['1.0001kB', 'not a whole number of bytes'],
    ['99999999999GiB', 'too large'],
    ['10XB', 'unknown unit "XB"'],
    // Read both ways: JEDEC's KB is 1024, "mb" could be either, a bare M says nothing.
    ['10KB', '"10KB" is ambiguous: write 10kB (powers of 1000) or 10KiB (powers of 1024)'],
    ['10mb', '"10mb" is ambiguous: write 10MB (powers of 1000) or 10MiB (powers of 1024)'],
    ['5M', '"5M" is ambiguous: write 5MB (powers of 1000) or 5MiB (powers of 1024)'],
    ['1.5g', 'write 1.5GB (powers of 1000) or 1.5GiB (powers of 1024)'],
    ['2Tb', 'write 2TB (powers of 1000) or 2TiB (powers of 1024)'],
  ])('%j is refused: %s', (text, problem) => {
    const parsed = parseByteCount(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });

  it('formats', () => {
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 ** 2)).toBe('64.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.00 GiB');
    expect(formatClock(7)).toBe('0:07');
    expect(formatClock(3725)).toBe('1:02:05');
  });
});

describe('parseCommand', () => {
  it('a file with every flag', () => {
    expect(
      parseCommand(['clip.mp4', '--filename', 'x.mp4', '--content-type', 'video/mp4', '--concurrency', '8', '--retries', '0', '--vault-user-id', 'u1', '--json', '-q']),
    ).toEqual({
      kind: 'upload',
      args: {
        sources: [{ kind: 'path', path: 'clip.mp4' }],
        recursive: false,
        jobs: 2,
        filename: 'x.mp4',
        contentType: 'video/mp4',
        concurrency: 8,
        retries: 0,
        vaultUserId: 'u1',
        resume: true,
        json: true,
        quiet: true,
      },
    });
  });

  it('a file resumes by default; --no-resume and --resume-dir', () => {
    expect(parseCommand(['clip.mp4'])).toMatchObject({ args: { resume: true } });
    expect(parseCommand(['clip.mp4', '--no-resume'])).toMatchObject({ args: { resume: false } });
    expect(parseCommand(['clip.mp4', '--resume-dir', '/j'])).toMatchObject({ args: { resume: true, resumeDir: '/j' } });
    // Harmless on a source that is never resumed, so scripts may always pass it.
    expect(parseCommand(['-', '--size', '1', '--no-resume'])).toMatchObject({ args: { resume: false } });
  });

  it('--trace FILE', () => {
    expect(parseCommand(['--sample', '1MiB', '--trace', 'out.ndjson'])).toMatchObject({ args: { trace: 'out.ndjson' } });
    expect(parseCommand(['a.mp4', '-j', '3', '--trace', '/tmp/t.ndjson'])).toMatchObject({ args: { sources: [{ kind: 'path', path: 'a.mp4' }], jobs: 3, trace: '/tmp/t.ndjson' } });
    expect(parseCommand(['a.mp4'])).not.toHaveProperty('args.trace');
  });

  it('stdin, a sample, help, version, the emulator', () => {
    expect(parseCommand(['-', '--size', '1KiB'])).toMatchObject({ args: { sources: [{ kind: 'stdin' }], size: 1024 } });
    expect(parseCommand(['-', '--size', '10MB'])).toMatchObject({ args: { sources: [{ kind: 'stdin' }], size: 10_000_000 } });
    expect(parseCommand(['--sample', '10MB'])).toMatchObject({ args: { sources: [{ kind: 'sample', size: 10_000_000, label: '10MB' }] } });
    expect(parseCommand(['emulator', '--part-size', '5MB'])).toMatchObject({ args: { partSize: 5_000_000 } });
    expect(parseCommand(['--sample', '64MiB'])).toMatchObject({ args: { sources: [{ kind: 'sample', size: 64 * 1024 ** 2, label: '64MiB' }] } });
    expect(parseCommand(['--help'])).toEqual({ kind: 'help', topic: 'upload' });
    expect(parseCommand(['-v'])).toEqual({ kind: 'version' });
    expect(parseCommand(['emulator'])).toEqual({ kind: 'emulator', args: { port: 0, json: false } });
    expect(parseCommand(['emulator', '--port', '8080', '--part-size', '8MiB'])).toEqual({
      kind: 'emulator',
      args: { port: 8080, partSize: 8 * 1024 ** 2, json: false },
    });
    expect(parseCommand(['emulator', '-h'])).toEqual({ kind: 'help', topic: 'emulator' });
    expect(parseCommand(['emulator', '--rate-limit', '60/90'])).toMatchObject({ args: { rateLimit: { perMinute: 60, burst: 90 } } });
    expect(parseCommand(['emulator', '--rate-limit', '120'])).toMatchObject({ args: { rateLimit: { perMinute: 120, burst: 120 } } });
    // A file literally named "emulator" is reachable as a path.
    expect(parseCommand(['./emulator'])).toMatchObject({ args: { sources: [{ kind: 'path', path: './emulator' }] } });
  });

  it('several sources of every kind, with the batch flags', () => {
    const parsed = parseCommand(['shoot/', 'a.mp4', '-', 'https://cdn.example/v/clip.mp4?sig=x', 's3://media-bucket/day1/', 's3://media-bucket/one.mp4', '-r', '-j', '4', '--manifest', 'm.jsonl', '--s3-endpoint', 'http://127.0.0.1:9000']);
    expect(parsed).toMatchObject({
      kind: 'upload',
      args: {
        sources: [
          { kind: 'path', path: 'shoot/' },
          { kind: 'path', path: 'a.mp4' },
          { kind: 'stdin' },
          { kind: 'url', url: new URL('https://cdn.example/v/clip.mp4?sig=x') },
          { kind: 's3', bucket: 'media-bucket', key: 'day1/' },
          { kind: 's3', bucket: 'media-bucket', key: 'one.mp4' },
        ],
        recursive: true,
        jobs: 4,
        manifest: 'm.jsonl',
        s3Endpoint: 'http://127.0.0.1:9000',
      },
    });
    expect(parseCommand(['s3://media-bucket'])).toMatchObject({ args: { sources: [{ kind: 's3', bucket: 'media-bucket', key: '' }] } });
    expect(parseCommand(['a'])).toMatchObject({ args: { jobs: 2, recursive: false } });
  });

  it.each([
    [['--nope', 'a'], /Unknown option '--nope'/],
    [['a', 'b', '--filename', 'x.mp4'], /--filename names one source; got 2/],
    [['a', 'b', '--size', '10'], /--size applies to one file or pipe, or to stdin, given alone/],
    [['https://x.example/a.mp4', '--size', '10'], /--size applies to one file or pipe/],
    [['-', '-'], /- \(stdin\) can be given only once/],
    [['s3://', 'a'], /expected s3:\/\/BUCKET\/KEY/],
    [['http://exa mple.com/a'], /is not a valid URL/],
    [['a', '--jobs', '0'], /--jobs must be an integer from 1 to 64/],
    [['a', '--manifest', ' '], /--manifest must not be empty/],
    [['s3://media-bucket/a', '--s3-endpoint', 'ftp://x'], /--s3-endpoint must be an http\(s\) URL/],
    [['a', '--size'], /--size/],
    [['--sample', '1MiB', 'a'], /not both/],
    [['--sample', '1MiB', '--size', '1'], /--size cannot be combined with --sample/],
    [['a', '--concurrency', '65'], /from 1 to 64/],
    [['a', '--concurrency', '2.5'], /from 1 to 64/],
    [['a', '--retries', '-1'], /./],
    [['a', '--filename', ''], /--filename must not be empty/],
    [['a', '--resume-dir', ''], /--resume-dir must not be empty/],
    [['a', '--trace', ' '], /--trace must not be empty/],
    [['a', '--trace'], /Option '--trace <value>' argument missing/],
    [['emulator', '--trace', 'x'], /Unknown option '--trace'/],
    [['a', '--resume-dir', '/j', '--no-resume'], /--resume-dir cannot be combined with --no-resume/],
    [['-', '--size', '1', '--resume-dir', '/j'], /--resume-dir applies to files, URLs and S3 objects: stdin and --sample are read once/],
    [['--sample', '1MiB', '--resume-dir', '/j'], /--resume-dir applies to files/],
    [['emulator', 'extra'], /unexpected argument "extra"/],
    [['emulator', '--rate-limit', '60/0'], /--rate-limit must be PER_MINUTE or PER_MINUTE\/BURST/],
    [['emulator', '--rate-limit', 'fast'], /--rate-limit must be PER_MINUTE/],
    [['emulator', '--rate-limit', '1.5'], /--rate-limit must be PER_MINUTE/],
    // A bad size names every accepted form, both families with their bases, and what was wrong.
    [['-', '--size', '10mb'], /--size must be a byte count > 0: a whole number of bytes, or a number with a decimal unit kB, MB, GB, TB \(powers of 1000\) or a binary unit KiB, MiB, GiB, TiB \(powers of 1024\).*; "10mb" is ambiguous/],
    [['--sample', '5K'], /--sample must be a byte count > 0: .*kB, MB, GB, TB.*KiB, MiB, GiB, TiB.*"5K" is ambiguous: write 5kB/],
    [['--sample', '0'], /--sample must be a byte count > 0: .*; got "0"/],
    [['emulator', '--sample', '1'], /Unknown option '--sample'/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCommand(argv)).toThrow(UsageError);
    expect(() => parseCommand(argv)).toThrow(message);
  });

  it('wantsJson looks at raw argv, so even an unparseable line can answer in JSON', () => {
    expect(wantsJson(['--bogus', '--json'])).toBe(true);
    expect(wantsJson(['--', '--json'])).toBe(false);
  });
});

describe('resolveTarget', () => {
  it('no key: the embedded emulator', () => {
    expect(resolveTarget({})).toEqual({ kind: 'emulator' });
    expect(resolveTarget({ OFAUTH_API_KEY: '  ' })).toEqual({ kind: 'emulator' });
  });

  it('a key without a base URL: the real API', () => {
    expect(resolveTarget({ OFAUTH_API_KEY: 'k', OFAUTH_CONNECTION_ID: 'c' })).toEqual({
      kind: 'api',
      baseUrl: 'https://api.ofauth.com',
      apiKey: 'k',
      connectionId: 'c',
    });
  });

  it('a key with a base URL', () => {
    expect(resolveTarget({ OFAUTH_API_KEY: 'k', OFAUTH_CONNECTION_ID: 'c', OFAUTH_BASE_URL: 'http://127.0.0.1:9' })).toMatchObject({ baseUrl: 'http://127.0.0.1:9' });
  });

  it.each([
    [{ OFAUTH_BASE_URL: 'http://x' }, /OFAUTH_API_KEY is not/],
    [{ OFAUTH_API_KEY: 'k' }, /OFAUTH_CONNECTION_ID is not/],
    [{ OFAUTH_API_KEY: 'k', OFAUTH_CONNECTION_ID: 'c', OFAUTH_BASE_URL: 'not a url' }, /http\(s\) URL/],
    [{ OFAUTH_API_KEY: 'k', OFAUTH_CONNECTION_ID: 'c', OFAUTH_BASE_URL: 'file:///etc' }, /http\(s\) URL/],
  ])('%j is refused', (env, message) => {
    expect(() => resolveTarget(env)).toThrow(message);
  });
});
