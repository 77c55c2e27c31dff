import { readFileSync } from 'node:fs';
import type { PolicySettings } from '../../config/index.ts';
import { errorText } from '../../util/index.ts';
import { ManifestError } from '../policy-spec.ts';
import type { OpenpiClientOptions } from './openpi-client.ts';

/** Each input's declared shape, by name (policies.<name>.inputs.<input>.shape; checked at config load). */
export function declaredShapes(settings: PolicySettings): Map<string, readonly number[]> {
  return new Map(Object.entries(settings.inputs).map(([name, input]) => [name, input.shape ?? []]));
}

/** The action output's declared [chunk, size]. */
export function declaredChunk(name: string, settings: PolicySettings, output: string): [number, number] {
  const shape = settings.outputs[output]?.shape;
  if (shape?.length !== 2)
    throw new ManifestError(
      `policies.${name}.outputs.${output}.shape: a remote policy's action output is [chunk, size]`,
    );
  return [shape[0]!, shape[1]!];
}

/** An openpi policy's client options from its settings; its CA file read here, a missing one named by its key. */
export function openpiOptions(name: string, settings: PolicySettings, output: string): OpenpiClientOptions {
  const remote = settings.remote!;
  let ca = '';
  if (remote.ca_file !== '') {
    try {
      ca = readFileSync(remote.ca_file, 'utf8');
    } catch (error) {
      throw new ManifestError(`policies.${name}.remote.ca_file: cannot read ${remote.ca_file}: ${errorText(error)}`);
    }
  }
  return {
    url: remote.openpi!,
    apiKey: remote.api_key,
    ca,
    shapes: declaredShapes(settings),
    fields: remote.fields,
    output,
    maxReplyBytes: remote.max_reply_bytes,
    connectTimeoutMs: Math.max(remote.timeout_ms, 2000),
    reconnectMinMs: remote.reconnect_min_ms,
    reconnectMaxMs: remote.reconnect_max_ms,
  };
}
