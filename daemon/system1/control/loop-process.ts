import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { spawnTsWorker, workerEntry } from '../../util/index.ts';
import { COMMAND_FD, CommandRecordReader } from './command-records.ts';
import type { FrameSink } from './frame-feed.ts';
import { LoopFolder } from './loop-folder.ts';
import type { ImageSlot } from './loop-plan.ts';
import type {
  FromLoopProcess,
  InferenceReply,
  InferenceRequest,
  LoopProcessData,
  LoopWorkerMessage,
  ToLoopProcess,
} from './loop-protocol.ts';
import type { LoopState } from './loop-state.ts';
import type { HaltRelayData } from './halt-relay-worker.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';

/**
 * A loop process's heaps hold the loop's modules, its model's session and its state's updates, never the daemon's
 * data: small limits, and no memory reducer (its mark-compacts were 13 to 21 ms pauses in a loop thread; see
 * without-memory-reducer.ts).
 */
const EXEC_ARGV = ['--max-old-space-size=128', '--max-semi-space-size=2', '--no-memory-reducer'];

export interface LoopProcessOptions {
  data: LoopProcessData;
  /** The daemon's copy of the loop's state, kept current from the process's updates (alive, stats, recent). */
  state: LoopState;
  /** The daemon's stop line: relayed to the process by a thread of its own (halt-relay-worker.ts). */
  haltLine?: SharedArrayBuffer;
  /** The loop's cameras (LoopPlan.images): each gets a frame file in the process's folder (frameSinks). */
  images: ImageSlot[];
  /** Tests only: the process's entry (default loop-process-child.ts). */
  entry?: URL;
}

type LoopProcessEvents = {
  /** What the loop thread posted, as a thread-isolated loop's worker posts it. */
  message: [LoopWorkerMessage];
  /** The loop thread failed, or the process was killed by a signal; `exit` follows. */
  error: [Error];
  /** The process ended (a signal's end counts as code 1), and every command it wrote has been read. */
  exit: [number];
  /** The async loop's inference thread died in the process; the loop ticks on at its safe action. */
  inferenceDeath: [Error];
  /** An observation for a policy asked over Zenoh: the daemon asks it and answers with inferenceReply. */
  inferenceRequest: [InferenceRequest];
};

/**
 * A control loop in a child process of its own (isolation: process), seen from the daemon's main thread as its
 * worker is for a thread: the same messages, `error` and `exit`. Observations and camera frames go to it through
 * files of its folder, which it maps (board-file.ts, frame-file.ts); its loop thread writes its commands to a pipe of
 * their own (command-records.ts); the daemon's stop line goes through a relay thread and a Unix socket. Its fork
 * channel carries only control: the start, the latch's word, the stop, its state every 50 ms and its reports.
 * Callers must `requestClose()` and wait for `exit` (or `terminate()`) before dropping it: its relay thread and
 * folder go with the process.
 */
export class LoopProcess extends EventEmitter<LoopProcessEvents> {
  readonly #child: ChildProcess;
  readonly #state: LoopState;
  readonly #pings = new Map<number, () => void>();
  readonly #folder: LoopFolder;
  #nextPing = 0;
  #remote: RemoteStatus | undefined;

