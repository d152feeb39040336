// Markdown table and hand-written SVG chart of a `--links` report.
import { formatBytes } from './source.mjs';

const MiB = 1024 * 1024;
const f = (x, d = 0) => (x === undefined || x === null || Number.isNaN(x) ? '–' : x.toFixed(d));

function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "RTT 150 ms, 24 MiB/s in all, 4 MiB/s per connection, a cut per 64 MiB" */
export function describeProfile(p) {
  const parts = [`RTT ${p.rttMs} ms`];
  parts.push(p.aggregateBytesPerS === undefined ? 'no caps' : `${p.aggregateBytesPerS / MiB} MiB/s in all, ${p.perConnectionBytesPerS / MiB} MiB/s per connection`);
  if (p.cutEveryBytes !== undefined) parts.push(`a connection cut per ${formatBytes(p.cutEveryBytes)} on average`);
  return parts.join(', ');
}

/** @param {any} report */
export function renderLinksMarkdown(report) {
  const lines = [];
  const m = report.machine;
  lines.push(`### Links benchmark${report.quick ? ' (quick: smoke check, not numbers)' : ''} — ${report.generatedAt.slice(0, 10)}`);
  lines.push('');
  lines.push(`${formatBytes(report.size)} per upload over TLS through the link emulator, ${formatBytes(report.partSize)} parts, a cold client per upload. ` +
    'Medians over the rounds (MiB/s shows min–max). "× bound" is MiB/s ÷ min(aggregate, concurrency × per connection). ' +
    'TLS conns: connections the link accepted during the upload (median, worst). Retried: requests beyond the upload\'s own. ' +
    'Every body byte was checked against the source by the sink; a miss fails the run.');
  lines.push('');
  lines.push('| profile | row | rounds | MiB/s (min–max) | × bound | TLS conns | retried | cuts | CPU s/GiB | RSS end MiB | Δ RSS MiB |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of report.results) {
    const x = r.metrics;
    const conns = x.linkConnections.median === x.linkConnections.max ? f(x.linkConnections.median) : `${f(x.linkConnections.median)} (${f(x.linkConnections.max)})`;
    lines.push(
      `| ${r.profile} | ${r.label} | ${r.runs.length} | ${f(x.mibPerS.median, 1)} (${f(x.mibPerS.min, 1)}–${f(x.mibPerS.max, 1)}) | ${r.ofBound ? `${f(r.ofBound.median, 2)}×` : '–'} | ${conns} | ${f(x.retried.median)} | ${f(x.cuts.median)} | ${f(x.cpuSPerGiB.median, 2)} | ${f(x.rssEndMiB.median, 1)} | ${f(x.rssGrowthMiB.median, 1)} |`,
    );
  }
  lines.push('');
  lines.push('Profiles: ' + Object.entries(report.profiles).map(([name, p]) => `\`${name}\` ${describeProfile(p)}`).join('; ') + '.');
  lines.push('');
  lines.push("**The issue's targets** (this run):");
  lines.push('');
  lines.push('| target | measured | limit | holds |');
  lines.push('|---|---:|---:|:---:|');
  for (const t of report.targets) {
    lines.push(`| ${t.name} | ${t.value} | ${t.limit} | ${t.holds === undefined ? '–' : t.holds ? 'held' : '**missed**'} |`);
  }
  lines.push('');
  lines.push(`Sink: ${report.sink.verified} uploads verified, ${(report.sink.checkedBytes / 1024 ** 3).toFixed(2)} GiB of body bytes compared with the source, ${report.sink.cutBodies} bodies cut short by the link, ${report.sink.tlsConnections} TLS connections.`);
  lines.push('');
  lines.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}. Node ${m.node}; ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; commit ${m.commit}. Run took ${report.durationS} s.`);
  lines.push('');
  return lines.join('\n');
}

/**
 * Throughput against concurrency, one panel per profile: ours (c = 1, 4, 8), lib-storage
 * (q = 4, 8), one PUT (at 1), and the bound min(aggregate, c × per connection) where the link
 * has one. Ours over the cut link is drawn dashed in the `far` panel.
 */
export function renderLinksSvg(report) {
  const panels = ['lan', 'cloud', 'far'].filter((p) => report.results.some((r) => r.profile === p));
  const byId = Object.fromEntries(report.results.map((r) => [r.id, r]));
  const W = 300;
  const H = 220;
  const left = 56;
  const gap = 40;
  const top = 60;
  const width = left + panels.length * (W + gap) + 10;
  const height = top + H + 110;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  out.push('<rect width="100%" height="100%" fill="#ffffff"/>');
  out.push(`<text x="12" y="22" font-size="15" font-weight="600">Throughput against concurrency over TLS and emulated links: ${esc(formatBytes(report.size))} uploads, ${esc(formatBytes(report.partSize))} parts${report.quick ? ' (quick)' : ''}</text>`);
  const cs = [1, 2, 3, 4, 5, 6, 7, 8];
  panels.forEach((profile, i) => {
    const x0 = left + i * (W + gap);
    const p = report.profiles[profile];
    const rows = report.results.filter((r) => r.profile === profile || (profile === 'far' && r.profile === 'far-cuts'));
    const bound = (c) => Math.min(p.aggregateBytesPerS ?? Number.POSITIVE_INFINITY, c * (p.perConnectionBytesPerS ?? Number.POSITIVE_INFINITY)) / MiB;
    const capped = p.aggregateBytesPerS !== undefined;
    const top_ = Math.max(...rows.map((r) => r.metrics.mibPerS.max ?? 0), capped ? bound(8) : 0, 1);
    // A round step (1, 2 or 5 × 10^k) giving 3–6 grid lines.
    const raw = top_ / 4;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? 10 * mag;
    const maxY = Math.ceil((top_ * 1.05) / step) * step;
    const X = (c) => x0 + ((c - 1) / 7) * W;
    const Y = (v) => top + H - (v / maxY) * H;
    out.push(`<text x="${x0}" y="${top - 16}" font-weight="600">${esc(profile)}</text>`);
    out.push(`<text x="${x0 + 40}" y="${top - 16}" fill="#4b5563" font-size="11">${esc(describeProfile(p))}</text>`);
    out.push(`<rect x="${x0}" y="${top}" width="${W}" height="${H}" fill="none" stroke="#d1d5db"/>`);
    for (let v = 0; v <= maxY + 1e-9; v += step) {
      out.push(`<line x1="${x0}" x2="${x0 + W}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#f3f4f6"/>`);
      out.push(`<text x="${x0 - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" fill="#6b7280" font-size="10">${f(v)}</text>`);
    }
    for (const c of [1, 4, 8]) out.push(`<text x="${X(c).toFixed(1)}" y="${top + H + 16}" text-anchor="middle" fill="#374151">${c}</text>`);
    out.push(`<text x="${x0 + W / 2}" y="${top + H + 32}" text-anchor="middle" fill="#374151">concurrency (parts or queue size)</text>`);
    if (i === 0) out.push(`<text x="14" y="${top + H / 2}" transform="rotate(-90 14 ${top + H / 2})" text-anchor="middle" fill="#374151">MiB/s</text>`);
    if (capped) {
      const pts = cs.map((c) => `${X(c).toFixed(1)},${Y(bound(c)).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="#dc2626" stroke-dasharray="5 4"/>`);
    }
    const series = (ids, color, dashed = false) => {
      const pts = ids.map(([c, id]) => [c, byId[id]]).filter(([, r]) => r !== undefined);
      if (pts.length === 0) return;
      if (pts.length > 1) {
        out.push(`<polyline points="${pts.map(([c, r]) => `${X(c).toFixed(1)},${Y(r.metrics.mibPerS.median).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="6 3"' : ''}/>`);
      }
      for (const [c, r] of pts) {
        const x = X(c);
        out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${Y(r.metrics.mibPerS.min).toFixed(1)}" y2="${Y(r.metrics.mibPerS.max).toFixed(1)}" stroke="${color}"/>`);
        out.push(`<circle cx="${x.toFixed(1)}" cy="${Y(r.metrics.mibPerS.median).toFixed(1)}" r="3.5" fill="${dashed ? '#ffffff' : color}" stroke="${color}"/>`);
      }
    };
    series([[4, `${profile}/ls-q4`], [8, `${profile}/ls-q8`]], '#f59e0b');
    series([[1, `${profile}/ours-c1`], [4, `${profile}/ours-c4`], [8, `${profile}/ours-c8`]], '#2563eb');
    if (profile === 'far') series([[4, 'far-cuts/ours-c4'], [8, 'far-cuts/ours-c8']], '#2563eb', true);
    const put = byId[`${profile}/put`];
    if (put !== undefined) {
      const x = X(1);
      const y = Y(put.metrics.mibPerS.median);
      out.push(`<path d="M ${x.toFixed(1)} ${(y - 5).toFixed(1)} l 5 5 l -5 5 l -5 -5 z" fill="#6b7280"/>`);
    }
  });
  const legendY = top + H + 52;
  const legend = [
    ['#2563eb', 'ofauth-upload-stream (solid; dashed: far with a cut per 64 MiB)'],
    ['#f59e0b', '@aws-sdk/lib-storage'],
    ['#6b7280', 'one undici PUT of the stream (◆)'],
    ['#dc2626', 'bound: min(aggregate, concurrency × per connection)'],
  ];
  legend.forEach(([color, text], k) => {
    const x = 12 + (k % 2) * 430;
    const y = legendY + Math.floor(k / 2) * 18;
    out.push(`<rect x="${x}" y="${y - 9}" width="14" height="4" fill="${color}"/>`);
    out.push(`<text x="${x + 20}" y="${y - 3}" fill="#374151" font-size="11">${esc(text)}</text>`);
  });
  const m = report.machine;
  out.push(`<text x="12" y="${legendY + 46}" fill="#6b7280" font-size="10">${esc(`${report.generatedAt.slice(0, 16).replace('T', ' ')} UTC; ${m.cpu}, ${m.cores} cores; Node ${m.node}; commit ${m.commit}. Bars: min–max of the rounds.`)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
