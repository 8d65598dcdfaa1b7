/**
 * gRPC adapter of the profiler: maps modelopt.v1.ProfilerService onto the domain modules of
 * this folder. Thin on purpose: no measurement or parsing logic here.
 */
import {
  ProfilerServiceService,
  TrtexecLogKind,
  type LatencyStats as LatencyStatsMsg,
  type ParseTrtexecLogResponse,
  type ProfileResponse,
} from '../../gen/modelopt/v1/profiler.js';
import { defineService, unary, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';
import { InvalidArgument, Unimplemented } from '../core/errors.js';
import { validateDeployment } from '../core/engine/deployment.js';
import { profileOrt } from './ort-profile.js';
import type { LatencyStats } from './stats.js';
import { parseTrtexecLog, type LogSection, type StatList, BUILD_SECTIONS, PROFILE_SECTIONS } from './trtexec-log.js';
import { mapTrtLayers } from './trt-layers.js';
import { profileTrt, TRT_PROFILE_DEFAULTS } from './trt-profile.js';

export type ProfilerDeps = ServiceDeps;

export const ORT_PROFILE_MEDIA_TYPE = 'application/vnd.onnxruntime.profile+json';
export const TRT_PROFILE_MEDIA_TYPE = 'application/vnd.nvidia.trtexec-profile+json';

/** Latency figures in ms (a trtexec list, or measured statistics) as the wire message; absent figures are 0. */
function statsMsg(l: StatList | LatencyStats, throughput = 0, iterations = 0): LatencyStatsMsg {
  return {
    minMs: l.min ?? 0, maxMs: l.max ?? 0, meanMs: l.mean ?? 0, medianMs: l.median ?? 0,
    p90Ms: l.p90 ?? 0, p95Ms: l.p95 ?? 0, p99Ms: l.p99 ?? 0, throughput, iterations,
  };
}

function sectionsMsg(names: readonly string[], sections: LogSection[]): ParseTrtexecLogResponse {
  const out: ParseTrtexecLogResponse = { sections: [], numbers: {}, lists: {}, latencyMs: 0 };
  sections.forEach((s, i) => {
    if (!s.found) return;
    out.sections.push({ name: names[i]!.replace(/^=== | ===$/g, ''), fields: s.text });
    Object.assign(out.numbers, s.numbers);
    for (const [k, l] of Object.entries(s.lists)) out.lists[k] = statsMsg(l);
  });
  return out;
}

export function profilerService(deps: ProfilerDeps): ServiceRegistration<typeof ProfilerServiceService> {
  const store = deps.runtime.artifacts;
  return defineService(ProfilerServiceService, {
    profile: unary(async (req, ctx): Promise<ProfileResponse> => {
      const deployment = validateDeployment(
        Object.keys(req.deployment).length === 0 ? { runtime: 'ORT', version: '1.16' } : req.deployment,
      );
      if (req.inputs && req.inputs.uri) {
        throw new Unimplemented('profile: given inputs are not supported yet; omit `inputs` for random uniform [0,1) inputs');
      }
      const hasEngine = !!req.engine && !!req.engine.uri;
      const hasModel = !!req.model && !!req.model.uri;
      if (hasEngine === hasModel) throw new InvalidArgument('profile: set exactly one of `engine` (from trt-builder) or `model`');
      if (deployment.runtime === 'TRT') {
        if (!hasEngine) throw new InvalidArgument('profile: runtime TRT profiles an `engine` from trt-builder, not a `model`');
        const t = await profileTrt(await store.get(req.engine!), { layerwise: req.layerwise, nodeNames: req.nodeNames });
        const raw = t.rawProfileJson ? await store.put(Buffer.from(t.rawProfileJson), { mediaType: TRT_PROFILE_MEDIA_TYPE }) : undefined;
        return {
          latency: statsMsg(t.latencyMs, t.throughput, TRT_PROFILE_DEFAULTS.iterations),
          nodeTimes: t.layers.map((n) => ({ node: n.node, ms: n.ms, opType: '' })),
          opTypeTimes: [],
          ...(raw ? { rawProfile: raw } : {}),
          runtime: 'TRT',
        };
      }
      const bytes = await store.get(hasEngine ? req.engine! : req.model!);
      const p = await profileOrt(hasEngine ? { engine: bytes } : { onnx: bytes }, {
        layerwise: req.layerwise,
        keepTrace: req.layerwise,
        signal: ctx.signal,
      });
      const raw = p.rawTrace ? await store.put(Buffer.from(p.rawTrace), { mediaType: ORT_PROFILE_MEDIA_TYPE }) : undefined;
      return {
        latency: statsMsg(p.latencyMs, p.throughput, p.iterations),
        nodeTimes: p.nodes.map((n) => ({ node: n.name, ms: n.meanMs, opType: n.opType })),
        opTypeTimes: p.opTypes.map((o) => ({ opType: o.opType, ms: o.totalMs })),
        ...(raw ? { rawProfile: raw } : {}),
        runtime: 'ORT',
      };
    }),
    parseTrtexecLog: unary(async (req): Promise<ParseTrtexecLogResponse> => {
      const text = Buffer.from(req.log).toString('utf8');
      if (req.kind === TrtexecLogKind.TRTEXEC_LOG_KIND_BUILD) {
        const log = parseTrtexecLog(text, 'build');
        return sectionsMsg(BUILD_SECTIONS, [log.modelOptions, log.buildOptions]);
      }
      if (req.kind === TrtexecLogKind.TRTEXEC_LOG_KIND_PROFILE) {
        const log = parseTrtexecLog(text, 'profile');
        const out = sectionsMsg(PROFILE_SECTIONS, [log.performanceSummary, log.inferenceOptions, log.deviceInformation]);
        out.latencyMs = log.latencyMs;
        return out;
      }
      throw new InvalidArgument('parse_trtexec_log: kind must be BUILD or PROFILE');
    }),
    mapTrtLayers: unary(async (req) => {
      const times = mapTrtLayers(Buffer.from(req.profileJson).toString('utf8'), req.onnxNodeNames);
      return { nodeTimes: [...times.entries()].map(([node, ms]) => ({ node, ms, opType: '' })) };
    }),
  });
}
