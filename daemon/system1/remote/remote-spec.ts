import type { PolicySettings } from '../../config/index.ts';
import { readOnnxModelInfo, type OnnxModelInfo, type TensorInfo } from '../onnx-model-file.ts';
import { ManifestError } from '../policy-spec.ts';

/** Where a remote policy is served, as status and errors print it: `zenoh ai/inference/vla/act`, `openpi ws://...`. */
export function remoteEndpoint(settings: PolicySettings): string | undefined {
  const remote = settings.remote;
  if (!remote) return undefined;
  return remote.zenoh !== undefined ? `zenoh ${remote.zenoh}` : `openpi ${remote.openpi ?? ''}`;
}

/** A local policy's .onnx file; a remote policy has none, which whoever asks for it is told. */
export function modelFile(name: string, settings: PolicySettings): string {
  if (settings.model !== undefined) return settings.model;
  throw new ManifestError(
    `policies.${name} is remote (${remoteEndpoint(settings) ?? 'no model'}): it has no model file to run here`,
  );
}

/**
 * A policy's graph signature: read from its .onnx file, or for a remote policy made from the shapes its config
 * declares, so that one resolvePolicySpec plans both and a loop fills a remote policy's inputs as a local one's. An
 * action output [chunk, size] becomes [1, chunk, size], the layout of a chunk policy's export (loop-plan.ts).
 */
export function policyModelInfo(name: string, settings: PolicySettings): OnnxModelInfo {
  if (!settings.remote) return readOnnxModelInfo(modelFile(name, settings));
  const at = `policies.${name}`;
  const inputs = Object.entries(settings.inputs).map(([input, s]): TensorInfo => {
    if (!s.shape)
      throw new ManifestError(`${at}.inputs.${input}.shape: a remote policy declares each input's shape, e.g. [6]`);
    return { name: input, dtype: s.dtype ?? 'float32', shape: s.shape };
  });
  const outputs = Object.entries(settings.outputs).map(([output, s]): TensorInfo => {
    if (s.shape?.length !== 2)
      throw new ManifestError(
        `${at}.outputs.${output}.shape: a remote policy's action output is [chunk, action size], e.g. [50, 6]`,
      );
    return { name: output, dtype: 'float32', shape: [1, ...s.shape] };
  });
  return {
    path: remoteEndpoint(settings)!,
    irVersion: 0,
    producer: 'remote',
    opsets: [],
    inputs,
    outputs,
    metadata: {},
    externalData: [],
    initializers: 0,
    parameters: 0,
    nodes: 0,
  };
}
