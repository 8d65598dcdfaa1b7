/**
 * Prepare + Analyze on synthetic graphs built in memory: repeated ResNet bottleneck blocks (Conv/BN/Relu with a
 * residual Add) and repeated transformer blocks (written-out LayerNorm, attention MatMuls, GELU MLP). Prints the time
 * per size, the ratio for each doubling of the graph (target ≤ 2.2×, i.e. no quadratic pass), the 100k-node time
 * (target < 1 s) and the heap after the 1M-node runs (target < 2 GB). Each time is the best of 3 runs at every size (this shared 2-vCPU machine moves a single run by 10-20 %).
 *
 * Run: node --expose-gc --import tsx bench/analyzer.bench.ts [--max 1000000]
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { buildSynthetic, type Family } from './synthetic-graphs.js';
import { prepare } from '../services/graph-analyzer/prepare.js';
import { analyze } from '../services/graph-analyzer/analyze.js';

// GC pauses inside the timed window, to show which part of a doubling ratio is the collector's
const gcPauses: PerformanceEntry[] = [];
new PerformanceObserver((list) => gcPauses.push(...list.getEntries())).observe({ entryTypes: ['gc'] });
const gcMsBetween = async (a: number, b: number): Promise<number> => {
  await new Promise((r) => setTimeout(r, 20)); // let the observer deliver
  return gcPauses.filter((e) => e.startTime >= a && e.startTime < b).reduce((s, e) => s + e.duration, 0);
};

async function timeOnce(family: Family, n: number): Promise<{ nodes: number; prepareMs: number; analyzeMs: number; totalMs: number; gcMs: number; selected: number }> {
  const model = buildSynthetic(family, n);
  const nodes = model.graph!.node.length;
  // settle the heap after building the input, so that the collector's debt from building it (a major GC of
  // the new ~1 GB model heap at 1M nodes) is not billed to Prepare
  gc?.();
  const t0 = performance.now();
  prepare(model);
  const t1 = performance.now();
  const r = analyze(model, { quantizeMode: 'int8' });
  const t2 = performance.now();
  return { nodes, prepareMs: t1 - t0, analyzeMs: t2 - t1, totalMs: t2 - t0, gcMs: await gcMsBetween(t0, t2), selected: r.quantizableNodes.length };
}

/** Best of `reps` runs (each on a freshly built graph, timed after a full GC when exposed). */
async function time(family: Family, n: number, reps: number): ReturnType<typeof timeOnce> {
  let best: Awaited<ReturnType<typeof timeOnce>> | undefined;
  for (let k = 0; k < reps; k++) {
    const r = await timeOnce(family, n);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    if (!best || r.totalMs < best.totalMs) best = r;
  }
  return best!;
}

const gc = (globalThis as { gc?: () => void }).gc;
let peakHeap = 0;
const maxArg = process.argv.indexOf('--max');
const max = maxArg > 0 ? Number(process.argv[maxArg + 1]) : 1_000_000;
const sizes = [10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000].filter((s) => s <= max);
for (const family of ['resnet', 'transformer'] as Family[]) {
  await time(family, 2000, 2); // warm-up (JIT)
  const rows: Awaited<ReturnType<typeof time>>[] = [];
  for (const s of sizes) {
    const r = await time(family, s, 3);
    rows.push(r);
    const prev = rows.find((x) => Math.abs(x.nodes * 2 - r.nodes) < r.nodes * 0.01);
    const ratio = prev
      ? ` doubling ×${(r.totalMs / prev.totalMs).toFixed(2)} (target ≤ 2.2; ×${((r.totalMs - r.gcMs) / (prev.totalMs - prev.gcMs)).toFixed(2)} without GC pauses)`
      : '';
    console.log(`${family.padEnd(11)} ${String(r.nodes).padStart(8)} nodes  prepare ${r.prepareMs.toFixed(0).padStart(6)} ms  analyze ${r.analyzeMs.toFixed(0).padStart(6)} ms  total ${r.totalMs.toFixed(0).padStart(6)} ms (GC ${r.gcMs.toFixed(0).padStart(5)} ms)  selected ${r.selected}${ratio}`);
  }
  const at100k = rows.find((r) => r.nodes >= 100_000 && r.nodes < 101_000);
  if (at100k) console.log(`${family}: 100k nodes in ${at100k.totalMs.toFixed(0)} ms (target < 1000 ms) ${at100k.totalMs < 1000 ? 'OK' : 'OVER'}`);
}
console.log(`peak heap used ${(peakHeap / 2 ** 20).toFixed(0)} MiB (target < 2048 MiB)`);
