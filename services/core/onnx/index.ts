export * from './proto.js';
export * from './dtype.js';
export * from './model.js';
export * from './splice.js';
export * from './tensor.js';
export * from './graph.js';
export * from './opset.js';
