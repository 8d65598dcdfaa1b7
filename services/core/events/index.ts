export * from './types.js';
export { KvConflictError, InvalidSubjectError } from './errors.js';
export {
  JOBS_PREFIX,
  WORK_PREFIX,
  jobSubject,
  jobEventsPattern,
  workSubject,
  parseJobSubject,
  subjectMatches,
  assertSubject,
  assertPattern,
  assertToken,
  kindToProto,
  kindFromProto,
} from './subjects.js';
export { MemoryEventBus, MemoryKeyValueStore, type MemoryEventBusOptions } from './memory-bus.js';
export { NatsEventBus, NatsKeyValueStore, JOBS_STREAM, WORK_STREAM, JOBS_KV_BUCKET, type NatsEventBusOptions } from './nats-bus.js';
export { ProgressReporter, type ProgressReporterOptions } from './progress.js';
export { createEventBus, type EventBusConfig } from './factory.js';
