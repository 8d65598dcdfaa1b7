/**
 * gRPC adapter of the graph analyzer: maps modelopt.v1.GraphAnalyzerService onto the domain
 * modules of this folder. Thin on purpose: no graph logic here.
 */
import { GraphAnalyzerServiceService } from '../../gen/modelopt/v1/graph_analyzer.js';
import { defineService, unimplemented, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';

export type GraphAnalyzerDeps = ServiceDeps;

export function graphAnalyzerService(_deps: GraphAnalyzerDeps): ServiceRegistration<typeof GraphAnalyzerServiceService> {
  return defineService(GraphAnalyzerServiceService, {
    prepare: unimplemented('GraphAnalyzer.Prepare is not implemented yet (opset conversion, node naming, weight duplication)'),
    analyze: unimplemented('GraphAnalyzer.Analyze is not implemented yet (partitioning and node selection)'),
  });
}