  private constructor(child: ChildProcess, relay: Worker | undefined, folder: LoopFolder, state: LoopState) {
    super();
    this.#child = child;
    this.#folder = folder;
    this.#state = state;
    child.on('message', (m: FromLoopProcess) => this.#received(m));
    child.on('error', (error) => this.#fail(new Error(`loop process: ${error.message}`)));
    const commands = new CommandRecordReader();
    child.stdio[COMMAND_FD]!.on('data', (chunk: Buffer) => commands.push(chunk, (m) => this.emit('message', m)));
    // 'close', not 'exit': the process's last commands (its safe action on the way out) are read by then.
    child.once('close', (code, signal) => {
      void relay?.terminate(); // the relay runs no model: safe to end at any point
      void folder.remove();
      for (const answered of this.#pings.values()) answered();
      if (signal) this.#fail(new Error(`loop process ${child.pid} was killed by ${signal}`));
      this.emit('exit', code ?? 1);
    });
  }

  /**
   * Makes the process's folder (its board and frame files), starts the stop relay (when there is a stop line), then
   * the process, and sends it the loop to run.
   */
  static async start(options: LoopProcessOptions): Promise<LoopProcess> {
    const { data, state, haltLine, images, entry = workerEntry('daemon/system1/control/loop-process-child') } = options;
    const folder = await LoopFolder.create(data.boardLengths, images);
    let relay: Worker | undefined;
    let stopSocket: string | undefined;
    if (haltLine) {
      stopSocket = join(folder.path, 'stop.sock');
      const { scheduling: policy, rt_priority: rtPriority, nice, cpu_affinity: cpus } = data.loop;
      relay = spawnTsWorker(workerEntry('daemon/system1/control/halt-relay-worker'), {
        workerData: {
          haltLine,
          path: stopSocket,
          scheduling: { policy, rtPriority, nice, cpus },
        } satisfies HaltRelayData,
      });
      await listening(relay).catch(async (error: unknown) => {
        await folder.remove();
        throw error;
      });
    }
    const typescript = entry.pathname.endsWith('.ts');
    const child = fork(entry, [], {
      execArgv: [...EXEC_ARGV, ...(typescript ? ['--import', import.meta.resolve('tsx')] : [])],
      serialization: 'advanced', // typed arrays cross as they are
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'], // fd 4: the command records
    });
    const loop = new LoopProcess(child, relay, folder, state);
    const files = { boardFile: folder.board.path, frameFiles: folder.framePaths, commandFd: COMMAND_FD };
    loop.#send({ kind: 'start', data: { ...data, ...files }, stopSocket });
    return loop;
  }

  /** The chunk (or failure) for an inferenceRequest, to the loop thread. */
  inferenceReply(reply: InferenceReply): void {
    this.#send({ kind: 'inference_reply', reply });
  }

  /** Its remote policy's status as the process last said; undefined for a local policy. */
  get remote(): RemoteStatus | undefined {
    return this.#remote;
  }

  /** Where the loop's cameras' frames go, by slot: the files its loop thread maps. */
  get frameSinks(): FrameSink[] {
    return this.#folder.frames;
  }

  /** The process's id, while it runs. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** A board slot's new value, written to the process's board file (RelayedBoard calls it for each write). */
  observation(slot: number, values: Float32Array, timeMs: number): void {
    this.#folder.board.write(slot, values, timeMs);
  }

  /** The main thread's word on the operator's latch (LoopState.setHeld, in the process). */
  setHeld(held: boolean): void {
    this.#send({ kind: 'held', held });
  }

  /** An episode began: the loop process's thread drops what it planned in the one before. */
  beginEpisode(): void {
    this.#send({ kind: 'episode' });
  }

  /** Asks the loop to send its safe action and end, with its process. */
  requestClose(): void {
    this.#send({ kind: 'stop' });
  }

  /** Sends `values` there and back over the channel: resolves with the round trip in ms. */
  ping(values: Float32Array): Promise<number> {
    const id = this.#nextPing++;
    const sent = performance.now();
    return new Promise((resolve) => {
      this.#pings.set(id, () => resolve(performance.now() - sent));
      this.#send({ kind: 'ping', id, values });
    });
  }

  /** Ends the process at once. Unlike a thread, a process may be ended inside onnxruntime: only it goes. */
  async terminate(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGKILL');
    await exited;
  }

  /** Lets the daemon exit while a process it gave up waiting for finishes on its own (see closeWorker). */
  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref();
    (this.#child.stdio[COMMAND_FD] as Socket | null)?.unref();
  }

  #send(m: ToLoopProcess): void {
    // A process that has ended takes nothing more; its exit tells the rest.
    if (this.#child.connected) this.#child.send(m);
  }

  #received(m: FromLoopProcess): void {
    if (m.kind === 'state') this.#state.apply(m.update);
    else if (m.kind === 'pong') {
      this.#pings.get(m.id)?.();
      this.#pings.delete(m.id);
    } else if (m.kind === 'inference_died') this.emit('inferenceDeath', new Error(m.message));
    else if (m.kind === 'remote') this.#remote = m.status;
    else if (m.kind === 'inference_request') this.emit('inferenceRequest', m.request);
    else if (m.kind === 'thread_error') this.#fail(new Error(m.message));
    else this.emit('message', m);
  }

  #fail(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** Waits for the relay's `listening`; rejects if it failed first. */
function listening(relay: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    relay.once('message', () => resolve());
    relay.once('error', (error) => reject(new Error(`the stop relay thread failed: ${error.message}`)));
    relay.once('exit', (code) => reject(new Error(`the stop relay thread exited with code ${code}`)));
  });
}
