#!/usr/bin/env node
// `modelopt` launcher: registers tsx so the TypeScript sources run directly, then starts the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
