/** The protos lint clean and gen/ is exactly what `buf generate` produces from them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUF = path.join(ROOT, 'node_modules', '.bin', 'buf');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('buf lint passes', () => {
  const r = spawnSync(BUF, ['lint'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.trim(), '');
});

test('gen/ is up to date with proto/ (buf generate into a temp dir reproduces it)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-gen-'));
  try {
    const r = spawnSync(BUF, ['generate', '-o', tmp], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const fresh = path.join(tmp, 'gen');
    const committed = path.join(ROOT, 'gen');
    assert.deepEqual(listFiles(committed), listFiles(fresh));
    assert.ok(listFiles(fresh).length >= 9);
    for (const f of listFiles(fresh)) {
      assert.equal(fs.readFileSync(path.join(committed, f), 'utf8'), fs.readFileSync(path.join(fresh, f), 'utf8'), `gen/${f} is stale: run npm run gen`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('every service proto declares one *Service in package modelopt.v1', () => {
  const dir = path.join(ROOT, 'proto', 'modelopt', 'v1');
  const services = fs
    .readdirSync(dir)
    .flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/^service (\w+)/gm)].map((m) => m[1]))
    .sort();
  assert.deepEqual(services, ['ArtifactService', 'CalibratorService', 'ExporterService', 'GraphAnalyzerService', 'ProfilerService', 'QuantizerService', 'TrtBuilderService']);
});
