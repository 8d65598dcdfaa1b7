/**
 * Maps TensorRT's layerwise profile (trtexec --exportProfile JSON) onto ONNX node names
 * (SPEC §6 "Layerwise profiling").
 *
 * 1. Skip the first element (trtexec's `{ "count": N }`), strip `onnx::` from names, keep averageMs.
 * 2. Fold reformatters: ` input reformatter ` / ` output reformatter ` → the part before;
 *    ` to ` → the part after.
 * 3. Map each TensorRT name to ONNX nodes: `a: b` → b; `PWN(...)` → its top-level comma parts;
 *    ` + ` → top-level `+` parts; `a -> b` → every node from a to b in graph order; a leaf →
 *    the node names it contains (longest-last scan in reverse graph order), or
 *    `input_data` / `output_data`, or the raw name when no node list is known.
 * 4. Join with ` + ` (empty → `other`) and sum the ms per key.
 */
import { InvalidArgument } from '../core/errors.js';

export const INPUT_DATA_KEY = 'input_data';
export const OUTPUT_DATA_KEY = 'output_data';
export const UNNAMED_LAYER_KEY = 'other';
export const NODE_NAME_DELIMITER = ' + ';

const REFORMATTER_DELIMITERS = [' input reformatter ', ' output reformatter ', ' to '] as const;

export interface TrtLayerTime {
  name: string;
  averageMs: number;
}

/** Reads and checks trtexec's profile JSON; wrong shape → InvalidArgument. Skips the first element. */
export function readTrtProfile(profileJson: string): TrtLayerTime[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(profileJson);
  } catch (err) {
    throw new InvalidArgument(`trt profile: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) {
    throw new InvalidArgument('trt profile: expected a JSON array ([{"count": N}, {"name", "averageMs", …}, …])');
  }
  return parsed.slice(1).map((entry: unknown, i): TrtLayerTime => {
    if (typeof entry !== 'object' || entry === null) {
      throw new InvalidArgument(`trt profile: element ${i + 1} is not an object`);
    }
    const rec = entry as Record<string, unknown>;
    const name = rec['name'];
    const ms = rec['averageMs'];
    if (typeof name !== 'string') throw new InvalidArgument(`trt profile: element ${i + 1} has no string "name"`);
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new InvalidArgument(`trt profile: element ${i + 1} ("${name}") has no finite number "averageMs"`);
    }
    return { name, averageMs: ms };
  });
}

/** Step 1 and 2: name → ms, `onnx::` stripped, reformatters folded into their neighbours. */
export function foldReformatters(layers: readonly TrtLayerTime[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const l of layers) times.set(l.name.replaceAll('onnx::', ''), l.averageMs);
  const toMerge = [...times.keys()].filter((k) => REFORMATTER_DELIMITERS.some((d) => k.includes(d)));
  for (const key of toMerge) {
    const ms = times.get(key)!;
    times.delete(key);
    let target = key;
    const delimiter = REFORMATTER_DELIMITERS.find((d) => key.includes(d))!;
    const parts = key.split(delimiter);
    if (parts.length === 2) target = delimiter === ' to ' ? parts[1]! : parts[0]!;
    times.set(target, (times.get(target) ?? 0) + ms);
  }
  return times;
}

/** Splits on `delimiter` where parentheses are balanced; parts are trimmed. */
export function groupSplit(key: string, delimiter: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of key) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === delimiter && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current.trim());
  return parts;
}

/** Maps TensorRT layer names onto ONNX node names. Keeps first-seen key order. */
export class TrtLayerMapper {
  private readonly names: readonly string[];
  private readonly index = new Map<string, number>();

  constructor(onnxNodeNames: readonly string[]) {
    this.names = onnxNodeNames.filter((n) => n !== '');
    this.names.forEach((n, i) => {
      if (!this.index.has(n)) this.index.set(n, i);
    });
  }

  /** The leaf rule: node names contained in `layer`, scanning in reverse graph order. */
  leaf(layer: string): string[] {
    const keys: string[] = [];
    let rest = layer;
    for (let i = this.names.length - 1; i >= 0; i--) {
      const node = this.names[i]!;
      if (rest.includes(node)) {
        keys.push(node);
        rest = rest.replaceAll(node, '');
      }
    }
    const cleaned = keys.reverse().join(NODE_NAME_DELIMITER);
    if (!cleaned && rest.includes('input')) return [INPUT_DATA_KEY];
    if (!cleaned && rest.includes('output')) return [OUTPUT_DATA_KEY];
    if (this.names.length === 0) return [layer];
    return cleaned ? [cleaned] : [];
  }

  /** Recursive mapping of one TensorRT layer name. */
  map(key: string): string[] {
    if (key.includes(': ')) {
      const parts = key.split(': ');
      return parts.length === 2 ? this.map(parts[1]!) : this.leaf(key);
    }
    if (key.startsWith('PWN')) {
      const inner = key.endsWith(')') ? key.slice(4, -1) : key.slice(4);
      return groupSplit(inner, ',').flatMap((k) => this.map(k));
    }
    if (key.includes(' + ')) {
      return groupSplit(key, '+').flatMap((k) => this.map(k));
    }
    if (key.includes(' -> ')) {
      const parts = key.split(' -> ');
      if (parts.length !== 2) return this.leaf(key);
      const [from, to] = parts as [string, string];
      return this.coveredRange(from, to).flatMap((k) => this.map(k));
    }
    return this.leaf(key);
  }

  /**
   * `a -> b`: the nodes from a to b in graph order. `a` (or `b`) may itself be fused
   * (`Conv_1+Relu_2`, `PWN(...)`, an unnamed layer): its span is taken from the nodes it maps to,
   * first node of `a` to last node of `b`. When neither resolves, fall back to a's `+` parts and b.
   */
  private coveredRange(from: string, to: string): string[] {
    const fallback = [...groupSplit(from, '+'), to];
    if (this.names.length === 0) return fallback;
    const positions = (part: string, pick: 'first' | 'last'): number | undefined => {
      const exact = this.index.get(part);
      if (exact !== undefined) return exact;
      const idx = this.map(part)
        .flatMap((k) => k.split(NODE_NAME_DELIMITER))
        .map((n) => this.index.get(n))
        .filter((i): i is number => i !== undefined);
      if (idx.length === 0) return undefined;
      return pick === 'first' ? Math.min(...idx) : Math.max(...idx);
    };
    const i1 = positions(from, 'first');
    const i2 = positions(to, 'last');
    if (i1 === undefined || i2 === undefined || i1 > i2) return fallback;
    return this.names.slice(i1, i2 + 1);
  }
}

/** Step 3 and 4 over an already folded name → ms map. */
export function mapTrtLayersToOnnx(layerTimes: ReadonlyMap<string, number>, onnxNodeNames: readonly string[]): Map<string, number> {
  const mapper = new TrtLayerMapper(onnxNodeNames);
  const out = new Map<string, number>();
  for (const [k, ms] of layerTimes) {
    const key = mapper.map(k).join(NODE_NAME_DELIMITER) || UNNAMED_LAYER_KEY;
    out.set(key, (out.get(key) ?? 0) + ms);
  }
  return out;
}

/** The whole rule: trtexec profile JSON text + ONNX node names (graph order) → ms per ONNX key. */
export function mapTrtLayers(profileJson: string, onnxNodeNames: readonly string[]): Map<string, number> {
  return mapTrtLayersToOnnx(foldReformatters(readTrtProfile(profileJson)), onnxNodeNames);
}
