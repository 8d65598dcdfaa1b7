/** What this trt-builder can build here. */
import os from 'node:os';
import ort from 'onnxruntime-node';
import { DEPLOYMENT_TABLES, RUNTIMES, type DeploymentTable, type Runtime } from './deployment.js';
import { loadTensorRt } from './tensorrt-native.js';

export interface RuntimeCapability {
  runtime: Runtime;
  /** Whether Build can run for this runtime on this host. */
  available: boolean;
  /** Why not, when unavailable. */
  reason: string;
  /** The deployment table: versions, accelerators, precisions and opsets accepted. */
  table: DeploymentTable;
}

export interface Device {
  kind: 'cpu' | 'gpu';
  index: number;
  name: string;
  /** Bytes of memory when known, else 0. */
  memoryBytes: number;
}

export interface Capabilities {
  runtimes: RuntimeCapability[];
  onnxruntimeVersion: string;
  tensorrt: { present: boolean; version: string; reason: string };
  /** CUDA devices seen by the native addon (false where it is absent or built without CUDA). */
  cuda: boolean;
  devices: Device[];
}

/** CUDA devices from the native addon, when it is built and loads. */
async function nativeGpus(): Promise<Device[]> {
  try {
    const native = await import('../../native/index.js');
    if (!native.isNativeAvailable()) return [];
    return native
      .capabilities()
      .devices.filter((d) => d.kind === 'cuda')
      .map((d) => ({ kind: 'gpu' as const, index: d.index, name: d.name, memoryBytes: d.memory ?? 0 }));
  } catch {
    return [];
  }
}

export async function capabilities(): Promise<Capabilities> {
  const trt = await loadTensorRt();
  const cpuName = os.cpus()[0]?.model ?? 'cpu';
  const gpus = await nativeGpus();
  const devices: Device[] = [{ kind: 'cpu', index: 0, name: `${cpuName} (${os.cpus().length} cores)`, memoryBytes: os.totalmem() }, ...gpus];
  const runtimes = RUNTIMES.map((runtime): RuntimeCapability => {
    const available = runtime === 'ORT' ? true : trt.present;
    return {
      runtime,
      available,
      reason: available ? '' : trt.present ? '' : trt.reason,
      table: DEPLOYMENT_TABLES[runtime],
    };
  });
  return {
    runtimes,
    onnxruntimeVersion: ort.env.versions.node ?? ort.env.versions.common,
    tensorrt: trt.present ? { present: true, version: trt.version, reason: '' } : { present: false, version: '', reason: trt.reason },
    cuda: gpus.length > 0,
    devices,
  };
}
