/** Process entry of the calibrator service: `node --import tsx services/calibrator/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { stageHandlers } from './stages.js';
import { calibratorService } from './server.js';

await runServiceMain({ name: 'calibrator', defaultPort: SERVICE_PORTS['calibrator'], build: (deps) => [calibratorService(deps)], stages: stageHandlers });
