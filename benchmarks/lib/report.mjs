// Markdown table and hand-written SVG chart of a benchmark report.
import { formatBytes } from './source.mjs';

const f = (x, d = 0) => (x === undefined || x === null || Number.isNaN(x) ? '–' : x.toFixed(d));
const ratio = (x) => (x === undefined ? '–' : `${x.toFixed(2)}×`);

function machineLine(report) {
  const m = report.machine;
  const v = Object.entries(m.versions).map(([k, x]) => `${k} ${x}`).join(', ');
  return { hw: `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`, sw: `Node ${m.node}${m.harnessNode ? ` (orchestrator and sink: Node ${m.harnessNode})` : ''}; ${v}; commit ${m.commit}` };
}

/** @param {any} report */
export function renderMarkdown(report) {
  const lines = [];
  const { hw, sw } = machineLine(report);
  lines.push(`### Benchmark${report.quick ? ' (quick: smoke check, not numbers)' : ''} — ${report.generatedAt.slice(0, 10)}`);
  lines.push('');
  lines.push(`${report.rounds} round(s), rows interleaved, medians (MiB/s shows min–max of the rounds). ` +
    `Ratios are to the ceiling of the same round. RSS end = \`maxRSS\` right after the transfer, the kernel's peak mark having been reset after the warm-up (so it is the transfer's own peak); ` +
    `Δ RSS = that minus the same process's warmed RSS just before the clock; peak = whole process, warm-up included. ` +
    `Every byte was counted by the sink; a miscount fails the run.`);
  lines.push('');
  lines.push('| row ¹ | size | MiB/s (min–max) | × ceiling | wall s | CPU s/GiB | × ceiling | RSS end MiB | × ceiling | Δ RSS MiB | peak MiB | new conns |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.results) {
    const m = r.metrics;
    if (r.kind === 'idle') {
      lines.push(`| ${r.label} | – | – | – | – | – | – | ${f(m.rssEndMiB.median, 1)} | ${ratio(r.ratios.rssEndMiB)} | ${f(m.rssGrowthMiB.median, 1)} | ${f(m.peakMiB.median, 1)} | – |`);
      continue;
    }
    const tp = `${f(m.mibPerS.median)} (${f(m.mibPerS.min)}–${f(m.mibPerS.max)})`;
    lines.push(
      `| ${r.label} | ${formatBytes(r.size)} | ${tp} | ${ratio(r.ratios.mibPerS)} | ${f(m.wallS.median, 2)} | ${f(m.cpuSPerGiB.median, 2)} | ${ratio(r.ratios.cpuSPerGiB)} | ${f(m.rssEndMiB.median, 1)} | ${ratio(r.ratios.rssEndMiB)} | ${f(m.rssGrowthMiB.median, 1)} | ${f(m.peakMiB.median, 1)} | ${f(m.connections.median)} |`,
    );
  }
  lines.push('');
  lines.push('¹ source: zero-copy views of an in-memory pattern unless the row says "fresh buffer per chunk" (a new buffer per chunk, as `fs.createReadStream` hands out). ' +
    '² ratios to "ceiling, fresh buffer per chunk" (same source). ' +
    '³ ratios to the createReadStream row above it (the same file, read from the page cache).');
  lines.push('');
  const table = (list) => {
    lines.push('| target | measured | limit | holds |');
    lines.push('|---|---:|---:|:---:|');
    for (const t of list) {
      lines.push(`| ${t.name} | ${t.value} | ${t.limit} | ${t.holds === undefined ? 'n/a' : t.holds ? 'yes' : '**no**'} |`);
    }
  };
  lines.push("**The issue's targets** (ratios of this run: per round, then the median):");
  lines.push('');
  table(report.targets.filter((t) => t.formal));
  lines.push('');
  lines.push('<details><summary>The same limits applied to the other rows (for information)</summary>');
  lines.push('');
  table(report.targets.filter((t) => !t.formal));
  lines.push('');
  lines.push('</details>');
  lines.push('');
  lines.push(`Machine: ${hw}. ${sw}. Run took ${report.durationS} s.`);
  lines.push('');
  return lines.join('\n');
}

