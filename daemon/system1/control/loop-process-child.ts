import { connect, type Socket } from 'node:net';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { policyModelInfo } from '../remote/remote-spec.ts';
import { resolvePolicySpec } from '../policy-spec.ts';
import {
  applyProcessScheduling,
  applyThreadScheduling,
  spawnTsWorker,
  workerEntry,
  errorText,
} from '../../util/index.ts';
import { InferenceThread } from './inference-thread.ts';
import { planLoop } from './loop-plan.ts';
import type {
  FromLoopProcess,
  InferenceRequest,
  LoopProcessData,
  LoopWorkerData,
  LoopWorkerMessage,
  ToLoopProcess,
} from './loop-protocol.ts';
import { LoopState } from './loop-state.ts';
import { HaltLine } from '../../halt/index.ts';

/** How often the loop's counters and samples go to the daemon: its watchdog reads the heartbeat among them. */
const LOOP_STATE_INTERVAL_MS = 50;
const CLOSE_TIMEOUT_MS = 2000;
/**
 * Why this process does not mlockall: V8 frees heap pages with madvise(MADV_DONTNEED), which fails on locked pages,
 * and it aborts the process when that fails (seen with mlockall through koffi, MCL_CURRENT alone as well).
 */
const MEMORY_LOCK = 'memory locked: no (V8 aborts when it frees locked heap pages)';

/**
 * A control loop's process (control.loops.<name>.isolation: process). Its loop thread runs loop-worker.ts, the
 * entry a thread-isolated loop runs: it maps the board and frame files the daemon writes and writes its commands to
 * the command pipe itself, so the daemon's garbage collection, event loop and V8 helper threads are another
 * process's, and this, its main thread, is on no tick's path. It relays control only: the daemon's stop line (from
 * its stop relay's socket) onto a line of this process, the latch's word and the stop, the loop's state and reports
 * back. A daemon that stalls makes observations old, as for a thread.
 */
const send = (m: FromLoopProcess): void => void (process.connected && process.send!(m));

process.once('message', (m: ToLoopProcess) => {
  if (m.kind !== 'start') throw new Error(`a loop process starts with "start", got "${m.kind}"`);
  start(m).catch((error: unknown) => {
    // Out once the message is: the daemon's start fails with it, not with this process's exit.
    process.exitCode = 1;
    process.send!({ kind: 'fatal', message: errorText(error) } satisfies FromLoopProcess, () => process.disconnect());
  });
});

async function start({ data, stopSocket }: Extract<ToLoopProcess, { kind: 'start' }>): Promise<void> {
  const haltLine = new HaltLine();
  // Heard before the first tick: a loop started under a latched stop is held from its first command.
  const relaySocket = stopSocket ? await hearStops(stopSocket, haltLine) : undefined;
  const spec = resolvePolicySpec(data.policyName, data.policy, policyModelInfo(data.policyName, data.policy));
  const plan = planLoop(data.name, data.loop, spec);
  const state = new LoopState(plan.topics.length);
  let inference: InferenceThread | undefined;
  let inferencePort: MessagePort | undefined;
  /** A policy served over Zenoh: the daemon asks it, with its link; this end relays the loop thread's channel. */
  let relayed: MessagePort | undefined;
  if (plan.mode === 'async' && data.policy.remote?.zenoh !== undefined) {
    const { port1, port2 } = new MessageChannel();
    port2.on('message', (request: InferenceRequest) => send({ kind: 'inference_request', request }));
    [inferencePort, relayed] = [port1, port2];
  } else if (plan.mode === 'async') {
    const { port1, port2 } = new MessageChannel();
    inference = await InferenceThread.start({
      policyName: data.policyName,
      policy: data.policy,
      output: plan.output.name,
      port: port2,
      onDeath: (error) => {
        state.markInferenceDead();
        send({ kind: 'inference_died', message: error.message });
      },
      onRemote: (status) => send({ kind: 'remote', status }),
    });
    inferencePort = port1;
  }
  const worker = spawnTsWorker(workerEntry('daemon/system1/control/loop-worker'), {
    workerData: {
      ...data,
      stateBuffer: state.buffer,
      haltLine: haltLine.buffer,
      frameBuffers: [],
      inference: inferencePort,
    } satisfies LoopWorkerData,
    transferList: inferencePort ? [inferencePort] : [],
  });
  relay(worker, state, inference, data, relayed);
  worker.once('exit', () => relaySocket?.destroy());
}

