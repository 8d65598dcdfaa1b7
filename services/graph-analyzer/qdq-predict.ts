/**
 * Predicts where the quantizer puts Q/DQ for a selection, following ONNX Runtime's QDQ quantizer as the reference
 * drives it (dedicated pairs, no output quantization, weights behind Q→DQ, force-quantize without input check),
 * then the reference's removal of the no-quantize edges. The result names the activation tensors that need
 * calibration and the nodes that end up with an input produced by a DequantizeLinear (the goldens' set).
 */
import type { AGraph } from './agraph.js';
import { DataType } from '../core/onnx/index.js';
import type { Edge } from './select.js';

export interface PredictOptions {
  /** Op types ORT is allowed to quantize (user list, or the default for the mode). */
  ortOpTypes: ReadonlySet<string>;
  /** node ids selected / excluded (any membership test: analyze passes typed-array flags) */
  selected: { has(i: number): boolean };
  excluded: { has(i: number): boolean };
  perChannel: boolean;
  opset: number;
  fp8: boolean;
  /** Element type per tensor id of `g` (0: unknown). */
  elemTypes: Int32Array;
  /** INT8 only: edges whose Q/DQ is removed after quantization. */
  noQuantize: readonly Edge[];
  /**
   * 'reference': remove the pair the reference's post-processing actually hits (the first pair of the source's
   * first output); 'intended': remove only the pair that feeds the edge's consumer (SPEC §3 step 7 [quirk]).
   */
  removal: 'reference' | 'intended';
}

export interface Prediction {
  /** Tensors marked for Q/DQ, in marking order. */
  marked: string[];
  /** Marked tensors that are activations (not initializers): what calibration must cover. */
  activations: string[];
  /** Node ids (ascending) with at least one input produced by a DequantizeLinear after post-processing. */
  withDqInput: number[];
  /** Node ids ORT actually quantizes (selected, of an allowed type, not excluded). */
  quantizedByOrt: number[];
}

const FLOATS = new Set<number>([DataType.FLOAT, DataType.FLOAT16]);

