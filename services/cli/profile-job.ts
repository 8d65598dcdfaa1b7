/**
 * Latency of a model through the services: trt-builder builds the engine (runtime ORT here: the
 * model optimized by onnxruntime, with its SHA-256 header), the profiler times it with the
 * reference's rule and onnxruntime's per-node profile.
 */
import type { ArtifactRef } from '../../gen/modelopt/v1/common.js';
import type { BuildResult } from '../../gen/modelopt/v1/trt_builder.js';
import type { ProfileResponse } from '../../gen/modelopt/v1/profiler.js';
import { callUnary, callServerStream } from '../core/grpc/client.js';
import type { LatencyRun } from '../core/report/index.js';
import type { MeshClient } from './mesh-client.js';

const LONG = { timeoutMs: 60 * 60_000 };
export const ORT_DEPLOYMENT = { runtime: 'ORT', version: '1.16', accelerator: 'CPU', precision: 'fp32', onnx_opset: '13' };

export async function buildAndProfile(mesh: MeshClient, model: ArtifactRef, deployment: Record<string, string> = ORT_DEPLOYMENT): Promise<{ build: BuildResult; profile: ProfileResponse }> {
  let build: BuildResult | undefined;
  for await (const msg of callServerStream(mesh.trtBuilder, mesh.trtBuilder.build, { model, deployment }, LONG)) {
    if (msg.result) build = msg.result;
  }
  if (!build?.engine) throw new Error('trt-builder returned no engine');
  const profile = await callUnary(mesh.profiler, mesh.profiler.profile, { engine: build.engine, deployment, layerwise: true, nodeNames: [] }, LONG);
  return { build, profile };
}

/** The profile in the report's shape, slowest layers first. */
export function toLatencyRun(p: ProfileResponse, maxLayers = 20): LatencyRun {
  const l = p.latency!;
  const total = p.nodeTimes.reduce((a, n) => a + n.ms, 0) || 1;
  return {
    runtime: `ORT CPUExecutionProvider (${p.runtime})`,
    latencyMs: { min: l.minMs, max: l.maxMs, mean: l.meanMs, median: l.medianMs, p90: l.p90Ms, p95: l.p95Ms, p99: l.p99Ms },
    throughput: l.throughput,
    iterations: l.iterations,
    layers: [...p.nodeTimes]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, maxLayers)
      .map((n) => ({ name: n.node, opType: n.opType, meanMs: n.ms, share: n.ms / total })),
  };
}
