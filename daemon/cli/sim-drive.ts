import { type CommandIO, UsageError } from '../cli-kit/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { PORTS } from '../contract/index.ts';
import type { Point2D } from '../navigation/index.ts';
import { stay } from './sim-stay.ts';
import { holdRobot, runStartedSim, type SimStarted, stoppedBy } from './sim-start.ts';
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

// --driver nav: the deterministic navigation skill drives the robot to a goal on the map.

export type GoalArg = { kind: 'point'; point: Point2D } | { kind: 'name'; name: string } | { kind: 'default' };

export async function drive(
  config: EdgeConfig,
  file: string | undefined,
  goalArg: GoalArg,
  duration: number,
  options: { json: boolean; stay: boolean; textLog: boolean },
  io: CommandIO,
): Promise<number> {
  // A Ctrl-C ends the drive, or the stay after it.
  return runStartedSim(config, file, io, { latchedOk: options.stay, textLog: options.textLog }, (started, signal) =>
    driveStarted(started, config, goalArg, duration, options, signal, io),
  );
}

async function driveStarted(
  { daemon, sim, refusal }: SimStarted,
  config: EdgeConfig,
  goalArg: GoalArg,
  duration: number,
  { json, stay: staying }: { json: boolean; stay: boolean },
  interrupted: AbortSignal,
  io: CommandIO,
): Promise<number> {
  const { MessageCodec } = await import('../bus/index.ts');
  const { Navigator } = await import('../navigation/index.ts');

  let goal: Point2D;
  if (goalArg.kind === 'point') goal = goalArg.point;
  else {
    const name = goalArg.kind === 'name' ? goalArg.name : 'far_corner';
    const pose = sim.namedPoses[name];
    if (!pose) {
      await daemon.close();
      throw new UsageError(`--goal: no named pose "${name}" (named poses: ${Object.keys(sim.namedPoses).join(', ')})`);
    }
    goal = { x: pose.x, y: pose.y };
  }
  const page = daemon.ports.get(PORTS.api)?.url;
  if (refusal) {
    // --stay with the stop latched: no drive, the daemon up for its release. The sim runs, as it does after a
    // stop that ends a drive: the stop holds the robot, not the world, so an intent after the release finds
    // /odom and /scan flowing.
    sim.unpause();
    if (json)
      io.stdout(`${JSON.stringify({ reached: false, outcome: 'stopped', message: `not driving: ${refusal}` })}\n`);
    else io.stdout(`not driving: ${refusal}\n${watchHints(daemon)}`);
    await stay({ goal, reached: false, latched: true, page }, io, json, interrupted);
    await closeAfterStay(daemon);
    return 1;
  }

  // The sim's speed tells the navigator's wall-clock watchdogs how slowly robot time may pass.
  const navigator = new Navigator({
    bus: daemon.bus,
    codec: new MessageCodec(daemon.definitions),
    timeScale: config.sim.speed,
  });
  navigator.start();
  sim.unpause();
  // Every 2 s of wall time, or 10 s of sim time when the sim runs slower than 5x: a line a person can read.
  const progress = json
    ? undefined
    : setInterval(
        () => {
          const p = sim.world.pose();
          io.stdout(
            `  t=${sim.time.toFixed(1).padStart(6)} s  pose (${p.x.toFixed(2)}, ${p.y.toFixed(2)})  travelled ${sim.world.distance.toFixed(1)} m\n`,
          );
        },
        Math.max(2000, 10_000 / config.sim.speed),
      );
  if (!json) {
    io.stdout(
      `driving to (${goal.x.toFixed(2)}, ${goal.y.toFixed(2)}) in the turtlebot-maze (maze ${config.sim.maze_seed}, seed ${config.sim.seed}, speed ${config.sim.speed}x)\n`,
    );
    io.stdout(watchHints(daemon));
  }

  const hold = holdRobot(daemon, interrupted);
  const result = await navigator.navigateTo(goal, { timeoutS: duration, signal: hold.signal });
  clearInterval(progress);
  navigator.close();
  hold.release();
  const status = daemon.status();
  const summary = {
    reached: result.reached,
    outcome: result.outcome,
    message: result.message,
    goal,
    time_s: round(result.elapsedS, 2),
    distance_m: round(sim.world.distance, 2),
    collisions: sim.world.collisions,
    ...busSummary(status),
    failed_components: failedComponents(status),
    stopped: result.reached ? null : stoppedBy(hold.signal),
    seed: config.sim.seed,
    maze_seed: config.sim.maze_seed,
  };
  const bags = recordedBags(daemon);
  await indexLastSplit(daemon);
  // Ctrl-C during the drive ends the command, --stay or not.
  const staysUp = staying && !interrupted.aborted;
  if (staysUp) daemon.ports.get(PORTS.recorder)?.resume();
  else await daemon.close();

  if (json) io.stdout(`${JSON.stringify({ ...summary, bags })}\n`);
  else {
    io.stdout(
      [
        result.reached
          ? `reached the goal in ${summary.time_s} s (sim time)`
          : `did not reach the goal: ${result.message}`,
        `  distance ${summary.distance_m} m, collisions ${summary.collisions}, dropped messages ${summary.dropped}`,
        `  messages: ${Object.entries(summary.messages)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
        ...failedLines(summary.failed_components),
        ...recordingLines(bags, daemon.config, io),
        '',
      ].join('\n'),
    );
  }
  if (staysUp) {
    const latched = daemon.haltAuthority.latch.refusal() !== undefined;
    await stay({ goal, reached: result.reached, latched, page }, io, json, interrupted);
    await closeAfterStay(daemon);
  }
  return result.reached && Object.keys(summary.failed_components).length === 0 ? 0 : 1;
}

/**
 * The daemon's stop after the stay: what was recorded meanwhile (an intent's drive) is indexed first, whatever its
 * size, so a `query` or `lerobot export` after the Ctrl-C finds all of it (the daemon's own stop gives it 2 s).
 */
async function closeAfterStay(daemon: SimStarted['daemon']): Promise<void> {
  await indexLastSplit(daemon);
  await daemon.close();
}
