/**
 * Renders a JobReport into one self-contained HTML page: inline CSS, inline SVG charts, a few
 * lines of inline JS for table filtering, and a Content-Security-Policy that forbids any network.
 */
import { InvalidArgument } from '../errors.js';
import type {
  AccuracyComparison, JobReport, LatencyComparison, LatencyRun, LatencyStatsMs, LayerTime, QuantDecision, TensorHistogram,
} from './types.js';

const MAX_BARS = 120;
const PERCENTILES: Array<[keyof LatencyStatsMs, string]> = [
  ['min', 'min'], ['median', 'median'], ['mean', 'mean'], ['p90', 'p90'], ['p95', 'p95'], ['p99', 'p99'], ['max', 'max'],
];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Compact number formatting; NaN/∞ → "—". */
export function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(digits + 1)).toString();
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`);

function checkHistogram(h: TensorHistogram): void {
  if (h.counts.length === 0 || h.binEdges.length !== h.counts.length + 1) {
    throw new InvalidArgument(`report: histogram of "${h.tensor}" needs n counts and n+1 edges (got ${h.counts.length} and ${h.binEdges.length})`);
  }
  for (let i = 1; i < h.binEdges.length; i++) {
    if (!(h.binEdges[i]! >= h.binEdges[i - 1]!)) throw new InvalidArgument(`report: histogram of "${h.tensor}" has decreasing bin edges`);
  }
}

/** Merges consecutive bins so that at most `maxBars` remain. */
export function downsampleHistogram(edges: readonly number[], counts: readonly number[], maxBars = MAX_BARS): { edges: number[]; counts: number[] } {
  const k = Math.max(1, Math.ceil(counts.length / maxBars));
  if (k === 1) return { edges: [...edges], counts: [...counts] };
  const outEdges: number[] = [edges[0]!];
  const outCounts: number[] = [];
  for (let i = 0; i < counts.length; i += k) {
    let c = 0;
    for (let j = i; j < Math.min(i + k, counts.length); j++) c += counts[j]!;
    outCounts.push(c);
    outEdges.push(edges[Math.min(i + k, counts.length)]!);
  }
  return { edges: outEdges, counts: outCounts };
}

function histogramSvg(h: TensorHistogram, id: number): string {
  checkHistogram(h);
  const { edges, counts } = downsampleHistogram(h.binEdges, h.counts);
  const W = 380, H = 170, L = 8, R = 8, T = 10, B = 30;
  const lo = Math.min(edges[0]!, h.range.min);
  const hi = Math.max(edges[edges.length - 1]!, h.range.max);
  const span = hi - lo || 1;
  const x = (v: number) => L + ((v - lo) / span) * (W - L - R);
  const maxLog = Math.log1p(Math.max(...counts, 0));
  const y = (c: number) => (maxLog > 0 ? (Math.log1p(c) / maxLog) * (H - T - B) : 0);
  const total = counts.reduce((a, b) => a + b, 0);
  let outside = 0;
  h.counts.forEach((c, i) => {
    if (h.binEdges[i + 1]! <= h.range.min || h.binEdges[i]! >= h.range.max) outside += c;
  });
  const bars = counts
    .map((c, i) => {
      const x0 = x(edges[i]!);
      const w = Math.max(0.8, x(edges[i + 1]!) - x0 - 0.4);
      const hgt = Math.max(c > 0 ? 1 : 0, y(c));
      const inRange = edges[i + 1]! > h.range.min && edges[i]! < h.range.max;
      return `<rect class="bar${inRange ? '' : ' clipped'}" x="${x0.toFixed(2)}" y="${(H - B - hgt).toFixed(2)}" width="${w.toFixed(2)}" height="${hgt.toFixed(2)}"><title>[${fmt(edges[i])}, ${fmt(edges[i + 1])}): ${c}</title></rect>`;
    })
    .join('');
  const rx0 = x(h.range.min), rx1 = x(h.range.max);
  return `<figure class="chart hist" id="hist-${id}">
