/**
 * JobReport: everything the HTML report shows about one quantization job. Filled by the stages
 * (graph-analyzer → quantization decisions, calibrator → histograms, exporter → accuracy,
 * profiler → latency and layers) and rendered by `renderJobReport` into one self-contained page.
 * All fields are plain JSON (no classes, no typed arrays), so a report can be stored and re-rendered.
 */

export interface JobReport {
  /** Page title; defaults to "<model> — <mode> quantization report". */
  title?: string;
  job: JobInfo;
  /** One entry per graph node considered by the quantizer, in graph order. */
  quantization: QuantDecision[];
  /** Activation histograms of calibrated tensors, with the range the calibrator chose. */
  histograms: TensorHistogram[];
  /** Original vs quantized model on held-out data; absent when not compared. */
  accuracy?: AccuracyComparison;
  /** Latency of the original and the quantized model on the same runtime; absent when not profiled. */
  latency?: LatencyComparison;
  /** Free-form remarks (warnings, skipped stages). */
  notes?: string[];
}

export interface JobInfo {
  id: string;
  /** ISO-8601 time the job was created. */
  createdAt: string;
  model: { name: string; sha256?: string; sizeBytes?: number; opset?: number; nodes?: number };
  /** e.g. "int8", "fp8", "int4". */
  quantizeMode: string;
  /** e.g. "entropy", "max", "awq_clip". */
  calibrationMethod?: string;
  calibrationSamples?: number;
  /** Output artefact name, e.g. "mnist8.quant.onnx". */
  output?: string;
  /** Wall time per stage, ms, in stage order. */
  stageMs?: Record<string, number>;
}

export interface QuantDecision {
  node: string;
  opType: string;
  quantized: boolean;
  /** The rule that decided, e.g. "quantizable op", "excluded by name pattern", "non-quantizable partition". */
  rule: string;
  /** Human reason, e.g. "matches --op_types_to_exclude Softmax". */
  reason: string;
  /** e.g. "int8 per-channel weights / per-tensor activations". */
  precision?: string;
}

export interface TensorHistogram {
  tensor: string;
  /** n+1 increasing bin edges. */
  binEdges: number[];
  /** n counts. */
  counts: number[];
  /** The calibration range chosen for the tensor (e.g. [-amax, amax]). */
  range: { min: number; max: number };
  /** Method that chose the range, e.g. "entropy". */
  method: string;
}

export interface AccuracyComparison {
  /** Number of held-out samples compared (0 when unknown: not shown). */
  samples: number;
  outputs: OutputAccuracy[];
}

export interface OutputAccuracy {
  output: string;
  cosine: number;
  snrDb: number;
  maxAbsErr: number;
  /** Fraction 0..1 of samples whose arg-max agrees; absent for non-classification outputs. */
  top1Agreement?: number;
}

export interface LatencyStatsMs {
  min: number;
  max: number;
  mean: number;
  median: number;
  p90: number;
  p95: number;
  p99: number;
}

export interface LatencyRun {
  /** e.g. "ORT CPUExecutionProvider" or "TensorRT 10.3 fp16". */
  runtime: string;
  latencyMs: LatencyStatsMs;
  /** Inferences per second. */
  throughput: number;
  iterations: number;
  /** Slowest layers/nodes first. */
  layers: LayerTime[];
}

export interface LatencyComparison {
  original: LatencyRun;
  quantized: LatencyRun;
}

export interface LayerTime {
  name: string;
  opType: string;
  meanMs: number;
  /** Share of the run's total layer time, 0..1. */
  share: number;
}
