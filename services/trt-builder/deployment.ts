export * from '../core/engine/deployment.js';
