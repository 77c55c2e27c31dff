import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { need, PEERS_CACHE } from './index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** What test/peers/python/openpi_server.py fails at, on purpose (its docstring says how each looks on the wire). */
export type OpenpiFault =
  'none' | 'stall' | 'close' | 'shape' | 'dtype' | 'nan' | 'huge' | 'garbage' | 'text' | 'unasked' | 'metadata';

export interface OpenpiServerOptions {
  /** act: LeRobot's ACT in PyTorch (random weights); ramp: NumPy alone, action k of chunk c is k + 1 + c. */
  policy: 'act' | 'ramp';
  chunk: number;
  actionDim: number;
  stateDim?: number;
  /** The ACT camera's [height, width]. */
  camera?: [number, number];
  apiKey?: string;
  tls?: { cert: string; key: string };
  fault?: OpenpiFault;
  delayMs?: number;
  /** The port to listen on (a server's again); default: one the kernel gives. */
  port?: number;
}

/** A running openpi_server.py. */
export interface OpenpiServer {
  /** ws://127.0.0.1:<port>, or wss:// with tls. */
  url: string;
  port: number;
  /** Observations answered so far, and connections taken (its stderr's stats lines). */
  readonly served: number;
  readonly connections: number;
  /** The last observation answered as the server took it: each array's NumPy dtype and shape, other values as sent. */
  readonly observation: Record<string, unknown> | undefined;
  /** From now on, fail so (or not: `none`); resolves once the server said it took it. */
  fault(fault: OpenpiFault): Promise<void>;
  /** Sleeps this long before each reply from now on. */
  delay(ms: number): Promise<void>;
  /** Ends the server (SIGKILL) and waits for its exit. */
  close(): Promise<void>;
}

/**
 * Python with openpi-client beside LeRobot (`bash test/peers/install openpi`); where it is missing the test is skipped
 * naming that command, or fails in CI (test/peers/missing.ts).
 */
export function openpiPython(): string {
  const python = need(join(PEERS_CACHE, 'lerobot', 'bin', 'python'), 'Python with LeRobot', 'openpi');
  need(join(PEERS_CACHE, 'lerobot', 'openpi.pins'), 'openpi-client in the LeRobot venv', 'openpi');
  return python;
}

/** test/peers/python/openpi_server.py, which the bench's own client (openpi_client_bench.py) is beside. */
export const OPENPI_SCRIPTS = join(HERE, 'python');

/** Starts openpi_server.py on a port of the kernel's and waits until it listens. */
export async function startOpenpiServer(options: OpenpiServerOptions): Promise<OpenpiServer> {
  const { policy, chunk, actionDim, stateDim = 6, camera = [48, 64], apiKey, tls, fault, delayMs, port = 0 } = options;
  const args = [
    join(OPENPI_SCRIPTS, 'openpi_server.py'),
    ...['--policy', policy, '--chunk', String(chunk), '--action-dim', String(actionDim)],
    ...['--state-dim', String(stateDim), '--camera', `${camera[0]}x${camera[1]}`, '--port', String(port)],
    ...(apiKey ? ['--api-key', apiKey] : []),
    ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : []),
    ...(fault ? ['--fault', fault] : []),
    ...(delayMs ? ['--delay-ms', String(delayMs)] : []),
  ];
  const child = spawn(openpiPython(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let stats: { served: number; connections: number; observation?: Record<string, unknown> } = {
    served: 0,
    connections: 0,
  };
  let stderr = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('{"served"')) stats = { ...stats, ...(JSON.parse(line) as typeof stats) };
    else stderr = `${stderr}${line}\n`.slice(-4000);
  });
  const next = async (what: string): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`openpi_server.py ended before ${what}:\n${stderr}`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const { port: listening } = (await next('listening')) as { port: number };
  const say = async (line: string): Promise<void> => {
    child.stdin!.write(`${line}\n`);
    await next(`taking "${line}"`);
  };
  return {
    url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${listening}`,
    port: listening,
    get served() {
      return stats.served;
    },
    get connections() {
      return stats.connections;
    },
    get observation() {
      return stats.observation;
    },
    fault: (name) => say(`fault ${name}`),
    delay: (ms) => say(`delay ${ms}`),
    close: () => stop(child),
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
