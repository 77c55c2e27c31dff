import { type Command, numberOption, parseCommandArgs, UsageError } from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';
import { MAX_SIM_SEED, MIN_SIM_SPEED } from '../../config/index.ts';
import { drive, type GoalArg } from '../sim-drive.ts';
import { exportWorld } from '../sim-export-world.ts';
import { wander } from '../sim-wander.ts';

const WORLDS = ['turtlebot-maze'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const command: Command = {
  name: 'sim',
  summary: 'Run the daemon with a built-in simulator and drive the robot to a goal',
  help: `Usage: auraison-edge sim turtlebot-maze [--driver nav|policy] [--goal X,Y|NAME] [--seed N] [--maze-seed N]
                                    [--duration S] [--speed N] [--config FILE] [--record | --no-record]
                                    [--stay] [--port N] [--foxglove-port N] [--log-level LEVEL] [--json]
       auraison-edge sim turtlebot-maze --export-world DIR [--gazebo harmonic|fortress]
                                    [--render-engine ogre2|ogre] [--maze-seed N] [--config FILE]

Runs the daemon with the turtlebot-maze simulator (a TurtleBot3 burger with an LDS-01 lidar and a camera in a
maze: /scan, /odom, /joint_states, /tf, /tf_static, /map, /robot_description, /clock, /camera/image_raw and
/camera/camera_info (sim.camera) on the bus, /cmd_vel in, Nav2's /navigate_to_pose action served) and drives the
robot to the goal with the deterministic navigation skill: A* on /map and a path follower on /odom, with /scan as a
safety stop.
No model is needed. Everything else the config turns on (recorder, API, ...) runs too. With no config file
(or with --record), the drive is recorded into a bag under the data dir and indexed into its lakehouse, and
the summary ends with the bag's path and a query to try on it.

With --driver policy, System 1 drives instead: the obstacle-avoidance ONNX policy shipped in
sim/turtlebot-maze/policy/avoid.onnx (an MLP fitted on sim data by sim/scan-policy/fit.ts) runs in
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
                   default config, else as the config says (a config file leaves it off unless it sets
                   recorder.enabled: true; the run then says it does not record)
  --stay           nav: once the drive has ended (reached, or stopped by the operator), or when a latched stop
                   keeps it from starting, keep the daemon and the sim running until Ctrl-C, and say what to try
                   from another shell (stop, stop --release, an intent that drives again); \`npm start\` runs so.
                   The exit code is still the drive's
  --port N         the local API and status page on port N (api.port for this run; 0 picks a free one), its
                   stop listener on N + 1 unless the config sets motion.stop.port: \`npm start -- --port 7500\`
  --foxglove-port N  the Foxglove WebSocket server on port N (foxglove.port for this run; 0 picks a free one):
                   beside another daemon on 8765, \`npm start -- --port 7500 --foxglove-port 8775\`
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
        'foxglove-port': { type: 'string' },
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
    const foxglovePort = numberOption('foxglove-port', values['foxglove-port'], { min: 0, max: 65_535, integer: true });
    if (foxglovePort !== undefined) config.foxglove = { ...config.foxglove, port: foxglovePort };
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
    // A config file's recorder is off unless it says otherwise: said, so a run with one does not stop recording
    // unnoticed (npm start, with no file, records).
    else if (!config.recorder.enabled && !values.json)
      io.stderr(
        `auraison-edge sim: not recording: ${file} leaves recorder.enabled false (--record records this run)\n`,
      );
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

/** A seed the sim's RNG tells apart from every other (see MAX_SIM_SEED). */
function seedOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 0 || value > MAX_SIM_SEED) {
    throw new UsageError(`--${name}: expected an integer from 0 to ${MAX_SIM_SEED}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseGoal(text: string | undefined): GoalArg {
  if (text === undefined) return { kind: 'default' };
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (m) return { kind: 'point', point: { x: Number(m[1]), y: Number(m[2]) } };
  if (/^[a-z][a-z0-9_]*$/.test(text)) return { kind: 'name', name: text };
  throw new UsageError(`--goal: expected X,Y in metres (e.g. 6.5,6.5) or a named pose, got ${JSON.stringify(text)}`);
}