<figcaption><code>${escapeHtml(h.tensor)}</code></figcaption>
<svg class="hist-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="activation histogram of ${escapeHtml(h.tensor)}">
<rect class="range" x="${rx0.toFixed(2)}" y="${T}" width="${Math.max(1, rx1 - rx0).toFixed(2)}" height="${H - T - B}"/>
${bars}
<line class="range-edge" x1="${rx0.toFixed(2)}" x2="${rx0.toFixed(2)}" y1="${T - 4}" y2="${H - B}"/>
<line class="range-edge" x1="${rx1.toFixed(2)}" x2="${rx1.toFixed(2)}" y1="${T - 4}" y2="${H - B}"/>
<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>
<text class="tick" x="${L}" y="${H - B + 14}">${fmt(lo)}</text>
<text class="tick" x="${W - R}" y="${H - B + 14}" text-anchor="end">${fmt(hi)}</text>
<text class="tick range-label" x="${((rx0 + rx1) / 2).toFixed(2)}" y="${H - 4}" text-anchor="middle">range [${fmt(h.range.min)}, ${fmt(h.range.max)}]</text>
</svg>
<div class="caption">${escapeHtml(h.method)} · ${total.toLocaleString('en-US')} values · ${pct(total > 0 ? outside / total : 0)} outside the range · log-scaled counts</div>
</figure>`;
}

function quantTable(rows: readonly QuantDecision[]): string {
  const q = rows.filter((r) => r.quantized).length;
  const byOp = new Map<string, { total: number; quantized: number }>();
  for (const r of rows) {
    const cur = byOp.get(r.opType) ?? { total: 0, quantized: 0 };
    cur.total++;
    if (r.quantized) cur.quantized++;
    byOp.set(r.opType, cur);
  }
  const opRows = [...byOp.entries()]
    .sort((a, b) => b[1].total - a[1].total)
    .map(([op, c]) => `<tr><td>${escapeHtml(op)}</td><td class="num">${c.quantized}</td><td class="num">${c.total}</td></tr>`)
    .join('');
  const body = rows
    .map(
      (r) => `<tr data-q="${r.quantized ? 1 : 0}"><td><code>${escapeHtml(r.node)}</code></td><td>${escapeHtml(r.opType)}</td>` +
        `<td><span class="badge ${r.quantized ? 'yes' : 'no'}">${r.quantized ? 'yes' : 'no'}</span></td>` +
        `<td>${escapeHtml(r.rule)}</td><td>${escapeHtml(r.reason)}${r.precision ? ` <span class="muted">(${escapeHtml(r.precision)})</span>` : ''}</td></tr>`,
    )
    .join('\n');
  return `<section id="quantization"><h2>What was quantized and why</h2>
<p>${q} of ${rows.length} nodes quantized.</p>
<table class="compact"><thead><tr><th>op type</th><th>quantized</th><th>nodes</th></tr></thead><tbody>${opRows}</tbody></table>
<div class="controls"><input id="q-filter" type="search" placeholder="filter by node, op, rule or reason"> <label><input id="q-only" type="checkbox"> quantized only</label> <span id="q-count" class="muted"></span></div>
<table id="q-table"><thead><tr><th>node</th><th>op type</th><th>quantized</th><th>rule</th><th>reason</th></tr></thead><tbody>
${body}
</tbody></table></section>`;
}

function accuracySection(acc: AccuracyComparison): string {
  const cls = (cos: number) => (cos >= 0.999 ? 'good' : cos >= 0.99 ? 'warn' : 'bad');
  const rows = acc.outputs
    .map(
      (o) => `<tr><td><code>${escapeHtml(o.output)}</code></td><td class="num ${cls(o.cosine)}">${o.cosine.toFixed(5)}</td>` +
        `<td class="num">${fmt(o.snrDb)} dB</td><td class="num">${fmt(o.maxAbsErr)}</td><td class="num">${pct(o.top1Agreement)}</td></tr>`,
    )
    .join('');
  return `<section id="accuracy"><h2>Accuracy: original vs quantized</h2>
${acc.samples > 0 ? `<p>${acc.samples} held-out samples.</p>` : ''}
<table><thead><tr><th>output</th><th>cosine</th><th>SNR</th><th>max abs err</th><th>top-1 agreement</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function latencyChart(lat: LatencyComparison): string {
  const W = 560, H = 220, L = 44, R = 10, T = 16, B = 36;
  const vals = PERCENTILES.flatMap(([k]) => [lat.original.latencyMs[k], lat.quantized.latencyMs[k]]).filter(Number.isFinite);
  const top = Math.max(...vals, 1e-9) * 1.1;
  const gw = (W - L - R) / PERCENTILES.length;
  const bw = gw * 0.36;
  const y = (v: number) => (Number.isFinite(v) ? (v / top) * (H - T - B) : 0);
  const bars = PERCENTILES.map(([k, label], i) => {
    const gx = L + i * gw + gw * 0.12;
    const o = lat.original.latencyMs[k], qv = lat.quantized.latencyMs[k];
    return `<rect class="bar orig" x="${gx.toFixed(2)}" y="${(H - B - y(o)).toFixed(2)}" width="${bw.toFixed(2)}" height="${Math.max(1, y(o)).toFixed(2)}"><title>original ${label}: ${fmt(o)} ms</title></rect>` +
      `<rect class="bar quant" x="${(gx + bw).toFixed(2)}" y="${(H - B - y(qv)).toFixed(2)}" width="${bw.toFixed(2)}" height="${Math.max(1, y(qv)).toFixed(2)}"><title>quantized ${label}: ${fmt(qv)} ms</title></rect>` +
      `<text class="tick" x="${(gx + bw).toFixed(2)}" y="${H - B + 14}" text-anchor="middle">${label}</text>`;
  }).join('');
  const grid = [0, 0.5, 1].map((f) => {
    const v = (top / 1.1) * f;
    const yy = H - B - y(v);
    return `<line class="grid" x1="${L}" x2="${W - R}" y1="${yy.toFixed(2)}" y2="${yy.toFixed(2)}"/><text class="tick" x="${L - 4}" y="${(yy + 4).toFixed(2)}" text-anchor="end">${fmt(v)}</text>`;
  }).join('');
  return `<figure class="chart latency"><svg class="latency-svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="latency percentiles, ms">
${grid}${bars}
<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>
<rect class="bar orig" x="${L}" y="${H - 12}" width="10" height="10"/><text class="tick" x="${L + 14}" y="${H - 3}">original (${escapeHtml(lat.original.runtime)})</text>
<rect class="bar quant" x="${L + 250}" y="${H - 12}" width="10" height="10"/><text class="tick" x="${L + 264}" y="${H - 3}">quantized (${escapeHtml(lat.quantized.runtime)})</text>
</svg><figcaption>latency percentiles, ms</figcaption></figure>`;
}

