/**
 * One quantization job through the services, stage by stage over gRPC:
 * prepare → analyze → calibrate (or capture activations for AWQ) → quantize → export → compare.
 * Publishes started / progress / completed / failed events for each stage on the bus when one is
 * given (modelopt.jobs.<jobId>.<stage>.<kind>).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ArtifactRef } from '../../gen/modelopt/v1/common.js';
import type { AnalyzeResponse, PrepareResponse } from '../../gen/modelopt/v1/graph_analyzer.js';
import { CalibrationOptions, type CalibrationTable } from '../../gen/modelopt/v1/calibrator.js';
import type { QuantizeResult } from '../../gen/modelopt/v1/quantizer.js';
import type { ExportResponse, OutputComparison } from '../../gen/modelopt/v1/exporter.js';
import { callUnary, callServerStream } from '../core/grpc/client.js';
import { FailedPrecondition } from '../core/errors.js';
import { optionsToProto, methodToProto, modeToProto } from '../core/grpc/convert.js';
import { jobSubject } from '../core/events/subjects.js';
import type { EventBus, JobEvent } from '../core/events/types.js';
import type { MeshClient } from './mesh-client.js';
import type { QuantizeArgs } from './quantize-args.js';

export type Stage = 'upload' | 'prepare' | 'analyze' | 'calibrate' | 'quantize' | 'export' | 'compare';

export interface JobProgress {
  stage: Stage;
  fraction: number;
  message: string;
}

export interface QuantizeJobResult {
  jobId: string;
  /** The original model as uploaded. */
  modelRef: ArtifactRef;
  outputPath: string;
  prepare: PrepareResponse;
  analysis: AnalyzeResponse;
  calibration?: CalibrationTable;
  quantize: QuantizeResult;
  exported: ExportResponse;
  comparison: OutputComparison[];
  timingsMs: Partial<Record<Stage, number>>;
  warnings: string[];
}

export interface QuantizeJobOptions {
  args: QuantizeArgs;
  mesh: MeshClient;
  /** true when the services share this machine's filesystem (embedded mode). */
  localServices: boolean;
  bus?: EventBus;
  onProgress?: (p: JobProgress) => void;
  onWarning?: (w: string) => void;
  jobId?: string;
}

const LONG = { timeoutMs: 6 * 60 * 60_000 };

const isInt4 = (mode: string): boolean => mode.startsWith('int4');
const isAwq = (mode: string): boolean => mode.startsWith('int4_awq');

