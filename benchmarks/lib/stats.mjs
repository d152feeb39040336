// Small statistics over rounds.

/** @param {number[]} values */
export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * @param {number[]} values
 * @returns {{ median: number | undefined, min: number | undefined, max: number | undefined, spreadPct: number | undefined, values: number[] }}
 */
export function summary(values) {
  const v = values.filter((x) => Number.isFinite(x));
  const med = median(v);
  const min = v.length ? Math.min(...v) : undefined;
  const max = v.length ? Math.max(...v) : undefined;
  return {
    median: med,
    min,
    max,
    // Max − min over the median: how far apart the rounds landed.
    spreadPct: med ? ((max - min) / med) * 100 : undefined,
    values: v,
  };
}
