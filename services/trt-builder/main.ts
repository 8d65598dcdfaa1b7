/** Process entry of the trt-builder service: `node --import tsx services/trt-builder/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { trtBuilderService } from './server.js';

await runServiceMain({ name: 'trt-builder', defaultPort: SERVICE_PORTS['trt-builder'], build: (deps) => [trtBuilderService(deps)] });
