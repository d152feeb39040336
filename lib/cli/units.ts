// Byte counts and durations, parsed from flags and formatted for people. Binary units only:
// "MB" is ambiguous (10^6 or 2^20), so it is refused rather than guessed.

const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "1048576", "512KiB", "64MiB", "1.5GiB" → bytes; undefined when not a whole, safe byte count. */
export function parseByteCount(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kib|mib|gib)?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
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
