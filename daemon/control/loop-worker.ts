import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import '../bus/cdr-utf8.ts';
import { ActionChunker } from '../../adapters/lerobot/action-chunker.ts';
import { compileCommand, type CommandBuilder } from '../../adapters/lerobot/action-command.ts';
import { readOnnxModelInfo } from '../../adapters/lerobot/onnx-model-file.ts';
import { PolicyRunner } from '../../adapters/lerobot/policy-runner.ts';
import { resolvePolicySpec, type PolicySpec } from '../../adapters/lerobot/policy-spec.ts';
import type { Twist } from '../policy/tool-inputs.ts';
import { ZERO_TWIST } from '../policy/velocity.ts';
import { isFiniteAction, velocityFrame } from './command-safety.ts';
import { planLoop, type LoopPlan } from './loop-plan.ts';
import type { InferenceReply, InferenceRequest, LoopWorkerData, LoopWorkerMessage } from './loop-protocol.ts';
import { LoopReports } from './loop-reports.ts';
import { LoopState } from './loop-state.ts';
import { ObservationBoard } from './observation-board.ts';
import { applyThreadScheduling } from './thread-scheduling.ts';
import { monotonicMs } from './loop-clock.ts';
import { nowNs } from '../contract/time.ts';

/**
 * A control loop's thread. It sleeps on the shared stop flag until each tick is due, reads the latest
 * observations from the board, runs the policy (or pops a queued action of a chunk), and posts the command
 * bytes to the main thread, which publishes them. It never waits on the main thread: a stale observation
 * makes it send the safe action; a late chunk is an underrun.
 */