/** Connects to the daemon's stop relay and mirrors its words onto `line`; resolves once the first came. */
function hearStops(path: string, line: HaltLine): Promise<Socket> {
  const frame = line.words().byteLength;
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0);
    const socket = connect(path);
    socket.on('error', (error) => reject(new Error(`the stop relay's socket ${path}: ${error.message}`)));
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= frame) {
        line.mirror(new Int32Array(pending.buffer.slice(pending.byteOffset, pending.byteOffset + frame)));
        pending = pending.subarray(frame);
      }
      resolve(socket);
    });
    // The daemon's side closed: its process is going. The fork channel's disconnect closes the loop.
    socket.on('close', () => reject(new Error(`the stop relay's socket ${path} closed`)));
  });
}

/** Relays the daemon's messages to the loop, and the loop's to the daemon, until the loop thread exits. */
function relay(
  worker: Worker,
  state: LoopState,
  inference: InferenceThread | undefined,
  data: LoopProcessData,
  relayed: MessagePort | undefined,
): void {
  let written = 0;
  const sendState = (): void => {
    const update = state.update(written);
    written = update.written;
    send({ kind: 'state', update });
  };
  const timer = setInterval(sendState, LOOP_STATE_INTERVAL_MS);
  process.on('message', (m: ToLoopProcess) => {
    if (m.kind === 'held') state.setHeld(m.held);
    else if (m.kind === 'episode') state.beginEpisode();
    else if (m.kind === 'stop') state.requestClose();
    else if (m.kind === 'ping') send({ kind: 'pong', id: m.id });
    // Transferred on: the loop thread takes the chunk's buffer as it is.
    else if (m.kind === 'inference_reply')
      relayed?.postMessage(m.reply, m.reply.kind === 'chunk' ? [m.reply.data.buffer as ArrayBuffer] : []);
  });
  // The daemon is gone (or let go of this process): the loop sends its safe action and ends, as when closed. A loop
  // thread that cannot (inside a run, or waiting on a board slot the daemon died writing) goes with the process.
  process.on('disconnect', () => {
    state.requestClose();
    setTimeout(() => process.exit(1), CLOSE_TIMEOUT_MS).unref();
  });
  worker.on('message', (m: LoopWorkerMessage) => {
    if (m.kind === 'ready') {
      // The model is loaded and warm: from here on every thread of this process runs at the loop's priority.
      const { scheduling: policy, rt_priority: rtPriority, nice, cpu_affinity: cpus } = data.loop;
      const threads = applyProcessScheduling({ policy, rtPriority, nice, cpus });
      // This thread one below: a tick preempts its relaying (a burst of observations), never waits behind it.
      const relaying = applyThreadScheduling({ policy, rtPriority: Math.max(1, rtPriority - 1), nice, cpus });
      sendState();
      return send({
        ...m,
        scheduling: `${m.scheduling}; process ${process.pid}: ${threads}, its relay ${relaying.summary}; ${MEMORY_LOCK}`,
      });
    }
    if (m.kind === 'stopped') sendState();
    send(m);
  });
  worker.on('error', (error) => send({ kind: 'thread_error', message: error.message }));
  worker.on('exit', (code) => {
    clearInterval(timer);
    relayed?.close();
    sendState();
    void (inference?.close(CLOSE_TIMEOUT_MS) ?? Promise.resolve()).then(() => {
      process.exitCode = code;
      if (process.connected) process.disconnect();
    });
  });
}
