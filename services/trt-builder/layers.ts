/** Per-layer information of a built engine, for Build's response and the report. */
import { decodeModel } from '../core/onnx/model.js';

export interface EngineLayer {
  name: string;
  layerType: string;
  /** e.g. "FP16", "Int8"; '' when unknown. */
  precision: string;
  /** The layer's raw JSON from the engine inspector; '' for ORT. */
  detailJson: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * IEngineInspector::getEngineInformation(kJSON) → layers. With detailed verbosity "Layers" holds
 * objects (Name, LayerType, Outputs[].Format/Datatype); with layer-names-only it holds strings.
 * Malformed JSON gives no layers (the engine itself is still good).
 */
export function layersFromInspectorJson(json: string): EngineLayer[] {
  if (!json) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  const layers = isRecord(parsed) ? parsed['Layers'] : undefined;
  if (!Array.isArray(layers)) return [];
  return layers.map((l: unknown): EngineLayer => {
    if (typeof l === 'string') return { name: l, layerType: '', precision: '', detailJson: '' };
    if (!isRecord(l)) return { name: String(l), layerType: '', precision: '', detailJson: '' };
    const outputs = Array.isArray(l['Outputs']) ? l['Outputs'] : [];
    const first = outputs.find(isRecord);
    const format = first ? first['Format/Datatype'] : undefined;
    return {
      name: typeof l['Name'] === 'string' ? l['Name'] : '',
      layerType: typeof l['LayerType'] === 'string' ? l['LayerType'] : '',
      precision: typeof format === 'string' ? format : '',
      detailJson: JSON.stringify(l),
    };
  });
}

/** The nodes of an ORT-optimised model, as layers (op type as layer type). */
export function layersFromOnnx(optimized: Uint8Array): EngineLayer[] {
  const model = decodeModel(optimized, 'optimised model');
  return (model.graph?.node ?? []).map((n) => ({
    name: n.name ?? '',
    layerType: n.domain ? `${n.domain}.${n.opType ?? ''}` : (n.opType ?? ''),
    precision: '',
    detailJson: '',
  }));
}
