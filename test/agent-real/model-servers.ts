import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { llmPeers } from '../peers/llm.ts';
import { runPeer } from '../peers/index.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import type { LlmEndpointSettings } from '../../daemon/config/index.ts';

/** The two real OpenAI-compatible servers the tests run, both built by `bash test/peers/install llm`. */
export const SERVER_KINDS = ['llama-server', 'llama-cpp-python'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** The model id both servers list (GET /v1/models) for the tests' model. */
export const MODEL_ID = 'edge-test';

/**
 * What differs per server in an endpoint's settings, as docs/system2-and-agent.md tells a user to set it:
 * llama-cpp-python's server constrains to a schema only through `json_object` with the schema beside it.
 */
export const ENDPOINT_SETTINGS: Record<ServerKind, Partial<LlmEndpointSettings>> = {
  'llama-server': { structured_outputs: 'response_format' },
  'llama-cpp-python': { structured_outputs: 'json_object' },
};

/** A real model server on a loopback port, serving the tests' model (test/peers/llm/make_model.py). */
export interface ModelServer {
  kind: ServerKind;
  baseUrl: string;
  port: number;
  /** Its process id (for SIGSTOP and SIGCONT). */
  pid(): number;
  /** SIGSTOP: the process is there and its socket accepts, but it never answers. SIGCONT undoes it. */
  pause(): void;
  resume(): void;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  start(): Promise<void>;
  close(): Promise<void>;
  /** What the server wrote, for a test's failure message. */
  log(): string;
}

/** The chat templates make_model.py writes into the model: its own, or one written as a model family writes theirs. */
export type ChatTemplate = 'chatml-tools' | 'llama3' | 'qwen2.5' | 'mistral';

/** Writes the tests' model into a temp dir; `cleanup` removes it. Under a second on this machine. */
export async function writeTestModel(
  template: ChatTemplate = 'chatml-tools',
): Promise<{ path: string; cleanup: () => void }> {
  const peers = llmPeers();
  const dir = tempDir('llm-model-');
  const path = join(dir.path, 'edge-test.gguf');
  await runPeer(peers.python, [peers.makeModel, path, template]);
  return { path, cleanup: dir.cleanup };
}

/** The command line that serves `model` on `port`: one slot, one thread, greedy unless a request says otherwise. */
function command(kind: ServerKind, model: string, port: number): [string, string[]] {
  const peers = llmPeers();
  if (kind === 'llama-server')
    return [
      peers.llamaServer,
      [
        '-m',
        model,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--alias',
        MODEL_ID,
        '--jinja',
        '-c',
        '16384',
      ].concat(['-t', '1', '-np', '1', '--no-webui']),
    ];
  return [
    peers.python,
    ['-m', 'llama_cpp.server', '--model', model, '--host', '127.0.0.1', '--port', String(port)].concat([
      '--model_alias',
      MODEL_ID,
      '--n_ctx',
      '16384',
      '--n_threads',
      '1',
    ]),
  ];
}

/** Starts a real model server and waits until it lists the model. */
export async function startModelServer(kind: ServerKind, model: string): Promise<ModelServer> {
  const port = await closedPort();
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const [bin, args] = command(kind, model, port);
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    await waitFor(
      async () => {
        if (c.exitCode !== null || c.signalCode !== null)
          throw new Error(`${kind} exited at start (${c.exitCode ?? c.signalCode}): ${output.slice(-2000)}`);
        const r = await fetch(`${baseUrl}/models`).catch(() => undefined);
        return r?.ok === true;
      },
      `${kind} to serve ${MODEL_ID}`,
      60_000,
    );
  };
  await start();
  return {
    kind,
    baseUrl,
    port,
    pid: () => child!.pid!,
    pause: () => child!.kill('SIGSTOP'),
    resume: () => child!.kill('SIGCONT'),
    kill: () => stopChild(child, 'SIGKILL'),
    start,
    close: async () => {
      child?.kill('SIGCONT');
      await stopChild(child, 'SIGKILL');
    },
    log: () => output,
  };
}
