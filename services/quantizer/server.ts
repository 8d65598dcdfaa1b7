/**
 * gRPC adapter of the quantizer: maps modelopt.v1.QuantizerService onto the domain modules of
 * this folder. Thin on purpose: no graph rewriting here.
 */
import { QuantizerServiceService } from '../../gen/modelopt/v1/quantizer.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type QuantizerDeps = ServiceDeps;

export function quantizerService(_deps: QuantizerDeps): ServiceRegistration<typeof QuantizerServiceService> {
  return defineService(QuantizerServiceService, {
    quantize: unimplemented('Quantizer.Quantize is not implemented yet'),
  });
}