const data = workerData as LoopWorkerData;
const port = parentPort!;
const post = (m: LoopWorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const state = new LoopState(data.topicCount, data.stateBuffer);
const board = new ObservationBoard({ lengths: data.boardLengths }, data.boardBuffer);

interface Inference {
  /** Step and inline: runs the policy here. */
  runner?: PolicyRunner;
  /** Async: the port to the inference thread (which the main thread runs): requests go out, chunks come back. */
  channel?: MessagePort;
}

interface Setup {
  spec: PolicySpec;
  plan: LoopPlan;
  inference: Inference;
  build: CommandBuilder | undefined;
}

async function setup(): Promise<Setup> {
  const spec = resolvePolicySpec(data.policyName, data.policy, readOnnxModelInfo(data.policy.model));
  const plan = planLoop(data.name, data.loop, spec);
  const command = plan.output.command;
  const build = command ? compileCommand(command, plan.output.dim, `policies.${data.policyName}.outputs.${plan.output.name}.command`) : undefined;
  if (plan.mode !== 'async') return { spec, plan, inference: { runner: await PolicyRunner.open(data.policyName, data.policy) }, build };
  // The main thread loaded the session in the inference thread before it started this one.
  if (!data.inference) throw new Error('async chunking without a port to the inference thread');
  return { spec, plan, inference: { channel: data.inference }, build };
}

async function main(): Promise<void> {
  let setupResult: Setup;
  try {
    setupResult = await setup();
  } catch (error) {
    post({ kind: 'fatal', message: (error as Error).message });
    return;
  }
  const { spec: policySpec, plan, inference, build } = setupResult;
  const writer = data.commandDefinitions ? new MessageWriter(data.commandDefinitions) : undefined;
  const periodMs = 1000 / data.loop.rate_hz;
  const dim = plan.output.dim;

  // Input buffers, filled in place each tick; constants once.
  const inputs: Record<string, Float32Array> = {};
  for (const input of policySpec.inputs) {
    if (input.recurrent !== undefined) continue;
    const buf = new Float32Array(input.size);
    for (const s of input.sources) if (s.kind === 'constant') buf.set(s.settings.constant!, s.offset);
    inputs[input.name] = buf;
  }
  const previousSlices = policySpec.inputs.flatMap((input) => input.sources.filter((s) => s.kind === 'previous_output').map((s) => ({ input: input.name, s })));

  const chunker = plan.mode === 'step' ? undefined : new ActionChunker({ chunkSize: plan.chunkSize, threshold: data.loop.chunking.threshold, aggregate: data.loop.chunking.aggregate });
  const staleNow = new Array<boolean>(plan.topics.length).fill(false);
  const staleSeen = new Array<boolean>(plan.topics.length).fill(false);
  /** Per topic, the age (ms) of its message this tick; NaN: none ever came. */
  const ages = new Array<number>(plan.topics.length).fill(Number.NaN);
  const reports = new LoopReports({ post, slots: plan.topics, intervalMs: data.logIntervalMs });
  /** The last action popped from a chunk and when (monotonic ms): what on_underrun: hold holds, and for how long. */
  let held: { action: Float32Array; atMs: number } | undefined;
  let errors = 0;

  const frame = velocityFrame(plan.output.command, data.velocity);
  const latchZero = plan.output.command?.type === 'geometry_msgs/msg/Twist';
  let nonFinite = 0;

  const emit = (given: Float32Array, givenSafe: boolean): void => {
    let action = given;
    let safe = givenSafe;
    // A latched operator's stop: the policy goes on (its chunks stay current), the robot gets the safe action.
    if (!safe && state.held) {
      state.add('held');
      action = plan.safeAction;
      safe = true;
    }
    if (!isFiniteAction(action)) {
      nonFinite++;
      state.add('non_finite');
      reports.problem({ kind: 'non_finite', values: Array.from(action), count: nonFinite });
      action = plan.safeAction;
      safe = true;
    }
    state.add('published');
    if (!build || !writer) return;
    let message = build(action, dim, nowNs(), periodMs / 1000);
    // While latched a Twist goes out as zero, whatever the safe action: one that moves
    // (allow_moving_safe_action) is for stale observations, not for a robot an operator stopped.
    if (state.held && latchZero) message = ZERO_TWIST;
    else if (frame) {
      const limited = frame(message as Twist);
      if (limited.clamped) state.add('clamped');
      message = limited.twist;
    }
    const bytes = writer.writeMessage(message);
    const values = action.slice();
    post({ kind: 'command', data: bytes, values, safe }, [bytes.buffer as ArrayBuffer, values.buffer]);
  };

  const fail = (error: unknown): void => {
    errors++;
    state.add('errors');
    // A broken input at 1 kHz must not flood the log: LoopReports lets a line a minute through.
    reports.problem({ kind: 'error', message: (error as Error).message, count: errors });
  };

  /** Reads the board; true when every topic slice is fresh. Staleness is counted and reported per topic. */
  const gather = (): boolean => {
    const now = monotonicMs();
    staleSeen.fill(false);
    for (const slot of plan.slots) {
      const t = board.read(slot.slot, inputs[slot.input]!, slot.offset);
      const age = now - t;
      if (Number.isNaN(t) || age > slot.maxAgeMs) staleSeen[slot.topicIndex] = true;
      ages[slot.topicIndex] = age;
    }
    let fresh = true;
    for (let i = 0; i < staleSeen.length; i++) {
      const stale = staleSeen[i]!;
      const age = ages[i]!;
      if (stale) {
        fresh = false;
        state.staleBySource[i]!++;
        if (!staleNow[i]) reports.transition(i, true, Number.isNaN(age) ? null : Math.round(age));
      } else if (staleNow[i]) {
        reports.transition(i, false, Math.round(age));
      }
      staleNow[i] = stale;
    }
    return fresh;
  };

  const snapshotInputs = (): Record<string, Float32Array> => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.slice()]));

  /** Runs the policy in this thread (step and inline): previous_output slices first take the last run's outputs. */
  const runHere = (runner: PolicyRunner): ReturnType<PolicyRunner['run']> => {
    for (const { input, s } of previousSlices) inputs[input]!.set(runner.previousOutput(s.settings.previous_output!, s.length), s.offset);
    return runner.run(inputs);
  };

  /**
   * The request in flight to the inference thread: when it went out (monotonic ms) and whether it has been
   * counted overdue. A run can't be interrupted (see closeWorker), so an overdue one is only reported; the
   * queue runs dry meanwhile and the robot gets the on_underrun action, as it would from a slow policy.
   */
  let request: { sentMs: number; overdue: boolean; logged: boolean } | undefined;
  const timeoutMs = data.loop.chunking.inference_timeout_ms;
  let overdue = 0;
  const checkOverdue = (): void => {
    if (!request || request.overdue) return;
    const waitedMs = monotonicMs() - request.sentMs;
    if (waitedMs <= timeoutMs) return;
    request.overdue = true;
    overdue++;
    state.add('inference_overdue');
    request.logged = reports.problem({ kind: 'inference_overdue', waitedMs: Math.round(waitedMs), limitMs: timeoutMs, count: overdue });
  };

  const pollReplies = (): void => {
    if (!inference.channel || !chunker) return;
    for (let m = receiveMessageOnPort(inference.channel); m; m = receiveMessageOnPort(inference.channel)) {
      const reply = m.message as InferenceReply;
      // Said only of a chunk whose overdue line was logged, so the two pair up.
      if (request?.logged) post({ kind: 'inference_late', tookMs: Math.round(monotonicMs() - request.sentMs) });
      request = undefined;
      state.set('inference_sent_ms', 0);
      if (reply.kind === 'chunk') {
        chunker.receive(reply.timestep, reply.data, reply.dim);
        state.add('chunks');
      } else if (reply.kind === 'error') {
        chunker.observationFailed();
        fail(new Error(`inference failed: ${reply.message}`));
      }
    }
  };

  const tick = async (): Promise<void> => {
    pollReplies();
    checkOverdue();
    if (!gather()) {
      state.add('stale');
      chunker?.clear();
      held = undefined;
      emit(plan.safeAction, true);
      return;
    }
    if (!chunker) {
      const outputs = await runHere(inference.runner!);
      emit(outputs[plan.output.name]!.data, false);
      return;
    }
    if (state.inferenceDead) {
      // No chunk will come: the robot gets the safe action, not the rest of an old plan nor nothing
      // (on_underrun: skip), until the control component restarts the loop.
      chunker.clear();
      held = undefined;
      emit(plan.safeAction, true);
      return;
    }
    if (inference.runner && chunker.wantsObservation()) {
      // Inline: the chunk is planned from this tick's observation, before this tick's action: its first
      // action is for the timestep this tick executes.
      const t = chunker.observationSent(true);
      try {
        const outputs = await runHere(inference.runner);
        const o = outputs[plan.output.name]!;
        chunker.receive(t, o.data, o.dim);
        state.add('chunks');
      } catch (error) {
        chunker.observationFailed();
        throw error;
      }
    }
    const next = chunker.pop();
    if (next) {
      emit(next.action, false);
      held = { action: next.action, atMs: monotonicMs() };
    } else if (data.loop.on_underrun !== 'skip') {
      // A held action grows old as an observation does: past max_observation_age_ms (a hung or slow
      // inference) the robot gets the safe action, not a command planned that long ago.
      if (data.loop.on_underrun === 'hold' && held && monotonicMs() - held.atMs <= data.loop.max_observation_age_ms) emit(held.action, false);
      else emit(plan.safeAction, true);
    }
    if (inference.channel && chunker.wantsObservation()) {
      // Async, in LeRobot's client's order: this tick's action first, then the queue as it is now decides,
      // and the observation (taken at the tick's start) is stamped with the timestep just executed.
      inference.channel.postMessage({ timestep: chunker.observationSent(), inputs: snapshotInputs() } satisfies InferenceRequest);
      request = { sentMs: monotonicMs(), overdue: false, logged: false };
      state.set('inference_sent_ms', request.sentMs);
    }
  };

  // Before `ready`: the main thread counts a loop alive from its start until the first tick.
  state.set('started_ms', monotonicMs());
  const scheduling = applyThreadScheduling({ policy: data.loop.scheduling, rtPriority: data.loop.rt_priority, nice: data.loop.nice, cpus: data.loop.cpu_affinity });
  post({ kind: 'ready', mode: plan.mode, chunkSize: plan.chunkSize, dim, tid: scheduling.tid, scheduling: scheduling.summary });
  let scheduled = performance.now() + periodMs;
  while (!state.stopRequested) {
    state.sleep(scheduled - performance.now());
    if (state.stopRequested) break;
    const started = performance.now();
    try {
      await tick();
    } catch (error) {
      fail(error);
      emit(plan.safeAction, true);
    }
    const finished = performance.now();
    state.recordTiming((finished - scheduled) * 1000, Math.max(0, started - scheduled) * 1000);
    state.add('ticks');
    if (chunker) state.set('underruns', chunker.counters.underruns);
    if (finished > scheduled + periodMs) state.add('missed');
    state.set('heartbeat_ms', monotonicMs());
    reports.tick();
    scheduled += periodMs;
    // More than a whole period behind: skip the ticks that can no longer be on time, and count them.
    const behind = Math.floor((performance.now() - scheduled) / periodMs);
    if (behind > 0) {
      scheduled += behind * periodMs;
      state.add('skipped', behind);
      state.add('missed', behind);
    }
  }
  // Leave the robot in a safe state: one safe command on the way out.
  emit(plan.safeAction, true);
  reports.flush();
  await inference.runner?.close();
  // The inference thread is the main thread's: it asks it to close once this thread has stopped, and
  // leaves it to finish a run in flight (never terminated inside one, see closeWorker).
  inference.channel?.close();
  post({ kind: 'stopped' });
}

// No top-level await: workers load their entry as CommonJS (see spawn-worker.ts). A rejection still ends the
// thread with an 'error' event, as an uncaught error.
void main();
