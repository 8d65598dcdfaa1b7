// @ts-check
/**
 * Transparent huge pages for the memory that onnxruntime and the addon take from malloc.
 *
 * On Linux with transparent huge pages in `madvise` mode (common on cloud images), every 4 KiB page that a
 * process touches for the first time costs a fault: ~11 us each on the 2-vCPU VMs we measure on, 2.8 ms per
 * MB, fifty times the cost of writing it again. onnxruntime's arena is fresh memory in every session, so a
 * short job spends much of its time faulting. glibc (2.35 and later) asks for huge pages on malloc's memory
 * when started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1; a first touch then costs ~0.06 ms per MB
 * (measured: a warm ppocr_det min/max job 0.77 -> 0.48 s; `modelopt quantize` of ppocr_det, entropy,
 * 9.3 -> 7.4 s). glibc reads the tunable only when a process starts, so the `modelopt` launcher starts itself
 * again with it (one more Node start) before loading anything else; the container images set it in their
 * environment. Plain JavaScript: it runs before tsx is registered.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * The kernel's transparent huge page mode ('always', 'madvise', 'never'), or undefined where it is not said.
 * @param {string} [file]
 * @returns {string | undefined}
 */
export function transparentHugePageMode(file = '/sys/kernel/mm/transparent_hugepage/enabled') {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync(file, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The environment to start again with, or undefined where there is nothing to gain or it would get in the
 * way: huge pages are the kernel's default already ('always') or off ('never'), a hugetlb tunable is set
 * already, MODELOPT_HUGE_PAGES=0 turns this off, or a debugger is asked for (a second process would not get
 * the inspector's port).
 * @param {NodeJS.ProcessEnv} env
 * @param {string | undefined} thpMode
 * @param {readonly string[]} [execArgv]
 * @returns {NodeJS.ProcessEnv | undefined}
 */
export function hugePagesEnv(env, thpMode, execArgv = []) {
  if (thpMode !== 'madvise' || env.MODELOPT_HUGE_PAGES === '0') return undefined;
  if ([...execArgv, env.NODE_OPTIONS ?? ''].some((a) => /--inspect/.test(a))) return undefined;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return undefined;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/**
 * Starts this same command again with huge pages where that gains (hugePagesEnv), and resolves to its exit
 * code; resolves to undefined where this process should go on itself. The new process shares the terminal:
 * SIGINT reaches both (one process group) and only the new one acts on it; SIGTERM and SIGHUP sent to this
 * one are passed on. A new process ended by a signal ends this one by the same signal.
 * @returns {Promise<number | undefined>}
 */
export async function relaunchWithHugePages() {
  const env = hugePagesEnv(process.env, process.platform === 'linux' ? transparentHugePageMode() : undefined, process.execArgv);
  if (!env) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  /** @type {[NodeJS.Signals, () => void][]} */
  const handlers = [
    ['SIGINT', () => {}],
    ['SIGTERM', () => void child.kill('SIGTERM')],
    ['SIGHUP', () => void child.kill('SIGHUP')],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  /** @type {[number | null, NodeJS.Signals | null]} */
  const [code, signal] = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  for (const [s, h] of handlers) process.off(s, h);
  if (signal) process.kill(process.pid, signal);
  return code ?? 1;
}