/** `g` must hold the nodes in the model's own (file) order: the quantizer walks them in that order. */
export function predictQdq(g: AGraph, o: PredictOptions): Prediction {
  const should: number[] = [];
  for (let i = 0; i < g.size; i++) {
    const op = g.ops[i]!;
    if (!o.selected.has(i) || !o.ortOpTypes.has(op) || op === 'QuantizeLinear' || op === 'DequantizeLinear' || o.excluded.has(i)) continue;
    should.push(i);
  }
  // receiving nodes per tensor id: the first one, and the full list once there are several
  const nt = g.tensorCount;
  const recvCount = new Int32Array(nt);
  const recvFirst = new Int32Array(nt);
  const recvMany = new Map<number, number[]>();
  const markedFlag = new Uint8Array(nt);
  const markedIds: number[] = [];
  /** Marks input k of node i (by tensor id; float tensors only). */
  const mark = (i: number, k: number): void => {
    if (k >= g.inStart[i + 1]! - g.inStart[i]!) return;
    const id = g.inIds[g.inStart[i]! + k]!;
    if (id < 0 || markedFlag[id]) return;
    if (!FLOATS.has(o.elemTypes[id]!)) return;
    markedFlag[id] = 1;
    markedIds.push(id);
  };
  const isInitK = (i: number, k: number): boolean => {
    if (k >= g.inStart[i + 1]! - g.inStart[i]!) return false;
    const id = g.inIds[g.inStart[i]! + k]!;
    return id >= 0 && g.isInit[id] === 1;
  };
  const markWeight = (i: number, k: number): void => {
    if (o.perChannel) {
      if (isInitK(i, k)) mark(i, k); // per-channel works only on initializers
    } else mark(i, k);
  };
  for (let q = 0; q < should.length; q++) {
    const i = should[q]!;
    const op = g.ops[i]!;
    const nIn = g.inStart[i + 1]! - g.inStart[i]!;
    switch (op) {
      case 'Conv':
      case 'ConvTranspose':
      case 'Gemm':
        mark(i, 0);
        markWeight(i, 1);
        break;
      case 'MatMul':
        for (let k = 0; k < nIn; k++) {
          if (isInitK(i, k)) markWeight(i, k);
          else mark(i, k);
        }
        break;
      case 'BatchNormalization':
      case 'LRN':
        mark(i, 0);
        break;
      case 'InstanceNormalization':
      case 'LayerNormalization':
        mark(i, 0);
        if (isInitK(i, 1)) markWeight(i, 1);
        else mark(i, 1);
        break;
      case 'Clip':
      case 'Relu':
        // removable activation: only re-marks an input that is already marked
        break;
      case 'MaxPool':
        if (o.opset >= 12 && !o.fp8) mark(i, 0);
        break;
      case 'AveragePool':
      case 'Flatten':
      case 'Slice':
      case 'TopK':
      case 'Reshape':
      case 'Transpose':
      case 'Squeeze':
      case 'Unsqueeze':
      case 'Gather':
      case 'GatherElements':
        mark(i, 0);
        break;
      default:
        for (let k = 0; k < nIn; k++) mark(i, k);
    }
    for (let k = g.inStart[i]!; k < g.inStart[i + 1]!; k++) {
      const id = g.inIds[k]!;
      if (id < 0) continue;
      const c = recvCount[id]!;
      if (c === 0) recvFirst[id] = i;
      else if (c === 1) recvMany.set(id, [recvFirst[id]!, i]);
      else recvMany.get(id)!.push(i);
      recvCount[id] = c + 1;
    }
  }
  // Which (tensor, consumer) inputs read a DQ output, as a flag per input slot of the index (a node reading a
  // tensor twice has both slots set and cleared together); and for dedicated pairs, which consumer pair 1 feeds.
  const dqSlot = new Uint8Array(g.inIds.length);
  const setSlots = (node: number, t: number, v: 0 | 1): void => {
    for (let k = g.inStart[node]!; k < g.inStart[node + 1]!; k++) if (g.inIds[k] === t) dqSlot[k] = v;
  };
  const giveAll = (t: number): void => {
    for (let k = g.consumerStart(t); k < g.consumerEnd(t); k++) setSlots(g.consumerAt(k), t, 1);
  };
  const takeAll = (t: number): void => {
    for (let k = g.consumerStart(t); k < g.consumerEnd(t); k++) setSlots(g.consumerAt(k), t, 0);
  };
  const dedicated = new Map<number, ArrayLike<number>>();
  const activations: string[] = [];
  for (let q = 0; q < markedIds.length; q++) {
    const t = markedIds[q]!;
    if (g.isInit[t]) {
      giveAll(t);
      continue;
    }
    const p = g.prodFirst[t]!;
    if (p >= 0 && g.ops[p] === 'DequantizeLinear') continue;
    activations.push(g.tensorNames[t]!);
    if (recvCount[t]! > 1) {
      const r = recvMany.get(t)!;
      dedicated.set(t, r);
      for (let k = 0; k < r.length; k++) setSlots(r[k]!, t, 1);
    } else giveAll(t);
  }
  for (const e of o.noQuantize) {
    if (o.removal === 'intended') {
      // Remove the pair that feeds the consumer: its own pair when pairs are dedicated, else the one shared pair.
      const t = g.tensorId(e.tensor);
      if (t < 0 || !markedFlag[t] || g.isInit[t]) continue;
      if (dedicated.has(t)) setSlots(e.consumer, t, 0);
      else takeAll(t);
      continue;
    }
    const name0 = g.outputs(e.producer)[0];
    const t0 = name0 ? g.tensorId(name0) : -1;
    if (t0 < 0 || !markedFlag[t0] || g.isInit[t0]) continue;
    const r = dedicated.get(t0);
    if (!r) {
      takeAll(t0);
      continue;
    }
    // Dedicated pairs: the source's first consumer after ORT's sort is a raw (unquantized) reader when one is
    // ready as soon as the tensor is; otherwise it is the first pair's Q, whose DQ feeds r[0].
    const rset = new Set(Array.from(r));
    const rawFirst = g.consumersOf(t0).some((c) => !rset.has(c) && readyWith(g, c, name0!));
    if (rawFirst) continue;
    setSlots(r[0]!, t0, 0);
  }
  const withDqInput: number[] = [];
  for (let i = 0; i < g.size; i++) {
    for (let k = g.inStart[i]!; k < g.inStart[i + 1]!; k++) {
      if (dqSlot[k]) {
        withDqInput.push(i);
        break;
      }
    }
  }
  return { marked: markedIds.map((t) => g.tensorNames[t]!), activations, withDqInput, quantizedByOrt: should };
}

/** Whether every other input of node c is available without running any node (initializer, graph input, Constant). */
function readyWith(g: AGraph, c: number, t0: string): boolean {
  for (const t of g.inputs(c)) {
    if (!t || t === t0 || g.initializers.has(t) || g.graphInputs.has(t)) continue;
    const p = g.firstProducer(t);
    if (p >= 0 && g.ops[p] === 'Constant') continue;
    return false;
  }
  return true;
}
