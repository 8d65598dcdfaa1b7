/** Process entry of the graph-analyzer service: `node --import tsx services/graph-analyzer/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { stageHandlers } from './stages.js';
import { graphAnalyzerService } from './server.js';

await runServiceMain({ name: 'graph-analyzer', defaultPort: SERVICE_PORTS['graph-analyzer'], build: (deps) => [graphAnalyzerService(deps)], stages: stageHandlers });
