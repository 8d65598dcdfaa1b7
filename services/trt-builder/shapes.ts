/**
 * Dynamic-shape specs as trtexec writes them: `name:d0xd1x…` entries separated by commas,
 * one string each for the min, opt and max shapes (SPEC §5).
 */
import { InvalidArgument } from '../core/errors.js';

export type ShapeMap = Record<string, number[]>;

export interface DynamicShapes {
  readonly min: string;
  readonly opt: string;
  readonly max: string;
}

/** An optimisation profile for one input: the three shapes, same rank, min ≤ opt ≤ max. */
export interface ShapeProfile {
  readonly name: string;
  readonly min: number[];
  readonly opt: number[];
  readonly max: number[];
}

/** Parses `input:1x3x224x224,mask:1x128`. Names may contain ':' (the last one separates the dims). */
export function parseShapeSpec(spec: string, what = 'shape'): ShapeMap {
  const out: ShapeMap = {};
  const trimmed = spec.trim();
  if (trimmed === '') return out;
  for (const entry of trimmed.split(',')) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) throw new InvalidArgument(`${what}: entry "${entry}" is not name:d0xd1x…`);
    const name = entry.slice(0, colon).trim();
    const dimsText = entry.slice(colon + 1).trim();
    const dims = dimsText === '' ? [] : dimsText.split('x').map((d) => d.trim());
    const values = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : NaN));
    if (values.some((v) => !Number.isSafeInteger(v) || v < 0)) {
      throw new InvalidArgument(`${what}: entry "${entry}" has a dimension that is not a non-negative integer`);
    }
    if (name in out) throw new InvalidArgument(`${what}: input "${name}" is listed twice`);
    out[name] = values;
  }
  return out;
}

export function formatShapeSpec(shapes: ShapeMap): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${name}:${dims.join('x')}`)
    .join(',');
}

/** Turns the three spec strings into per-input profiles, checking names, ranks and ordering. */
export function shapeProfiles(dyn: DynamicShapes): ShapeProfile[] {
  const min = parseShapeSpec(dyn.min, 'dynamic_shapes.min');
  const opt = parseShapeSpec(dyn.opt, 'dynamic_shapes.opt');
  const max = parseShapeSpec(dyn.max, 'dynamic_shapes.max');
  const names = Object.keys(min);
  const sameNames = (m: ShapeMap) => Object.keys(m).length === names.length && names.every((n) => n in m);
  if (!sameNames(opt) || !sameNames(max)) {
    throw new InvalidArgument('dynamic_shapes: min, opt and max must name the same inputs');
  }
  return names.map((name) => {
    const lo = min[name]!;
    const mid = opt[name]!;
    const hi = max[name]!;
    if (lo.length !== mid.length || lo.length !== hi.length) {
      throw new InvalidArgument(`dynamic_shapes: input "${name}" has different ranks in min/opt/max`);
    }
    for (let i = 0; i < lo.length; i++) {
      if (!(lo[i]! <= mid[i]! && mid[i]! <= hi[i]!)) {
        throw new InvalidArgument(`dynamic_shapes: input "${name}" dim ${i} violates min ≤ opt ≤ max (${lo[i]}, ${mid[i]}, ${hi[i]})`);
      }
    }
    return { name, min: lo, opt: mid, max: hi };
  });
}
