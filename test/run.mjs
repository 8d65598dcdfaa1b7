#!/usr/bin/env node
// The one test command (`npm test`): type-check, then every *.test.ts in the repository
// (unit tests beside the code, integration and end-to-end tests under test/), on node's runner.
// Extra arguments filter test files by substring: `npm test -- calibrator`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
const roots = ['services', 'native', 'test'];
const files = [];
function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'build' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.ts')) files.push(path.relative(root, p));
  }
}
for (const r of roots) if (fs.existsSync(path.join(root, r))) walk(path.join(root, r));
files.sort();
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}

if (!filters.length) {
  console.log('> tsc --noEmit');
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

console.log(`> node --test (${selected.length} files)`);
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...selected], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=8192`.trim() },
});
process.exit(res.status ?? 1);
