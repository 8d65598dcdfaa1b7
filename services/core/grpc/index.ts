/** The gRPC server kit and client helpers. */
export * from './handlers.js';
export * from './server.js';
export * from './client.js';
export * from './health.js';
export { toStatus, statusName, isGrpcError, ERROR_CLASS_KEY } from './status.js';
