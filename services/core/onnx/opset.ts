import type { ModelProto } from './proto.js';

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.contrib']);

/** The default-domain opset: the first opset_import entry of domain "", "ai.onnx" or "ai.onnx.contrib". */
export function defaultOpset(model: ModelProto): number {
  for (const o of model.opsetImport) if (DEFAULT_DOMAINS.has(o.domain ?? '')) return Number(o.version);
  return 0;
}

export function setDefaultOpset(model: ModelProto, version: number): void {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (entry) entry.version = version;
  else model.opsetImport.push({ domain: '', version } as ModelProto['opsetImport'][number]);
}