function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars: throughput (left panel) and RSS at end (right panel), one line per row. */
export function renderSvg(report) {
  const rows = report.results.filter((r) => r.kind !== 'idle');
  const idle = report.results.find((r) => r.kind === 'idle')?.metrics.rssEndMiB.median;
  const labelW = 420;
  const panelW = 300;
  const gap = 70;
  const rowH = 22;
  const top = 56;
  const width = labelW + 2 * panelW + gap + 50;
  const height = top + rows.length * rowH + 104;
  const maxRate = Math.max(...rows.map((r) => r.metrics.mibPerS.max ?? 0), 1);
  const maxRss = Math.max(...rows.map((r) => r.metrics.rssEndMiB.median ?? 0), idle ?? 0, 1);
  const x1 = labelW;
  const x2 = labelW + panelW + gap;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="600">ofauth-upload-stream benchmark: ${esc(formatBytes(report.size))} from an in-memory source to a local sink${report.quick ? ' (quick)' : ''}</text>`);
  out.push(`<text x="${x1}" y="${top - 10}" font-weight="600">Throughput, MiB/s (median, min–max)</text>`);
  out.push(`<text x="${x2}" y="${top - 10}" font-weight="600">RSS at end of transfer, MiB</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const m = r.metrics;
    const fill = r.kind === 'ours' ? '#2563eb' : r.kind === 'ceiling' ? '#6b7280' : '#f59e0b';
    const fill2 = r.kind === 'ours' ? '#16a34a' : r.kind === 'ceiling' ? '#9ca3af' : '#f97316';
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" fill="#f3f4f6"/>`);
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label.replace(/ [¹²]$/, ''))}</text>`);
    const w = ((m.mibPerS.median ?? 0) / maxRate) * panelW;
    out.push(`<rect x="${x1}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>`);
    const lo = x1 + ((m.mibPerS.min ?? 0) / maxRate) * panelW;
    const hi = x1 + ((m.mibPerS.max ?? 0) / maxRate) * panelW;
    out.push(`<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#111827" stroke-width="1"/>`);
    out.push(`<text x="${(Math.max(w, hi - x1) + x1 + 4).toFixed(1)}" y="${y + 15}">${f(m.mibPerS.median)}</text>`);
    const w2 = ((m.rssEndMiB.median ?? 0) / maxRss) * panelW;
    out.push(`<rect x="${x2}" y="${y + 4}" width="${w2.toFixed(1)}" height="${rowH - 8}" fill="${fill2}"/>`);
    out.push(`<text x="${(x2 + w2 + 4).toFixed(1)}" y="${y + 15}">${f(m.rssEndMiB.median)}</text>`);
  });
  const bottom = top + rows.length * rowH;
  if (idle !== undefined) {
    const xi = x2 + (idle / maxRss) * panelW;
    out.push(`<line x1="${xi.toFixed(1)}" x2="${xi.toFixed(1)}" y1="${top - 4}" y2="${bottom}" stroke="#dc2626" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${xi.toFixed(1)}" y="${bottom + 14}" text-anchor="middle" fill="#dc2626">idle ${f(idle)}</text>`);
  }
  const m = report.machine;
  const footer = [
    `${report.rounds} round(s), rows interleaved, one process per measurement; ${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC. Blue/green: ofauth-upload-stream; grey: ceiling; orange: peers.`,
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; commit ${m.commit}`,
    Object.entries(m.versions).map(([k, x]) => `${k} ${x}`).join(', '),
  ];
  footer.forEach((line, i) => out.push(`<text x="12" y="${bottom + 40 + i * 18}" fill="#374151" font-size="11">${esc(line)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
