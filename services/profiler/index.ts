export * from './ort-profile.js';
export * from './stats.js';
export * from './random-inputs.js';
export * from './trtexec-log.js';
export * from './trt-layers.js';
export * from './trt-profile.js';
