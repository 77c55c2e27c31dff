import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { need, PEERS_CACHE } from './index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The OpenAI-compatible model servers System 2's real-peer tests run, and what writes their model. */
export interface LlmPeers {
  /** llama.cpp's own C++ server, built from the llama.cpp that llama-cpp-python's source package vendors. */
  llamaServer: string;
  /** Python with llama-cpp-python[server] (`-m llama_cpp.server`), gguf and numpy. */
  python: string;
  /** test/peers/llm/make_model.py: writes the tests' tiny GGUF model (run under `python`). */
  makeModel: string;
}

/**
 * The model servers `bash test/peers/install llm` builds (test/peers/llm/install.sh); where one is missing the
 * test is skipped naming that command, or fails in CI (test/peers/missing.ts).
 */
export function llmPeers(): LlmPeers {
  return {
    llamaServer: need(join(PEERS_CACHE, 'llm', 'bin', 'llama-server'), "llama.cpp's llama-server", 'llm'),
    python: need(join(PEERS_CACHE, 'llm', 'venv', 'bin', 'python'), 'Python with llama-cpp-python[server]', 'llm'),
    makeModel: join(HERE, 'llm', 'make_model.py'),
  };
}
