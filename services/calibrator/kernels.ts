/**
 * The statistics kernels the calibrator uses: the native addon (native/index.ts, off the JS thread)
 * when it is built, otherwise the plain TypeScript reference (native/reference.ts) with the same
 * arguments. MODELOPT_CALIBRATOR_KERNELS=reference forces the reference.
 */
import type { AsyncKernels, Kernels } from '../../native/types.js';
import * as nativeMod from '../../native/index.js';
import * as ref from '../../native/reference.js';

export type CalibratorKernels = Pick<
  AsyncKernels<Kernels>,
  | 'amax'
  | 'ortHistogramCollect'
  | 'ortHistogramMerge'
  | 'ortAbsHistogramCollect'
  | 'ortEntropyThreshold'
  | 'ortPercentile'
  | 'ortDistribution'
  | 'torchHistogramCollect'
  | 'torchEntropyAmax'
  | 'torchMseAmax'
  | 'torchPercentileAmax'
  | 'e4m3Decode'
>;

function wrapReference(): CalibratorKernels {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): Promise<R> => {
      try {
        return Promise.resolve(fn(...a));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  return {
    amax: wrap(ref.amax),
    ortHistogramCollect: wrap(ref.ortHistogramCollect),
    ortHistogramMerge: wrap(ref.ortHistogramMerge),
    ortAbsHistogramCollect: wrap(ref.ortAbsHistogramCollect),
    ortEntropyThreshold: wrap(ref.ortEntropyThreshold),
    ortPercentile: wrap(ref.ortPercentile),
    ortDistribution: wrap(ref.ortDistribution),
    torchHistogramCollect: wrap(ref.torchHistogramCollect),
    torchEntropyAmax: wrap(ref.torchEntropyAmax),
    torchMseAmax: wrap(ref.torchMseAmax),
    torchPercentileAmax: wrap(ref.torchPercentileAmax),
    e4m3Decode: wrap(ref.e4m3Decode),
  };
}

export const referenceKernels: CalibratorKernels = wrapReference();

let chosen: { kernels: CalibratorKernels; kind: 'native' | 'reference' } | null = null;

/** The kernels to use, and which implementation they are. */
export function calibratorKernels(): { kernels: CalibratorKernels; kind: 'native' | 'reference' } {
  if (chosen) return chosen;
  const force = process.env['MODELOPT_CALIBRATOR_KERNELS'];
  if (force !== 'reference' && nativeMod.isNativeAvailable()) chosen = { kernels: nativeMod.native, kind: 'native' };
  else chosen = { kernels: referenceKernels, kind: 'reference' };
  return chosen;
}

/**
 * The same kernels, chosen (and the addon loaded, ~5 ms) on the first call: a min/max calibration, which folds
 * its reductions in JavaScript, never loads it.
 */
export const kernelsOnFirstUse: CalibratorKernels = Object.fromEntries(
  (Object.keys(referenceKernels) as (keyof CalibratorKernels)[]).map((name) => [
    name,
    (...args: unknown[]) => (calibratorKernels().kernels[name] as (...a: unknown[]) => unknown)(...args),
  ]),
) as unknown as CalibratorKernels;