export async function runQuantizeJob(opts: QuantizeJobOptions): Promise<QuantizeJobResult> {
  const { args, mesh, bus } = opts;
  const jobId = opts.jobId ?? randomUUID();
  const timings: QuantizeJobResult['timingsMs'] = {};
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
    opts.onWarning?.(w);
  };
  const publish = async (stage: Stage, kind: JobEvent['kind'], extra: Partial<JobEvent> = {}): Promise<void> => {
    if (!bus) return;
    await bus.publish(jobSubject(jobId, stage, kind), { jobId, stage, kind, timestampMs: Date.now(), source: 'modelopt-cli', ...extra });
  };
  const progress = (stage: Stage, fraction: number, message: string): void => {
    opts.onProgress?.({ stage, fraction, message });
    void publish(stage, 'progress', { progress: { fraction, message } }).catch(() => undefined);
  };
  async function stage<T>(name: Stage, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    progress(name, 0, 'started');
    await publish(name, 'started');
    try {
      const out = await fn();
      timings[name] = performance.now() - t0;
      progress(name, 1, 'done');
      await publish(name, 'completed');
      return out;
    } catch (err) {
      const e = err as { code?: number; details?: string; message?: string };
      await publish(name, 'failed', { error: { code: String(e.code ?? 'INTERNAL'), reason: e.details ?? e.message ?? String(err), message: e.details ?? e.message ?? '' } }).catch(() => undefined);
      throw err;
    }
  }

  const { modelRef, dataRef, evalRef } = await stage('upload', async () => {
    const modelRef = await mesh.upload(args.onnxPath, 'application/onnx');
    const dataRef = args.calibrationDataPath ? await mesh.upload(args.calibrationDataPath, mediaTypeOf(args.calibrationDataPath)) : undefined;
    const evalRef = args.evalDataPath ? await mesh.upload(args.evalDataPath, mediaTypeOf(args.evalDataPath)) : dataRef;
    return { modelRef, dataRef, evalRef };
  });
  if (!dataRef && !isInt4(args.options.quantizeMode)) warn('No calibration data provided. Using random data for calibration.');
  const config = optionsToProto(args.options, dataRef);

  const modelName = path.basename(args.onnxPath).replace(/\.(onnx|pb)$/, '');
  const prepare = await stage('prepare', async () => {
    const res = await callUnary(mesh.analyzer, mesh.analyzer.prepare, { model: modelRef, config, modelName }, LONG);
    // keep_intermediate_files: the reference leaves <model>_opset13.onnx / <model>_named.onnx beside the output.
    if (args.options.keepIntermediateFiles) {
      for (const [i, ref] of res.intermediates.entries()) {
        await mesh.download(ref, path.join(path.dirname(args.outputPath), res.intermediateNames[i] ?? `${modelName}_intermediate_${i}.onnx`));
      }
    }
    return res;
  });
  const prepared = prepare.preparedModel ?? modelRef;
  const analysis = await stage('analyze', () => callUnary(mesh.analyzer, mesh.analyzer.analyze, { model: prepared, config }, LONG));
  if (analysis.selectedNodes.length === 0 && !isInt4(args.options.quantizeMode)) {
    // The reference returns without writing anything in this case; we say why instead.
    const total = analysis.decisions.length;
    throw new FailedPrecondition(
      `nothing to quantize: the analyzer selected none of the ${total} top-level nodes of ${args.onnxPath} for ${args.options.quantizeMode} ` +
        `(run \`modelopt analyze\` to see each node's rule; nodes inside If/Loop subgraphs are not considered, as in the reference); no output written`,
    );
  }

  let calibration: CalibrationTable | undefined;
  let activations: ArtifactRef | undefined;
  if (!isInt4(args.options.quantizeMode)) {
    calibration = await stage('calibrate', async () => {
      let table: CalibrationTable | undefined;
      const method = args.options.quantizeMode === 'fp8' ? methodToProto('distribution') : methodToProto(args.options.calibrationMethod);
      for await (const msg of callServerStream(
        mesh.calibrator,
        mesh.calibrator.calibrate,
        {
          model: prepared,
          tensorNames: analysis.tensorsToCalibrate,
          method,
          calibrationData: dataRef,
          shardStart: 0,
          shardEnd: 0,
          quantizeMode: modeToProto(args.options.quantizeMode),
          rangesOnly: false,
          globalRanges: [],
          // the report draws activation histograms: collect them even where the range alone decides
          ...(args.report ? { options: { ...CalibrationOptions.fromPartial({}), alwaysCollectHistograms: true } } : {}),
        },
        LONG,
      )) {
        if (msg.progress) progress('calibrate', msg.progress.fraction, msg.progress.message);
        if (msg.result) table = msg.result.table;
      }
      if (!table) throw new Error('calibrator returned no table');
      return table;
    });
  } else if (isAwq(args.options.quantizeMode)) {
    activations = await stage('calibrate', () => captureActivations(opts, prepared, analysis, dataRef));
  }

  const quantize = await stage('quantize', async () => {
    let result: QuantizeResult | undefined;
    for await (const msg of callServerStream(mesh.quantizer, mesh.quantizer.quantize, { model: prepared, config, analysis, calibration, activations }, LONG)) {
      if (msg.progress) progress('quantize', msg.progress.fraction, msg.progress.message);
      if (msg.result) result = msg.result;
    }
    if (!result?.quantizedModel) throw new Error('quantizer returned no model');
    for (const w of result.warnings) warn(w);
    return result;
  });

  const exported = await stage('export', async () => {
    const res = await callUnary(
      mesh.exporter,
      mesh.exporter.export,
      { model: quantize.quantizedModel, outputPath: opts.localServices ? args.outputPath : '', useExternalDataFormat: args.options.useExternalDataFormat },
      LONG,
    );
    if (!opts.localServices) {
      // Remote mesh: bring the written files home (model first, then its external data).
      const [model, ...rest] = res.written;
      if (model) await mesh.download(model, args.outputPath);
      for (const r of rest) await mesh.download(r, `${args.outputPath}_data`);
    }
    return res;
  });

  let comparison: OutputComparison[] = [];
  if (args.compare) {
    comparison = await stage('compare', async () => {
      const res = await callUnary(mesh.exporter, mesh.exporter.compare, { original: modelRef, quantized: quantize.quantizedModel, evalData: evalRef, maxBatches: 0 }, LONG);
      return res.outputs;
    });
  }
  return { jobId, modelRef, outputPath: args.outputPath, prepare, analysis, calibration, quantize, exported, comparison, timingsMs: timings, warnings };
}

function mediaTypeOf(file: string): string {
  return file.endsWith('.npz') ? 'application/x-npz' : file.endsWith('.npy') ? 'application/x-npy' : 'application/octet-stream';
}

/** AWQ: the calibrator streams the sampled activations of every weight's input; they travel to the quantizer as one artifact. */
async function captureActivations(opts: QuantizeJobOptions, model: ArtifactRef, analysis: AnalyzeResponse, data: ArtifactRef | undefined): Promise<ArtifactRef | undefined> {
  const { mesh } = opts;
  for await (const msg of callServerStream(mesh.calibrator, mesh.calibrator.captureActivations, { model, tensorNames: analysis.tensorsToCalibrate, calibrationData: data, maxTokens: 64 }, LONG)) {
    if (msg.progress) opts.onProgress?.({ stage: 'calibrate', fraction: msg.progress.fraction, message: msg.progress.message });
    if (msg.activations) return msg.activations;
  }
  throw new Error('calibrator returned no activations');
}
