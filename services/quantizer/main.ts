/** Process entry of the quantizer service: `node --import tsx services/quantizer/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { stageHandlers } from './stages.js';
import { quantizerService } from './server.js';

await runServiceMain({ name: 'quantizer', defaultPort: SERVICE_PORTS['quantizer'], build: (deps) => [quantizerService(deps)], stages: stageHandlers });
