import { numberOption, parseCommandArgs } from '../args.ts';
import { UsageError, type Command, type CommandIO } from '../command.ts';
import { resolveConfig } from '../config-option.ts';
import type { Point2D } from '../../navigation/geometry.ts';

const WORLDS = ['turtlebot-maze'];

export const command: Command = {
  name: 'sim',
  summary: 'Run the daemon with a built-in simulator and drive the robot to a goal',
  help: `Usage: auraison-edge sim turtlebot-maze [--goal X,Y|NAME] [--seed N] [--maze-seed N] [--duration S]
                                    [--speed N] [--config FILE] [--json]

Runs the daemon with the turtlebot-maze simulator (a TurtleBot3 burger with an LDS-01 lidar in a maze:
/scan, /odom, /tf, /tf_static, /map, /clock on the bus, /cmd_vel in) and drives the robot to the goal with
the deterministic navigation skill: A* on /map and a path follower on /odom, with /scan as a safety stop.
No model is needed. Everything else the config turns on (recorder, API, ...) runs too.

Options:
  --goal X,Y|NAME  goal in the map frame, metres, or a named pose (charging_dock, ...);
                   default: the far corner of the maze
  --seed N         sensor-noise seed (default 1): the same seed gives the same run
  --maze-seed N    maze layout (default 7, the default maze)
  --duration S     give up after S sim seconds (default 300)
  --speed N        sim seconds per wall second (default 1: real time; 50 runs a 60 s drive in about 1 s)
  --config FILE    daemon config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --json           print one JSON object instead of the human summary

Output (--json): {"reached", "outcome", "message", "goal", "time_s", "distance_m", "collisions",
"messages": {"/scan": n, ...}, "dropped", "seed", "maze_seed"}

Exit codes: 0 the goal was reached, 1 it was not (unreachable, timeout, interrupted), 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        goal: { type: 'string' },
        seed: { type: 'string' },
        'maze-seed': { type: 'string' },
        duration: { type: 'string' },
        speed: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'WORLD (turtlebot-maze)' },
    );
    const world = positionals[0]!;
    if (!WORLDS.includes(world)) throw new UsageError(`unknown world "${world}" (worlds: ${WORLDS.join(', ')})`);
    const seed = numberOption('seed', values.seed, { integer: true });
    const mazeSeed = numberOption('maze-seed', values['maze-seed'], { integer: true });
    const duration = numberOption('duration', values.duration, { min: 0, exclusiveMin: true }) ?? 300;
    const speed = numberOption('speed', values.speed, { min: 0, exclusiveMin: true });
    const goalArg = parseGoal(values.goal);

    const { config, file } = resolveConfig(values.config, io.env);
    config.sim = {
      ...config.sim,
      enabled: true,
      ...(seed !== undefined ? { seed } : {}),
      ...(mazeSeed !== undefined ? { maze_seed: mazeSeed } : {}),
      ...(speed !== undefined ? { speed } : {}),
    };
    return drive(config, file, goalArg, duration, Boolean(values.json), io);
  },
};

type GoalArg = { kind: 'point'; point: Point2D } | { kind: 'name'; name: string } | { kind: 'default' };

function parseGoal(text: string | undefined): GoalArg {
  if (text === undefined) return { kind: 'default' };
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (m) return { kind: 'point', point: { x: Number(m[1]), y: Number(m[2]) } };
  if (/^[a-z][a-z0-9_]*$/.test(text)) return { kind: 'name', name: text };
  throw new UsageError(`--goal: expected X,Y in metres (e.g. 6.5,6.5) or a named pose, got ${JSON.stringify(text)}`);
}

async function drive(config: import('../../config/schema.ts').EdgeConfig, file: string | undefined, goalArg: GoalArg, duration: number, json: boolean, io: CommandIO): Promise<number> {
  const { createLogger } = await import('../../log.ts');
  const { Daemon } = await import('../../daemon.ts');
  const { MessageCodec } = await import('../../bus/codec.ts');
  const { Navigator } = await import('../../navigation/navigator.ts');
  const { TurtlebotMazeSim } = await import('../../../sim/turtlebot-maze/index.ts');

  // The summary is this command's output; the daemon's logs stay on stderr, quieter unless a config asks.
  const log = createLogger({ level: file ? config.log.level : 'warn' });
  const daemon = new Daemon({ config, configFile: file, log, cwd: io.cwd });
  await daemon.start();
  const sim = daemon.components.get('sim');
  if (!(sim instanceof TurtlebotMazeSim)) {
    await daemon.stop();
    throw new Error(`the simulator did not start: ${daemon.status().components.sim?.reason ?? 'unknown reason'}`);
  }

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

  const navigator = new Navigator({ bus: daemon.bus, codec: new MessageCodec(daemon.definitions) });
  navigator.start();
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = json
    ? undefined
    : setInterval(() => {
        const p = sim.world.pose();
        io.stdout(`  t=${sim.time.toFixed(1).padStart(6)} s  pose (${p.x.toFixed(2)}, ${p.y.toFixed(2)})  travelled ${sim.world.distance.toFixed(1)} m\n`);
      }, 2000);
  if (!json) io.stdout(`driving to (${goal.x.toFixed(2)}, ${goal.y.toFixed(2)}) in the turtlebot-maze (maze ${config.sim.maze_seed}, seed ${config.sim.seed}, speed ${config.sim.speed}x)\n`);

  const result = await navigator.navigateTo(goal, { timeoutS: duration, signal: abort.signal });
  clearInterval(progress);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  navigator.stop();
  const status = daemon.status();
  const summary = {
    reached: result.reached,
    outcome: result.outcome,
    message: result.message,
    goal,
    time_s: round(result.elapsedS, 2),
    distance_m: round(sim.world.distance, 2),
    collisions: sim.world.collisions,
    messages: Object.fromEntries(status.topics.map((t) => [t.topic, t.count])),
    dropped: status.subscribers.reduce((n, s) => n + s.dropped, 0),
    seed: config.sim.seed,
    maze_seed: config.sim.maze_seed,
  };
  await daemon.stop();

  if (json) io.stdout(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout(
      [
        result.reached ? `reached the goal in ${summary.time_s} s (sim time)` : `did not reach the goal: ${result.message}`,
        `  distance ${summary.distance_m} m, collisions ${summary.collisions}, dropped messages ${summary.dropped}`,
        `  messages: ${Object.entries(summary.messages).map(([t, n]) => `${t} ${n}`).join(', ')}`,
        '',
      ].join('\n'),
    );
  }
  return result.reached ? 0 : 1;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
