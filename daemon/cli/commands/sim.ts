import { resolve } from 'node:path';
import { type Command, type CommandIO, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';
import { MAX_SIM_SEED, MIN_SIM_SPEED, type EdgeConfig } from '../../config/index.ts';
import { PORTS, type Ports, type RobotStopAuthority } from '../../contract/index.ts';
import type * as AgentPart from '../../agent/index.ts';
import type { Point2D } from '../../navigation/index.ts';
import type { loadLeRobot, loadTurtlebotMaze } from '../../components/index.ts';
import { interruptions, stay } from '../sim-stay.ts';
import {
  busSummary,
  failedComponents,
  failedLines,
  indexLastSplit,
  recordedBags,
  recordingLines,
  watchHints,
} from '../sim-summary.ts';

const WORLDS = ['turtlebot-maze'];
type TurtlebotMaze = Awaited<ReturnType<typeof loadTurtlebotMaze>>;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const command: Command = {
  name: 'sim',
  summary: 'Run the daemon with a built-in simulator and drive the robot to a goal',
  help: `Usage: auraison-edge sim turtlebot-maze [--driver nav|policy] [--goal X,Y|NAME] [--seed N] [--maze-seed N]
                                    [--duration S] [--speed N] [--config FILE] [--record | --no-record]
                                    [--stay] [--port N] [--log-level LEVEL] [--json]
       auraison-edge sim turtlebot-maze --export-world DIR [--gazebo harmonic|fortress]
                                    [--render-engine ogre2|ogre] [--maze-seed N] [--config FILE]

Runs the daemon with the turtlebot-maze simulator (a TurtleBot3 burger with an LDS-01 lidar in a maze:
/scan, /odom, /joint_states, /tf, /tf_static, /map, /robot_description, /clock on the bus, /cmd_vel in) and drives the robot to the goal with
the deterministic navigation skill: A* on /map and a path follower on /odom, with /scan as a safety stop.
No model is needed. Everything else the config turns on (recorder, API, ...) runs too. With no config file
(or with --record), the drive is recorded into a bag under the data dir and indexed into its lakehouse, and
the summary ends with the bag's path and a query to try on it.

With --driver policy, System 1 drives instead: the obstacle-avoidance ONNX policy shipped in
sim/turtlebot-maze/policy/avoid.onnx (an MLP fitted on sim data by adapters/lerobot/sim-policy/fit.ts) runs in
a control loop in a worker thread, /scan in and /cmd_vel out, for --duration sim seconds (default 30). It
wanders without a goal; the summary reports the loop's ticks, missed deadlines, stale scans and latency.

Options:
  --driver nav|policy  nav: A* to the goal (default); policy: the ONNX policy in a control loop
  --goal X,Y|NAME  goal in the map frame, metres, or a named pose (charging_dock, ...);
                   default: the far corner of the maze
  --seed N         sensor-noise seed, an integer from 0 to 2147483647 (default 1): the same seed gives
                   the same run
  --maze-seed N    maze layout, an integer from 0 to 2147483647 (default 7, the default maze)
  --duration S     nav: give up after S sim seconds (default 300); policy: drive for S sim seconds (default 30)
  --speed N        sim seconds per wall second, at least 0.01 (default 1: real time; 50 runs a 60 s
                   drive in about 1 s); at most 4 with --driver policy, whose loop runs on the wall clock
  --config FILE    daemon config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --record, --no-record  record the drive (recorder.enabled for this run); default: on with the embedded
                   default config, else as the config says
  --stay           nav: once the drive has ended (reached, or stopped by the operator), or when a latched stop
                   keeps it from starting, keep the daemon and the sim running until Ctrl-C, and say what to try
                   from another shell (stop, stop --release, an intent that drives again); \`npm start\` runs so.
                   The exit code is still the drive's
  --port N         the local API and status page on port N (api.port for this run; 0 picks a free one), its
                   stop listener on N + 1 unless the config sets api.stop_port: \`npm start -- --port 7500\`
  --log-level LEVEL  the daemon's JSON log lines on stderr: ${LOG_LEVELS.join(', ')}. Without it, warnings
                   and errors only, as lines of text (\`auraison-edge: warning: ...\`) beside the summary (JSON
                   with --json); the config's log.level is for \`run\`
  --json           print one JSON object instead of the human summary (stdout holds only that object)
  --export-world DIR  drive nothing: write the maze as a Gazebo world into DIR, with the ros_gz_bridge
                   config, the map, the burger's URDF and the daemon's configs that launch/gazebo_maze.launch.py
                   reads (docs/simulator.md#in-gazebo)
  --gazebo RELEASE  with --export-world: harmonic (gz-sim 8, Jazzy's pairing; the default) or fortress
                   (ignition-gazebo 6: its system and message names)
  --render-engine E  with --export-world: the gpu_lidar's engine, ogre2 (the default) or ogre (Ogre 1.x, for a
                   Gazebo built without Ogre-Next)

Output (--json): {"reached", "outcome", "message", "goal", "time_s", "distance_m", "collisions",
"messages": {"/scan": n, ...}, "dropped", "failed_components": {name: reason}, "stopped", "seed", "maze_seed",
"bags": [recorded bag dirs]}

With --driver policy, --json prints {"driver": "policy", "time_s", "distance_m", "collisions", "messages",
"dropped", "failed_components", "loop": {"ticks", "rate_hz", "missed_deadlines", "stale_ticks", "errors",
"commands", "safe_commands", "latency_p50_us", "latency_p99_us"}, "stopped", "seed", "maze_seed", "bags"}.

The drive holds the robot as an agent run's navigate_to does: the operator's stop (the status page's STOP
button, \`auraison-edge stop\`, POST /stop) ends it at once with the robot stopped, and "stopped" is then
{"by", "reason"} (else null); a navigate_to or run_policy intent takes the robot over, and the drive ends
cancelled, naming that run. The command then ends, unless --stay: the stop stops the robot, the daemon and the
sim run on, and its release moves nothing by itself (drive again with an intent). A stop latched before the
start (it outlives the process, <data_dir>/state/stop-latch.json) keeps the drive from starting: exit 1, or with
--stay the daemon and the sim run on for \`auraison-edge stop --release\`, after which an intent drives.

The outcome is reached, unreachable, timeout, cancelled (interrupted, stopped or taken over), no_data (/odom or /scan stopped
arriving, or the sim was paused: the robot is stopped) or blocked (something not on the map is in the way
and there is no way around it). The message names the goal the robot was sent to when the planner moved
it off a wall.

Exit codes: 0 the goal was reached (policy: it drove with 0 collisions and no loop errors), 1 it was not
(unreachable, timeout, interrupted, stopped, no data, blocked; policy: a collision, a loop error or a
stop), or a component the config turns on failed to start (the summary names it and why), 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        goal: { type: 'string' },
        driver: { type: 'string', default: 'nav' },
        seed: { type: 'string' },
        'maze-seed': { type: 'string' },
        duration: { type: 'string' },
        speed: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        json: { type: 'boolean' },
        record: { type: 'boolean' },
        'no-record': { type: 'boolean' },
        'export-world': { type: 'string' },
        gazebo: { type: 'string' },
        'render-engine': { type: 'string' },
        stay: { type: 'boolean' },
        port: { type: 'string' },
      },
      { min: 1, max: 1, names: 'WORLD (turtlebot-maze)' },
    );
    const world = positionals[0]!;
    if (!WORLDS.includes(world)) throw new UsageError(`unknown world "${world}" (worlds: ${WORLDS.join(', ')})`);
    const seed = seedOption('seed', values.seed);
    const mazeSeed = seedOption('maze-seed', values['maze-seed']);
    if (values['export-world'] !== undefined)
      return exportWorld(values['export-world'], mazeSeed, values.gazebo, values['render-engine'], values.config, io);
    if (values.gazebo !== undefined || values['render-engine'] !== undefined)
      throw new UsageError('--gazebo and --render-engine go with --export-world DIR');
    const driver = values.driver;
    if (driver !== 'nav' && driver !== 'policy')
      throw new UsageError(`--driver: expected nav or policy, got ${JSON.stringify(driver)}`);
    const duration =
      numberOption('duration', values.duration, { min: 0, exclusiveMin: true }) ?? (driver === 'nav' ? 300 : 30);
    const speed = numberOption('speed', values.speed, { min: MIN_SIM_SPEED });
    if (driver === 'policy' && values.goal !== undefined)
      throw new UsageError('--goal is for --driver nav: the policy avoids obstacles, it does not go to goals');
    if (driver === 'policy' && speed !== undefined && speed > 4) {
      throw new UsageError(
        `--speed ${speed} is too fast for --driver policy: its control loop runs on the wall clock (use at most 4)`,
      );
    }
    if (driver === 'policy' && values.stay)
      throw new UsageError('--stay is for --driver nav: the policy drives for --duration, then ends');
    const goalArg = parseGoal(values.goal);
    const logLevel = LOG_LEVELS.find((l) => l === (values['log-level'] ?? 'warn'));
    if (!logLevel)
      throw new UsageError(
        `--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(values['log-level'])}`,
      );

    const apiPort = numberOption('port', values.port, { min: 0, max: 65_535, integer: true });
    const { config, file } = resolveConfig(values.config, io.env);
    if (apiPort !== undefined) config.api = { ...config.api, port: apiPort };
    // sim prints its own summary: a config's log.level (info in edge.example.yaml) would bury it in JSON lines.
    config.log = { ...config.log, level: logLevel };
    // Beside the human summary, the warnings read as lines of text; JSON lines when --json or --log-level asks.
    const textLog = !values.json && values['log-level'] === undefined;
    config.sim = {
      ...config.sim,
      enabled: true,
      // Held at t = 0 until the driver is in place, so a run does not depend on how long the start took.
      paused: true,
      ...(seed !== undefined ? { seed } : {}),
      ...(mazeSeed !== undefined ? { maze_seed: mazeSeed } : {}),
      ...(speed !== undefined ? { speed } : {}),
    };
    if (values.record && values['no-record']) throw new UsageError('--record and --no-record: give one of them');
    // With no config (`npm start`), the main job shows the whole product: the drive is recorded and indexed.
    const record = values.record ? true : values['no-record'] ? false : file === undefined ? true : undefined;
    if (record !== undefined) config.recorder = { ...config.recorder, enabled: record };
    if (driver === 'policy') return wander(config, file, duration, { json: Boolean(values.json), textLog }, io);
    return drive(
      config,
      file,
      goalArg,
      duration,
      { json: Boolean(values.json), stay: Boolean(values.stay), textLog },
      io,
    );
  },
};

/** Writes the Gazebo world of the maze the sim would build (--maze-seed, else the config's) and lists its files. */
async function exportWorld(
  dir: string,
  mazeSeed: number | undefined,
  release: string | undefined,
  renderEngine: string | undefined,
  configFile: string | undefined,
  io: CommandIO,
) {
  if (dir.trim() === '') throw new UsageError('--export-world: expected a directory');
  const sim = await (await import('../../components/index.ts')).loadTurtlebotMaze();
  const target = gazeboTarget(sim, release, renderEngine);
  const { sim: settings } = resolveConfig(configFile, io.env).config;
  const seed = mazeSeed ?? settings.maze_seed;
  // the config's camera (its size, rate and field of view, or none), as the built-in sim would publish it
  const files = await sim.exportGazeboWorld(resolve(io.cwd, dir), seed, target, settings.camera);
  const engine = target.renderEngine === 'ogre2' ? '' : `, rendered with ${target.renderEngine}`;
  io.stdout(
    `wrote the Gazebo ${target.release} world of maze ${seed}${engine}:\n${files.map((f) => `  ${f}`).join('\n')}\n`,
  );
  io.stdout(`run it: ros2 launch launch/gazebo_maze.launch.py world_dir:=${resolve(io.cwd, dir)}\n`);
  return 0;
}

/** --gazebo and --render-engine, checked against what the export writes for. */
function gazeboTarget(
  { GAZEBO_RELEASES, GAZEBO_RENDER_ENGINES }: TurtlebotMaze,
  release = 'harmonic',
  engine = 'ogre2',
) {
  const one = <T extends string>(option: string, known: readonly T[], value: string): T => {
    if (!(known as readonly string[]).includes(value))
      throw new UsageError(`--${option}: expected ${known.join(' or ')}, got ${JSON.stringify(value)}`);
    return value as T;
  };
  return {
    release: one('gazebo', GAZEBO_RELEASES, release),
    renderEngine: one('render-engine', GAZEBO_RENDER_ENGINES, engine),
  };
}

/** A seed the sim's RNG tells apart from every other (see MAX_SIM_SEED). */
function seedOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 0 || value > MAX_SIM_SEED) {
    throw new UsageError(`--${name}: expected an integer from 0 to ${MAX_SIM_SEED}, got ${JSON.stringify(text)}`);
  }
  return value;
}

type GoalArg = { kind: 'point'; point: Point2D } | { kind: 'name'; name: string } | { kind: 'default' };

function parseGoal(text: string | undefined): GoalArg {
  if (text === undefined) return { kind: 'default' };
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (m) return { kind: 'point', point: { x: Number(m[1]), y: Number(m[2]) } };
  if (/^[a-z][a-z0-9_]*$/.test(text)) return { kind: 'name', name: text };
  throw new UsageError(`--goal: expected X,Y in metres (e.g. 6.5,6.5) or a named pose, got ${JSON.stringify(text)}`);
}

/** Starts the daemon with the sim and hands back both; the daemon's logs go to stderr at --log-level. */
/** The agent's part, loaded with the daemon (startSim): `--help` need not load the bus's codecs. */
let agentPart: typeof AgentPart;

async function startSim(
  config: EdgeConfig,
  file: string | undefined,
  io: CommandIO,
  { latchedOk = false, textLog = false } = {},
) {
  agentPart = await import('../../agent/index.ts');
  const { createLogger } = await import('../../log.ts');
  const { Daemon } = await import('../../daemon.ts');
  const { TurtlebotMazeSim } = await (await import('../../components/index.ts')).loadTurtlebotMaze();
  const log = createLogger({ level: config.log.level, text: textLog });
  const daemon = new Daemon({ config, configFile: file, log, cwd: io.cwd });
  await daemon.start();
  const sim = [...daemon.components.values()].find(
    (c): c is InstanceType<typeof TurtlebotMazeSim> => c instanceof TurtlebotMazeSim,
  );
  if (!sim) {
    await daemon.stop();
    throw new Error(`the simulator did not start: ${daemon.status().components.sim?.reason ?? 'unknown reason'}`);
  }
  // A stop latched on this data dir (the page's STOP button, `auraison-edge stop`) holds for the main job too,
  // with the agent running or not.
  // With --stay the daemon runs on for the release (the drive does not start).
  const refusal = daemon.robotStop.latch.refusal();
  if (refusal && !latchedOk) {
    await daemon.stop();
    throw new Error(`not driving: ${refusal}`);
  }
  return { daemon, sim, log, refusal };
}

async function wander(
  config: EdgeConfig,
  file: string | undefined,
  duration: number,
  { json, textLog }: { json: boolean; textLog: boolean },
  io: CommandIO,
): Promise<number> {
  const lerobot = await (await import('../../components/index.ts')).loadLeRobot();
  const started = await startSim(config, file, io, { textLog });
  const interrupted = interruptions(io);
  try {
    // wanderStarted holds the robot before its first await, in the tick startSim checked the latch in.
    return await wanderStarted(started, lerobot, config, duration, json, interrupted.signal, io);
  } finally {
    interrupted.dispose();
  }
}

async function wanderStarted(
  { daemon, sim, log }: Awaited<ReturnType<typeof startSim>>,
  { createPolicyDriver, histogramPercentile }: Awaited<ReturnType<typeof loadLeRobot>>,
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
    await daemon.stop();
    throw error;
  });
  // In the stop's own tick, before its zero Twist: the loop publishes nothing but its safe action from then on.
  const onHoldAbort = () => void driver.stop();
  if (hold.signal.aborted) onHoldAbort();
  else hold.signal.addEventListener('abort', onHoldAbort, { once: true });
  sim.unpause();
  if (!json)
    io.stdout(
      `driving with the ONNX obstacle-avoidance policy for ${duration} s of sim time (maze ${config.sim.maze_seed}, seed ${config.sim.seed}, speed ${speed}x)\n${watchHints(daemon)}`,
    );
  // The loop's worker takes a moment to start: the drive lasts `duration` from when the policy is in charge.
  const startedAt = sim.time;
  const aborted = hold.signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => hold.signal.addEventListener('abort', resolve));
  await Promise.race([sim.until(startedAt + duration), aborted]);
  hold.signal.removeEventListener('abort', onHoldAbort);
  await driver.stop();
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
  await daemon.stop();
  const ok =
    summary.collisions === 0 &&
    s.errors === 0 &&
    !hold.signal.aborted &&
    Object.keys(summary.failed_components).length === 0;
  const ended = hold.signal.aborted ? `${abortReason(hold.signal)}: ` : '';
  if (json) io.stdout(`${JSON.stringify({ ...summary, bags })}\n`);
  else {
    const head = `${ended}drove ${summary.distance_m} m in ${summary.time_s} s (sim time), collisions ${summary.collisions}, dropped messages ${summary.dropped}`;
    const tail = [...failedLines(summary.failed_components), ...recordingLines(bags, daemon.config, io.cwd)];
    io.stdout(`${[head, ...lines.map((l) => `  ${l}`), ...tail].join('\n')}\n`);
  }
  return ok ? 0 : 1;
}

async function drive(
  config: EdgeConfig,
  file: string | undefined,
  goalArg: GoalArg,
  duration: number,
  options: { json: boolean; stay: boolean; textLog: boolean },
  io: CommandIO,
): Promise<number> {
  const started = await startSim(config, file, io, { latchedOk: options.stay, textLog: options.textLog });
  // From here to the daemon's stop: a Ctrl-C ends the drive, or the stay after it.
  const interrupted = interruptions(io);
  try {
    return await driveStarted(started, config, goalArg, duration, options, interrupted.signal, io);
  } finally {
    interrupted.dispose();
  }
}

async function driveStarted(
  { daemon, sim, refusal }: Awaited<ReturnType<typeof startSim>>,
  config: EdgeConfig,
  goalArg: GoalArg,
  duration: number,
  { json, stay: staying }: { json: boolean; stay: boolean },
  interrupted: AbortSignal,
  io: CommandIO,
): Promise<number> {
  const { MessageCodec } = await import('../../bus/index.ts');
  const { Navigator } = await import('../../navigation/index.ts');

  let goal: Point2D;
  if (goalArg.kind === 'point') goal = goalArg.point;
  else {
    const name = goalArg.kind === 'name' ? goalArg.name : 'far_corner';
    const pose = sim.namedPoses[name];
    if (!pose) {
      await daemon.stop();
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
    await daemon.stop();
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
  navigator.stop();
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
  else await daemon.stop();

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
        ...recordingLines(bags, daemon.config, io.cwd),
        '',
      ].join('\n'),
    );
  }
  if (staysUp) {
    const latched = daemon.robotStop.latch.refusal() !== undefined;
    await stay({ goal, reached: result.reached, latched, page }, io, json, interrupted);
    await daemon.stop();
  }
  return result.reached && Object.keys(summary.failed_components).length === 0 ? 0 : 1;
}

/**
 * The drive holds the robot through the agent's motion lock, as a run's motion skill does: the operator's
 * stop aborts the returned signal in its own tick (before its zero Twist), and a run's navigate_to or
 * run_policy takes the robot over. With no agent (agent.enabled: false) nothing else drives or stops it.
 */
function holdRobot(
  daemon: { ports: Ports; robotStop: RobotStopAuthority },
  signal: AbortSignal,
): { signal: AbortSignal; release: () => void } {
  const agent = daemon.ports.get(agentPart.AGENT_PORTS.motion);
  if (agent) return agent.holdMotion('sim drive', signal);
  // No agent: the operator's stop (POST /stop, which then stops the robot itself) ends the drive all the same.
  const controller = new AbortController();
  const onParent = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onParent, { once: true });
  const off = daemon.robotStop.onStop('sim drive', (order) =>
    controller.abort(
      new agentPart.MotionAborted(`stopped by ${order.by}${order.reason ? `: ${order.reason}` : ''}`, order),
    ),
  );
  return {
    signal: controller.signal,
    release: () => {
      off();
      signal.removeEventListener('abort', onParent);
    },
  };
}

/** Who stopped the drive, when an operator's stop did. */
function stoppedBy(signal: AbortSignal): { by: string; reason: string | null } | null {
  const stop = signal.reason instanceof agentPart.MotionAborted ? signal.reason.stop : undefined;
  return stop ? { by: stop.by, reason: stop.reason ?? null } : null;
}

function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'interrupted';
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
