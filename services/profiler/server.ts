/**
 * gRPC adapter of the profiler: maps modelopt.v1.ProfilerService onto the domain modules of
 * this folder. Thin on purpose: no measurement or parsing logic here.
 */
import { ProfilerServiceService } from '../../gen/modelopt/v1/profiler.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type ProfilerDeps = ServiceDeps;

export function profilerService(_deps: ProfilerDeps): ServiceRegistration<typeof ProfilerServiceService> {
  return defineService(ProfilerServiceService, {
    profile: unimplemented('Profiler.Profile is not implemented yet'),
    parseTrtexecLog: unimplemented('Profiler.ParseTrtexecLog is not implemented yet'),
    mapTrtLayers: unimplemented('Profiler.MapTrtLayers is not implemented yet'),
  });
}
