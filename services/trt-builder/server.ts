/**
 * gRPC adapter of the TensorRT builder: maps modelopt.v1.TrtBuilderService onto the domain
 * modules of this folder. Thin on purpose: no build logic here.
 */
import { TrtBuilderServiceService } from '../../gen/modelopt/v1/trt_builder.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type TrtBuilderDeps = ServiceDeps;

export function trtBuilderService(_deps: TrtBuilderDeps): ServiceRegistration<typeof TrtBuilderServiceService> {
  return defineService(TrtBuilderServiceService, {
    capabilities: unimplemented('TrtBuilder.Capabilities is not wired to the domain module yet'),
    build: unimplemented('TrtBuilder.Build is not wired to the domain module yet'),
  });
}
