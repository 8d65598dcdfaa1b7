/**
 * gRPC adapter of the exporter: maps modelopt.v1.ExporterService onto the domain modules of
 * this folder. Thin on purpose: no serialization logic here.
 */
import { ExporterServiceService } from '../../gen/modelopt/v1/exporter.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type ExporterDeps = ServiceDeps;

export function exporterService(_deps: ExporterDeps): ServiceRegistration<typeof ExporterServiceService> {
  return defineService(ExporterServiceService, {
    export: unimplemented('Exporter.Export is not implemented yet'),
    compare: unimplemented('Exporter.Compare is not implemented yet'),
  });
}
