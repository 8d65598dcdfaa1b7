/**
 * The `modelopt` launcher starts itself again with malloc on transparent huge pages where the kernel leaves
 * them to madvise (bin/huge-pages.js): the decision, and the real launcher as a user runs it (exit codes,
 * output and SIGTERM pass through the second process).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUGE_PAGES_TUNABLE, hugePagesEnv, transparentHugePageMode } from '../../bin/huge-pages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-launcher-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('huge pages: asked for only where the kernel leaves them to madvise and no hugetlb tunable is set', () => {
  assert.equal(hugePagesEnv({ PATH: '/bin' }, 'madvise')?.GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
  assert.equal(hugePagesEnv({ PATH: '/bin' }, 'madvise')?.PATH, '/bin');
  assert.equal(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'madvise')?.GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`);
  assert.equal(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'madvise'), undefined, 'the user chose');
  assert.equal(hugePagesEnv({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}` }, 'madvise'), undefined, 'already there');
  assert.equal(hugePagesEnv({ MODELOPT_HUGE_PAGES: '0' }, 'madvise'), undefined, 'turned off');
  assert.equal(hugePagesEnv({}, 'madvise', ['--inspect-brk=9229']), undefined, 'a debugger holds the port');
  assert.equal(hugePagesEnv({ NODE_OPTIONS: '--inspect' }, 'madvise'), undefined, 'a debugger holds the port');
  assert.equal(hugePagesEnv({ NODE_OPTIONS: '--max-old-space-size=8192' }, 'madvise', ['--enable-source-maps'])?.GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
  for (const mode of ['always', 'never', undefined]) assert.equal(hugePagesEnv({}, mode), undefined, String(mode));
  const f = path.join(tmp, 'enabled');
  fs.writeFileSync(f, 'always [madvise] never\n');
  assert.equal(transparentHugePageMode(f), 'madvise');
  fs.writeFileSync(f, '[always] madvise never\n');
  assert.equal(transparentHugePageMode(f), 'always');
  assert.equal(transparentHugePageMode(path.join(tmp, 'absent')), undefined);
});

/** Runs bin/modelopt.js with a preload that records each Node process it starts (pid, parent, tunables). */
function launch(args: string[], env: NodeJS.ProcessEnv, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const log = path.join(tmp, `procs-${Math.random().toString(36).slice(2)}.txt`);
  const probe = path.join(tmp, 'probe.cjs');
  fs.writeFileSync(probe, `require('fs').appendFileSync(${JSON.stringify(log)}, process.pid + ' ' + process.ppid + ' ' + (process.env.GLIBC_TUNABLES || '-') + '\\n');\n`);
  const child = spawn(process.execPath, [path.join(root, 'bin/modelopt.js'), ...args], {
    cwd: root,
    env: { ...env, NODE_OPTIONS: `--require ${probe}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout, child);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; procs: string[][] }>((resolve) =>
    child.on('exit', (code, signal) => {
      // the launcher exits after its child: every record is written by now (one per process: tsx's loader thread
      // runs the preload again in the same process)
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
      const procs = [...new Set(lines)].map((l) => l.split(' '));
      resolve({ code, signal, stdout, stderr, procs });
    }),
  );
}

const madvise = transparentHugePageMode() === 'madvise';
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GLIBC_TUNABLES' && k !== 'MODELOPT_HUGE_PAGES'));

test(`the launcher ${madvise ? 'starts again with the tunable (this kernel: madvise)' : 'goes on in one process (this kernel is not in madvise mode)'}; output and exit codes pass through`, { timeout: 60_000 }, async () => {
  const help = await launch(['--help'], baseEnv);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /usage: modelopt <command>/);
  if (madvise) {
    assert.equal(help.procs.length, 2, JSON.stringify(help.procs));
    const [first, second] = help.procs as [string[], string[]];
    assert.equal(first[2], '-');
    assert.equal(second[1], first[0], 'the second process is the launcher\'s child');
    assert.equal(second[2], HUGE_PAGES_TUNABLE);
  } else {
    assert.equal(help.procs.length, 1);
  }
  const unknown = await launch(['no-such-command'], baseEnv);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "no-such-command"/);
  // turned off, or set already: one process
  const single: NodeJS.ProcessEnv[] = [{ ...baseEnv, MODELOPT_HUGE_PAGES: '0' }, { ...baseEnv, GLIBC_TUNABLES: HUGE_PAGES_TUNABLE }];
  for (const env of single) {
    const r = await launch(['--help'], env);
    assert.equal(r.code, 0);
    assert.equal(r.procs.length, 1, JSON.stringify(env.GLIBC_TUNABLES ?? env.MODELOPT_HUGE_PAGES));
  }
});

test(`SIGTERM sent to the launcher reaches \`modelopt up\`${madvise ? ' in the second process' : ''}, which shuts down cleanly`, { timeout: 120_000 }, async () => {
  let sent = false;
  const r = await launch(['up', '--base-port', '0', '--metrics-port', '0'], baseEnv, (out, child) => {
    if (!sent && /^ready$/m.test(out)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  assert.ok(sent, `never ready: ${r.stderr.slice(-2000)}`);
  assert.equal(r.procs.length, madvise ? 2 : 1);
  assert.equal(r.signal, null, `${r.stdout}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
});
