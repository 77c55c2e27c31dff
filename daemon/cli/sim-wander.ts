import type { CommandIO } from '../cli-kit/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { loadScanPolicy } from '../components/index.ts';
import { unlessAborted } from '../util/index.ts';
import { abortReason, holdRobot, runStartedSim, type SimStarted, stoppedBy } from './sim-start.ts';
import {
  busSummary,
  failedComponents,
  failedLines,
  indexLastSplit,
  recordedBags,
  recordingLines,
  round,
  watchHints,
} from './sim-summary.ts';

// --driver policy: System 1's ONNX obstacle-avoidance policy drives in a control loop for --duration sim seconds.

export async function wander(
  config: EdgeConfig,
  file: string | undefined,
  duration: number,
  { json, textLog }: { json: boolean; textLog: boolean },
  io: CommandIO,
): Promise<number> {
  const scanPolicy = await (await import('../components/index.ts')).loadScanPolicy();
  const { histogramPercentile } = await import('../system1/index.ts');
  // wanderStarted holds the robot before its first await, in the tick startSim checked the latch in.
  return runStartedSim(config, file, io, { textLog }, (started, signal) =>
    wanderStarted(started, { ...scanPolicy, histogramPercentile }, config, duration, json, signal, io),
  );
}

async function wanderStarted(
  { daemon, sim, log }: SimStarted,
  {
    createPolicyDriver,
    histogramPercentile,
  }: Awaited<ReturnType<typeof loadScanPolicy>> & {
    histogramPercentile: (typeof import('../system1/index.ts'))['histogramPercentile'];
  },
  config: EdgeConfig,
  duration: number,
  json: boolean,
  interrupted: AbortSignal,
  io: CommandIO,
): Promise<number> {
  const speed = config.sim.speed;
  // Held before the driver starts (startSim checked the latch in this tick): a stop while its model loads
  // ends the drive, rather than find nothing held, latch, and leave a loop that drives to the next hold.
  const hold = holdRobot(daemon, interrupted);
  // /scan comes at 5 Hz of sim time; the loop runs on the wall clock, so it scales with the speed.
  const driver = await createPolicyDriver(
    { bus: daemon.bus, definitions: daemon.definitions, log },
    { rateHz: 10 * speed, maxObservationAgeMs: 500 / speed },
  ).catch(async (error: unknown) => {
    // A driver that cannot start (its model or worker thread) stops the daemon it started.
    hold.release();
    await daemon.close();
    throw error;
  });
  // In the stop's own tick, before its zero Twist: the loop publishes nothing but its safe action from then on.
  const onHoldAbort = () => void driver.close();
  if (hold.signal.aborted) onHoldAbort();
  else hold.signal.addEventListener('abort', onHoldAbort, { once: true });
  sim.unpause();
  if (!json)
    io.stdout(
      `driving with the ONNX obstacle-avoidance policy for ${duration} s of sim time (maze ${config.sim.maze_seed}, seed ${config.sim.seed}, speed ${speed}x)\n${watchHints(daemon)}`,
    );
  // The loop's worker takes a moment to start: the drive lasts `duration` from when the policy is in charge.
  const startedAt = sim.time;
  // A stop ends the drive early, which is no failure (until never rejects): the summary says who stopped it.
  await unlessAborted(sim.until(startedAt + duration), hold.signal).catch(() => undefined);
  hold.signal.removeEventListener('abort', onHoldAbort);
  await driver.close();
  hold.release();
  const stopped = stoppedBy(hold.signal);
  const s = driver.stats();
  const status = daemon.status();
  const summary = {
    driver: 'policy',
    time_s: round(sim.time - startedAt, 2),
    distance_m: round(sim.world.distance, 2),
    collisions: sim.world.collisions,
    ...busSummary(status),
    failed_components: failedComponents(status),
    loop: {
      ticks: s.ticks,
      rate_hz: s.rateHz,
      missed_deadlines: s.missedDeadlines,
      stale_ticks: s.staleTicks,
      errors: s.errors,
      commands: s.commands,
      safe_commands: s.safeCommands,
      latency_p50_us: histogramPercentile(s.latency, 50),
      latency_p99_us: histogramPercentile(s.latency, 99),
    },
    stopped,
    seed: config.sim.seed,
    maze_seed: config.sim.maze_seed,
  };
  const lines = driver.summary();
  const bags = recordedBags(daemon);
  await indexLastSplit(daemon);
  await daemon.close();
  const ok =
    summary.collisions === 0 &&
    s.errors === 0 &&
    !hold.signal.aborted &&
    Object.keys(summary.failed_components).length === 0;
  const ended = hold.signal.aborted ? `${abortReason(hold.signal)}: ` : '';
  if (json) io.stdout(`${JSON.stringify({ ...summary, bags })}\n`);
  else {
    const head = `${ended}drove ${summary.distance_m} m in ${summary.time_s} s (sim time), collisions ${summary.collisions}, dropped messages ${summary.dropped}`;
    const tail = [...failedLines(summary.failed_components), ...recordingLines(bags, daemon.config, io)];
    io.stdout(`${[head, ...lines.map((l) => `  ${l}`), ...tail].join('\n')}\n`);
  }
  return ok ? 0 : 1;
}
