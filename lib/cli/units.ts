// Byte counts and durations, parsed from flags and formatted for people. Both unit families are
// accepted, each spelled so it means one thing: decimal kB, MB, GB, TB (SI, powers of 1000) and
// binary KiB, MiB, GiB, TiB (IEC, powers of 1024). Spellings read both ways ("KB", "mb", "M")
// are refused with the two readings, rather than guessed.

/** How the accepted forms are named in --help and in usage errors. */
export const BYTE_COUNT_FORMS =
  'a whole number of bytes, or a number with a decimal unit kB, MB, GB, TB (powers of 1000) or a binary unit KiB, MiB, GiB, TiB (powers of 1024), e.g. 10MB, 1.5GiB';

const DECIMAL: Record<string, bigint> = { kB: 1000n, MB: 1000n ** 2n, GB: 1000n ** 3n, TB: 1000n ** 4n };
const BINARY: Record<string, bigint> = { kib: 1024n, mib: 1024n ** 2n, gib: 1024n ** 3n, tib: 1024n ** 4n };
/** Prefix letters whose unit needs the case ("kB", "MB") or the "i" ("KiB") to say which family. */
const AMBIGUOUS = /^([kmgt])b?$/i;

export type ParsedByteCount = { ok: true; bytes: number } | { ok: false; problem: string };

/** The unit's multiplier; for an ambiguous spelling, its decimal and binary readings. */
function unitOf(unit: string): bigint | { readings: [decimal: string, binary: string] } | undefined {
  if (unit === '' || unit === 'B' || unit === 'b') return 1n;
  const decimal = DECIMAL[unit];
  if (decimal !== undefined) return decimal;
  const binary = BINARY[unit.toLowerCase()];
  if (binary !== undefined) return binary;
  const prefix = AMBIGUOUS.exec(unit)?.[1]?.toUpperCase();
  if (prefix === undefined) return undefined;
  return { readings: [prefix === 'K' ? 'kB' : `${prefix}B`, `${prefix}iB`] };
}

/** "1048576", "10MB", "512KiB", "1.5GiB" → bytes, exactly (no floating point), or why not. */
export function parseByteCount(text: string): ParsedByteCount {
  const match = /^(\d+)(?:\.(\d+))?\s*([A-Za-z]*)$/.exec(text.trim());
  if (!match) return { ok: false, problem: `${JSON.stringify(text)} is not a number of bytes` };
  const [, whole = '', fraction = '', unitText = ''] = match;
  const unit = unitOf(unitText);
  const number = fraction === '' ? whole : `${whole}.${fraction}`;
  if (unit === undefined) return { ok: false, problem: `unknown unit "${unitText}"` };
  if (typeof unit !== 'bigint') {
    const [decimal, binary] = unit.readings;
    return { ok: false, problem: `${JSON.stringify(text.trim())} is ambiguous: write ${number}${decimal} (powers of 1000) or ${number}${binary} (powers of 1024)` };
  }
  const scaled = BigInt(whole + fraction) * unit;
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) return { ok: false, problem: `${JSON.stringify(text.trim())} is not a whole number of bytes` };
  const bytes = scaled / divisor;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: `${JSON.stringify(text.trim())} is too large` };
  return { ok: true, bytes: Number(bytes) };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Mean rate in MiB/s; 0 before any time has passed rather than Infinity. */
export function mibPerSecond(bytes: number, elapsedMs: number): number {
  return elapsedMs > 0 ? bytes / 1024 ** 2 / (elapsedMs / 1000) : 0;
}

/** 7 → "0:07", 3725 → "1:02:05". */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : formatClock(ms / 1000);
}
