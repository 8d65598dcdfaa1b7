/** Public surface of the graph analyzer's domain modules (no gRPC). */
export { prepare, prepareFile, checkModel, type PrepareOptions, type PrepareResult } from './prepare.js';
export { analyze, weightShape, type AnalyzeOptions, type AnalysisDetail } from './analyze.js';
export { convertToOpset13, defaultDomainOpset, TARGET_OPSET } from './opset-convert.js';
export { nameNodes, type RenamedNode } from './naming.js';
export { duplicateSharedWeights, type DuplicatedWeight } from './shared-weights.js';
export { modelInputs, batchSize, type InputShape } from './io.js';
export {
  INT8_DEFAULT_OP_TYPES,
  INT8_ORT130_OP_TYPES,
  FP8_DEFAULT_OP_TYPES,
  INT4_DEFAULT_OP_TYPES,
  defaultQuantizableOpTypes,
} from './op-types.js';
