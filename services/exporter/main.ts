/** Process entry of the exporter service: `node --import tsx services/exporter/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { stageHandlers } from './stages.js';
import { exporterService } from './server.js';

await runServiceMain({ name: 'exporter', defaultPort: SERVICE_PORTS['exporter'], build: (deps) => [exporterService(deps)], stages: stageHandlers });
