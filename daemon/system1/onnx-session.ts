import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { lfsPointerMessage, readLfsPointer, errorText } from '../util/index.ts';
import { assertModelIsFile } from './onnx-model-file.ts';

export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt';

export interface SessionOptions {
  provider?: ExecutionProvider;
  /** Intra-op threads; 1 keeps a small policy from fighting the rest of the daemon for cores. */
  threads?: number;
}

export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

// onnxruntime-node loads CUDA and TensorRT from provider libraries beside its binding; the npm install
// fetches them only where asked to (and where CUDA exists). Without them ORT fails with a bare "Failed to
// load shared library" after printing to stderr, so check first and say what to do.
function bindingDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

export function providerAvailable(provider: ExecutionProvider): boolean {
  if (provider === 'cpu') return true;
  const lib =
    process.platform === 'win32' ? `onnxruntime_providers_${provider}.dll` : `libonnxruntime_providers_${provider}.so`;
  return existsSync(join(bindingDir(), lib));
}

/**
 * Opens an ONNX model from its path (never from bytes: a model with external weights, `.onnx.data`,
 * resolves them relative to its own path). Execution providers other than the CPU are checked before
 * ORT tries them, so a host without CUDA gets an error that says what is missing.
 */
export async function openOnnxSession(modelPath: string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const { provider = 'cpu', threads = 1 } = options;
  if (!existsSync(modelPath)) throw new Error(`ONNX model ${modelPath} does not exist`);
  assertModelIsFile(modelPath);
  // onnxruntime says only "protobuf parsing failed" of a pointer: say what it is.
  if (readLfsPointer(modelPath)) throw new Error(lfsPointerMessage([modelPath], 'ONNX model'));
  if (!providerAvailable(provider)) {
    throw new ProviderUnavailableError(
      `execution provider "${provider}" is not available on this host: onnxruntime-node has no ` +
        `libonnxruntime_providers_${provider} in ${bindingDir()} (it was installed without GPU support, or ` +
        `this host has no CUDA). On a host with CUDA 12${provider === 'tensorrt' ? ' and TensorRT' : ''}, fetch them with ` +
        `\`ONNXRUNTIME_NODE_INSTALL=true npm rebuild onnxruntime-node\`; otherwise set the policy's provider to cpu`,
    );
  }
  const executionProviders: ort.InferenceSession.SessionOptions['executionProviders'] =
    provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
  try {
    return await ort.InferenceSession.create(modelPath, {
      executionProviders,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new Error(`cannot load ONNX model ${modelPath} with provider ${provider}: ${errorText(error)}`);
  }
}

export { ort };
