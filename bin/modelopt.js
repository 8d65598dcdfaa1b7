#!/usr/bin/env node
// `modelopt` launcher: starts itself again with malloc on transparent huge pages where the kernel leaves them
// to madvise (bin/huge-pages.js), then registers tsx so the TypeScript sources run directly and starts the CLI.
import { relaunchWithHugePages } from './huge-pages.js';

const code = await relaunchWithHugePages();
if (code !== undefined) process.exit(code);
const { register } = await import('tsx/esm/api');
register();
await import('../services/cli/main.ts');
