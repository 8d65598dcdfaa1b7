/**
 * gRPC adapter of the calibrator: maps modelopt.v1.CalibratorService onto the domain modules of
 * this folder. Thin on purpose: no statistics here.
 */
import { CalibratorServiceService } from '../../gen/modelopt/v1/calibrator.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type CalibratorDeps = ServiceDeps;

export function calibratorService(_deps: CalibratorDeps): ServiceRegistration<typeof CalibratorServiceService> {
  return defineService(CalibratorServiceService, {
    calibrate: unimplemented('Calibrator.Calibrate is not implemented yet'),
    mergeHistograms: unimplemented('Calibrator.MergeHistograms is not implemented yet'),
    captureActivations: unimplemented('Calibrator.CaptureActivations is not implemented yet'),
  });
}