function layersTable(title: string, run: LatencyRun, n = 10): string {
  const top = [...run.layers].sort((a, b) => b.meanMs - a.meanMs).slice(0, n);
  const max = Math.max(...top.map((l) => l.meanMs), 1e-12);
  const rows = top
    .map(
      (l: LayerTime) => `<tr><td><code>${escapeHtml(l.name)}</code></td><td>${escapeHtml(l.opType)}</td><td class="num">${fmt(l.meanMs)}</td><td class="num">${pct(l.share)}</td>` +
        `<td class="barcell"><svg class="layer-bar" viewBox="0 0 120 10" width="120" height="10"><rect class="bar" x="0" y="1" width="${Math.max(1, (l.meanMs / max) * 120).toFixed(2)}" height="8"/></svg></td></tr>`,
    )
    .join('');
  return `<div class="layers"><h3>${escapeHtml(title)} <span class="muted">(${escapeHtml(run.runtime)})</span></h3>
<table><thead><tr><th>layer</th><th>op</th><th>ms/run</th><th>share</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">no per-layer data</td></tr>'}</tbody></table></div>`;
}

function latencySection(lat: LatencyComparison): string {
  const rows = PERCENTILES.map(([k, label]) => {
    const o = lat.original.latencyMs[k], qv = lat.quantized.latencyMs[k];
    return `<tr><td>${label}</td><td class="num">${fmt(o)}</td><td class="num">${fmt(qv)}</td><td class="num">${fmt(o / qv)}×</td></tr>`;
  }).join('');
  return `<section id="latency"><h2>Latency: original vs quantized</h2>
<table><thead><tr><th>ms</th><th>original</th><th>quantized</th><th>speed-up</th></tr></thead><tbody>${rows}
<tr><td>throughput (inf/s)</td><td class="num">${fmt(lat.original.throughput)}</td><td class="num">${fmt(lat.quantized.throughput)}</td><td class="num">${fmt(lat.quantized.throughput / lat.original.throughput)}×</td></tr>
<tr><td>iterations</td><td class="num">${lat.original.iterations}</td><td class="num">${lat.quantized.iterations}</td><td></td></tr></tbody></table>
${latencyChart(lat)}
<h2 id="slowest">Slowest layers</h2>
<div class="two">${layersTable('original', lat.original)}${layersTable('quantized', lat.quantized)}</div></section>`;
}

const CSS = `
:root{--fg:#1d2430;--muted:#6b7480;--bg:#fff;--line:#e3e6ea;--accent:#76b900;--orig:#8c9bab;--quant:#76b900;--bad:#c62828;--warn:#b26a00}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--accent);padding-bottom:4px}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f7f9;font-weight:600}
table.compact{width:auto}td.num{text-align:right;font-variant-numeric:tabular-nums}code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.muted{color:var(--muted)}.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:12px}.badge.yes{background:#e6f4d0;color:#3d6100}.badge.no{background:#eceff2;color:#555}
.good{color:#3d6100}.warn{color:var(--warn)}.bad{color:var(--bad)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:170px}.card b{display:block;font-size:20px}
.grid-h{display:grid;grid-template-columns:repeat(auto-fill,minmax(390px,1fr));gap:14px}figure{margin:0}figure.chart{border:1px solid var(--line);border-radius:8px;padding:8px}
figcaption{font-size:13px;margin-bottom:4px}.caption{font-size:12px;color:var(--muted)}
svg.hist-svg{width:100%;height:auto}svg .bar{fill:var(--accent)}svg .bar.clipped{fill:#d0d4d9}svg .bar.orig{fill:var(--orig)}svg .bar.quant{fill:var(--quant)}svg .range{fill:rgba(118,185,0,.10)}
svg .range-edge{stroke:#c62828;stroke-width:1.5;stroke-dasharray:4 2}svg .axis{stroke:#9aa3ad}svg .grid{stroke:#eef0f2}svg .tick{font-size:10px;fill:var(--muted)}
.controls{margin:8px 0}.controls input[type=search]{width:340px;padding:4px 8px}.two{display:grid;grid-template-columns:1fr 1fr;gap:16px}.layers table{font-size:13px}
@media (max-width:900px){.two{grid-template-columns:1fr}}`;

