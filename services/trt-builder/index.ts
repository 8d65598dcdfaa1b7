export * from './deployment.js';
export * from './engine-header.js';
export * from './shapes.js';
export * from './capabilities.js';
export * from './ort-build.js';
export * from './trt-build.js';
export * from './build.js';
export * from './layers.js';
export type { NativeTensorRt, NativeTrtBuildArgs, NativeTrtBuildResult, TensorRtAvailability } from './tensorrt-native.js';
