export * from '../core/engine/header.js';
