/**
 * Domain types that travel between stages (graph-analyzer → calibrator → quantizer → exporter).
 * Services never import each other; they share these shapes through core and convert them to and
 * from protobuf in their server.ts.
 */

export const QUANTIZE_MODES = [
  'int8',
  'fp8',
  'int4_rtn',
  'int4_rtn_dq',
  'int4_rtn_trt',
  'int4_rtn_trt_dq',
  'int4_awq_clip',
  'int4_awq_clip_trt',
] as const;
export type QuantizeMode = (typeof QUANTIZE_MODES)[number];

export const CALIBRATION_METHODS = ['entropy', 'minmax', 'percentile', 'distribution', 'torch_entropy', 'torch_mse', 'torch_percentile'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** Every option of the reference command line (python -m modelopt.onnx.quantization). */
export interface QuantizeOptions {
  quantizeMode: QuantizeMode;
  calibrationMethod: CalibrationMethod;
  opTypesToQuantize: string[];
  opTypesToExclude: string[];
  /** Regular expressions matched at the start of node names. */
  nodesToQuantize: string[];
  nodesToExclude: string[];
  useExternalDataFormat: boolean;
  keepIntermediateFiles: boolean;
  outputPath?: string;
  verbose: boolean;
  /** INT4 block length along Cin (default 128). */
  int4BlockSize?: number;
}

export const DEFAULT_QUANTIZE_OPTIONS: QuantizeOptions = {
  quantizeMode: 'int8',
  calibrationMethod: 'entropy',
  opTypesToQuantize: [],
  opTypesToExclude: [],
  nodesToQuantize: [],
  nodesToExclude: [],
  useExternalDataFormat: false,
  keepIntermediateFiles: false,
  verbose: false,
};

/** An input edge that must stay unquantized: tensor `tensor` from `producer` into `consumer`. */
export interface NoQuantizeEdge {
  producer: string;
  consumer: string;
  tensor: string;
}

/** Why the analyzer kept or dropped a node. */
export interface NodeDecision {
  node: string;
  opType: string;
  quantized: boolean;
  /** Short rule id, e.g. "cask-head", "kgen-head", "output-layer-skip", "excluded-op-type". */
  rule: string;
  /** A sentence a user can read. */
  reason: string;
}

export interface AnalysisResult {
  /** Names of the nodes to quantize (inputs get Q/DQ), in graph order. */
  quantizableNodes: string[];
  noQuantizeEdges: NoQuantizeEdge[];
  decisions: NodeDecision[];
  /** Activation tensors whose ranges the calibrator must compute. */
  tensorsToCalibrate: string[];
  opTypeCounts: Record<string, number>;
  partitions?: { kind: 'cask' | 'kgen' | 'pattern'; nodes: string[]; pattern?: string }[];
}

/** Calibrated range of one activation tensor. */
export interface TensorRange {
  tensor: string;
  /** Observed min and max over all samples. */
  min: number;
  max: number;
  /** The chosen range (thresholds), e.g. from entropy; symmetric quantization uses max(|low|,|high|). */
  low: number;
  high: number;
  /** For FP8 (distribution statistics): the scale to use directly, when the method gives one. */
  scale?: number;
  nanCount?: number;
  infCount?: number;
  /** Histogram for reports (counts and edges), when the method made one. */
  histogram?: { counts: number[]; edges: number[] };
  /** How unusual values were treated (NaN/Inf excluded, ranges near float32 max, no data...). */
  warnings?: string[];
}

export interface CalibrationTable {
  method: CalibrationMethod;
  samples: number;
  ranges: Record<string, TensorRange>;
  /** Notes about the run as a whole (random data used, reference quirks applied...). */
  notes?: string[];
}

/** Activations captured for INT4 AWQ: per weight tensor, [tokens, Cin] float32 rows. */
export interface CapturedActivation {
  tensor: string;
  shape: number[];
  data: Float32Array;
}
