/**
 * gRPC adapter of the TensorRT builder: maps modelopt.v1.TrtBuilderService onto the domain
 * modules of this folder. Thin on purpose: no build logic here.
 */
import {
  TrtBuilderServiceService,
  type BuildRequest as BuildRequestMsg,
  type BuildResponse,
  type CapabilitiesResponse,
  type DynamicShapes as DynamicShapesMsg,
} from '../../gen/modelopt/v1/trt_builder.js';
import type { TensorShape } from '../../gen/modelopt/v1/common.js';
import { defineService, serverStream, unary, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';
import { InvalidArgument } from '../core/errors.js';
import { capabilities } from './capabilities.js';
import { build } from './build.js';
import { RUNTIMES } from './deployment.js';
import { formatShapeSpec, type DynamicShapes } from './shapes.js';

export type TrtBuilderDeps = ServiceDeps;

export const ENGINE_MEDIA_TYPE = 'application/vnd.nvidia.tensorrt-engine';
export const ORT_ENGINE_MEDIA_TYPE = 'application/vnd.modelopt.ort-engine';
export const TIMING_CACHE_MEDIA_TYPE = 'application/vnd.nvidia.tensorrt-timing-cache';

function shapeSpec(shapes: TensorShape[], which: string): string {
  for (const s of shapes) {
    if (s.dims.some((d) => d < 0)) throw new InvalidArgument(`dynamic_shapes.${which}: "${s.name}" has a negative dimension`);
  }
  return formatShapeSpec(Object.fromEntries(shapes.map((s) => [s.name, s.dims])));
}

function dynamicShapes(msg: DynamicShapesMsg | undefined): DynamicShapes | undefined {
  if (!msg || (msg.min.length === 0 && msg.opt.length === 0 && msg.max.length === 0)) return undefined;
  return { min: shapeSpec(msg.min, 'min'), opt: shapeSpec(msg.opt, 'opt'), max: shapeSpec(msg.max, 'max') };
}

export function trtBuilderService(deps: TrtBuilderDeps): ServiceRegistration<typeof TrtBuilderServiceService> {
  const store = deps.runtime.artifacts;
  return defineService(TrtBuilderServiceService, {
    capabilities: unary(async (): Promise<CapabilitiesResponse> => {
      const caps = await capabilities();
      return {
        cpu: true,
        cuda: caps.cuda,
        tensorrt: caps.tensorrt.present,
        tensorrtVersion: caps.tensorrt.version,
        devices: caps.devices.map((d) => ({
          index: d.index,
          name: d.name,
          totalMemoryBytes: d.memoryBytes,
          computeCapability: '',
        })),
        runtimes: [...RUNTIMES],
      };
    }),
    build: serverStream(async function* (req: BuildRequestMsg, ctx): AsyncGenerator<BuildResponse> {
      if (!req.model || !req.model.uri) throw new InvalidArgument('build: no model artifact given');
      yield { progress: { fraction: 0, message: `reading ${req.model.uri}`, done: 0, total: 3 } };
      const onnx = await store.get(req.model);
      const timingCache = req.timingCache && req.timingCache.uri ? await store.get(req.timingCache) : undefined;
      ctx.throwIfAborted();
      const runtime = req.deployment['runtime'] ?? '';
      yield { progress: { fraction: 0.1, message: `building (${runtime || 'no runtime'})`, done: 1, total: 3 } };
      const shapes = dynamicShapes(req.dynamicShapes);
      const res = await build({
        onnx,
        deployment: req.deployment,
        ...(shapes ? { dynamicShapes: shapes } : {}),
        ...(timingCache ? { timingCache } : {}),
      });
      ctx.throwIfAborted();
      yield { progress: { fraction: 0.9, message: 'storing the engine', done: 2, total: 3 } };
      const engine = await store.put(res.engine, {
        mediaType: res.deployment.runtime === 'TRT' ? ENGINE_MEDIA_TYPE : ORT_ENGINE_MEDIA_TYPE,
      });
      const cacheRef = res.timingCache.length > 0 ? await store.put(res.timingCache, { mediaType: TIMING_CACHE_MEDIA_TYPE }) : undefined;
      yield {
        result: {
          engine,
          layers: res.layers.map((l) => ({ name: l.name, layerType: l.layerType, precision: l.precision, detailJson: l.detailJson })),
          buildLog: res.log.join('\n'),
          ...(cacheRef ? { timingCache: cacheRef } : {}),
          buildSeconds: res.buildMs / 1e3,
        },
      };
    }),
  });
}
