/** Process entry of the profiler service: `node --import tsx services/profiler/main.ts [--port N] ...`. */
import { runServiceMain, SERVICE_PORTS } from '../core/service-main.js';
import { profilerService } from './server.js';

await runServiceMain({ name: 'profiler', defaultPort: SERVICE_PORTS['profiler'], build: (deps) => [profilerService(deps)] });