const SCRIPT = `(function(){
var f=document.getElementById('q-filter'),o=document.getElementById('q-only'),c=document.getElementById('q-count'),t=document.getElementById('q-table');
if(!f||!o||!t)return;var rows=Array.prototype.slice.call(t.tBodies[0].rows);
function apply(){var s=f.value.toLowerCase(),n=0;rows.forEach(function(r){var ok=(!o.checked||r.getAttribute('data-q')==='1')&&(!s||r.textContent.toLowerCase().indexOf(s)>=0);r.style.display=ok?'':'none';if(ok)n++;});if(c)c.textContent=n+' of '+rows.length+' shown';}
f.addEventListener('input',apply);o.addEventListener('change',apply);apply();})();`;

/** The whole page. Throws InvalidArgument for malformed histograms. */
export function renderJobReport(report: JobReport): string {
  const j = report.job;
  const title = report.title ?? `${j.model.name} — ${j.quantizeMode} quantization report`;
  const q = report.quantization.filter((r) => r.quantized).length;
  const minCos = report.accuracy && report.accuracy.outputs.length > 0 ? Math.min(...report.accuracy.outputs.map((o) => o.cosine)) : undefined;
  const speedup = report.latency ? report.latency.original.latencyMs.mean / report.latency.quantized.latencyMs.mean : undefined;
  const meta: Array<[string, string]> = [
    ['job', j.id], ['created', j.createdAt], ['model', j.model.name],
    ...(j.model.sha256 ? [['sha256', j.model.sha256] as [string, string]] : []),
    ...(j.model.sizeBytes !== undefined ? [['size', `${(j.model.sizeBytes / 2 ** 20).toFixed(2)} MiB`] as [string, string]] : []),
    ...(j.model.opset !== undefined ? [['opset', String(j.model.opset)] as [string, string]] : []),
    ['mode', j.quantizeMode],
    ...(j.calibrationMethod ? [['calibration', `${j.calibrationMethod}${j.calibrationSamples !== undefined ? `, ${j.calibrationSamples} samples` : ''}`] as [string, string]] : []),
    ...(j.output ? [['output', j.output] as [string, string]] : []),
  ];
  const stages = j.stageMs
    ? `<table class="compact"><thead><tr><th>stage</th><th>ms</th></tr></thead><tbody>${Object.entries(j.stageMs).map(([s, ms]) => `<tr><td>${escapeHtml(s)}</td><td class="num">${fmt(ms)}</td></tr>`).join('')}</tbody></table>`
    : '';
  const hist = report.histograms.length > 0
    ? `<section id="histograms"><h2>Activation histograms</h2><p class="muted">Bars: calibration histogram (log-scaled counts). Shaded band and dashed lines: the chosen range; grey bars fall outside it.</p><div class="grid-h">${report.histograms.map((h, i) => histogramSvg(h, i)).join('\n')}</div></section>`
    : '';
  const notes = report.notes && report.notes.length > 0
    ? `<section id="notes"><h2>Notes</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1>
<table class="compact meta"><tbody>${meta.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(v)}</code></td></tr>`).join('')}</tbody></table>
<div class="cards"><div class="card">nodes quantized<b>${q} / ${report.quantization.length}</b></div>
<div class="card">min output cosine<b>${minCos === undefined ? '—' : minCos.toFixed(4)}</b></div>
<div class="card">mean latency speed-up<b>${speedup === undefined ? '—' : `${fmt(speedup)}×`}</b></div>
<div class="card">tensors calibrated<b>${report.histograms.length}</b></div></div>
${stages}</header>
<main>
${quantTable(report.quantization)}
${hist}
${report.accuracy ? accuracySection(report.accuracy) : ''}
${report.latency ? latencySection(report.latency) : ''}
${notes}
</main>
<footer class="muted"><p>Generated by ModelOpt mesh. Self-contained page: no network access.</p></footer>
<script>${SCRIPT}</script>
</body></html>
`;
}
