export * from './plan.js';
export * from './state.js';
export * from './runner.js';
