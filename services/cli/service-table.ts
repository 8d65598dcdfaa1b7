/**
 * The six services of the mesh: name, default port and registration factory. The CLI is the
 * composition root, so it is the one place that imports every service's server.ts.
 */
import { SERVICE_PORTS, type ServiceDeps, type ServiceName } from '../core/service-main.js';
import type { ServiceRegistration } from '../core/grpc/handlers.js';
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { graphAnalyzerService } from '../graph-analyzer/server.js';
import { calibratorService } from '../calibrator/server.js';
import { quantizerService } from '../quantizer/server.js';
import { exporterService } from '../exporter/server.js';
import { trtBuilderService } from '../trt-builder/server.js';
import { profilerService } from '../profiler/server.js';
import { stageHandlers as graphAnalyzerStages } from '../graph-analyzer/stages.js';
import { stageHandlers as calibratorStages } from '../calibrator/stages.js';
import { stageHandlers as quantizerStages } from '../quantizer/stages.js';
import { stageHandlers as exporterStages } from '../exporter/stages.js';

export interface ServiceEntry {
  name: ServiceName;
  /** Fully-qualified gRPC service name (health-check name). */
  grpcName: string;
  defaultPort: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  create(deps: ServiceDeps): ServiceRegistration<any>;
  /** Job-plan stages this service runs from its work queue `modelopt.work.<name>` (services/<name>/stages.ts). */
  stages?: (runtime: MeshRuntime) => Record<string, StageHandler>;
}

export const SERVICES: readonly ServiceEntry[] = [
  { name: 'graph-analyzer', grpcName: 'modelopt.v1.GraphAnalyzerService', defaultPort: SERVICE_PORTS['graph-analyzer'], create: graphAnalyzerService, stages: graphAnalyzerStages },
  { name: 'calibrator', grpcName: 'modelopt.v1.CalibratorService', defaultPort: SERVICE_PORTS.calibrator, create: calibratorService, stages: calibratorStages },
  { name: 'quantizer', grpcName: 'modelopt.v1.QuantizerService', defaultPort: SERVICE_PORTS.quantizer, create: quantizerService, stages: quantizerStages },
  { name: 'exporter', grpcName: 'modelopt.v1.ExporterService', defaultPort: SERVICE_PORTS.exporter, create: exporterService, stages: exporterStages },
  { name: 'trt-builder', grpcName: 'modelopt.v1.TrtBuilderService', defaultPort: SERVICE_PORTS['trt-builder'], create: trtBuilderService },
  { name: 'profiler', grpcName: 'modelopt.v1.ProfilerService', defaultPort: SERVICE_PORTS.profiler, create: profilerService },
];
