/** The Build use case: validate the deployment, dispatch on runtime, return a hashed engine. */
import { InvalidArgument } from '../core/errors.js';
import { validateDeployment, type Deployment } from './deployment.js';
import { buildOrtEngine } from './ort-build.js';
import { buildTrtEngine, type TrtBuildOptions } from './trt-build.js';
import { shapeProfiles, type DynamicShapes } from './shapes.js';
import { layersFromInspectorJson, layersFromOnnx, type EngineLayer } from './layers.js';
import { ENGINE_HEADER_BYTES } from './engine-header.js';

export interface BuildRequest {
  onnx: Uint8Array;
  /** Flat string map (SPEC §5): runtime, version, accelerator, precision, onnx_opset. */
  deployment: Readonly<Record<string, unknown>>;
  dynamicShapes?: DynamicShapes;
  timingCache?: Uint8Array;
  workspaceMiB?: number;
  verbose?: boolean;
}

export interface BuildResult {
  deployment: Deployment;
  /** 32-byte SHA-256 header ‖ engine. */
  engine: Uint8Array;
  /** Hex of the header (session-cache key). */
  sha256: string;
  /** TRT only: the timing cache to reuse next time; empty for ORT. */
  timingCache: Uint8Array;
  /** TRT only: IEngineInspector JSON; '' for ORT. */
  layerInfoJson: string;
  /** TRT: inspector layers; ORT: the optimised model's nodes. */
  layers: EngineLayer[];
  log: string[];
  buildMs: number;
}

export async function build(req: BuildRequest): Promise<BuildResult> {
  const deployment = validateDeployment(req.deployment);
  if (!(req.onnx instanceof Uint8Array) || req.onnx.length === 0) throw new InvalidArgument('onnx: empty model bytes');
  const t0 = performance.now();
  if (deployment.runtime === 'ORT') {
    if (req.dynamicShapes) shapeProfiles(req.dynamicShapes); // validated; ORT keeps the model's dynamic dims
    const built = await buildOrtEngine(req.onnx);
    return {
      deployment,
      engine: built.engine,
      sha256: built.sha256,
      timingCache: new Uint8Array(0),
      layerInfoJson: '',
      layers: layersFromOnnx(built.engine.subarray(ENGINE_HEADER_BYTES)),
      log: built.log,
      buildMs: performance.now() - t0,
    };
  }
  const opts: TrtBuildOptions = {
    ...(req.dynamicShapes ? { dynamicShapes: req.dynamicShapes } : {}),
    ...(req.timingCache && req.timingCache.length > 0 ? { timingCache: req.timingCache } : {}),
    ...(req.workspaceMiB !== undefined ? { workspaceMiB: req.workspaceMiB } : {}),
    ...(req.verbose !== undefined ? { verbose: req.verbose } : {}),
  };
  const built = await buildTrtEngine(req.onnx, deployment, opts);
  return {
    deployment,
    engine: built.engine,
    sha256: built.sha256,
    timingCache: built.timingCache,
    layerInfoJson: built.layerInfoJson,
    layers: layersFromInspectorJson(built.layerInfoJson),
    log: built.log.map((r) => `[${r.severity}] ${r.message}`),
    buildMs: performance.now() - t0,
  };
}
