import { relative, resolve } from 'node:path';
import type { PlayStats } from '../bags/index.ts';
import { type CommandIO, numberOption, parseCommandArgs, UsageError } from '../cli-kit/index.ts';
import { resolveConfig } from './config-option.ts';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const MAX_RATE = 1000;
/** ros2 bag play --clock's rate when none is given, Hz. */
const CLOCK_HZ = 40;
const MAX_CLOCK_HZ = 1000;

export const BAG_PLAY_HELP = `  bag play PATH [--rate R] [--loop] [--topics GLOB]... [--exclude GLOB]... [--start-offset S]
               [--remap FROM:=TO]... [--clock [HZ]] [--config FILE] [--log-level LEVEL] [--json]
      Runs the daemon with the config's components, the simulator off, and publishes a recorded bag on its
      bus as \`ros2 bag play\` does on ROS: each topic with the type and QoS it was recorded with (a latched
      /map stays latched for late subscribers), each message at its recorded time relative to the bag's
      start, times --rate, as the CDR bytes recorded. The agent, control loops, recorder, API and
      Foxglove server see it as they see the robot or the sim. Types the daemon has no definition for are
      learnt from the bag's MCAP schemas. It stops at the bag's end (with --loop, at Ctrl-C) and prints what
      it published per topic and how late messages went out against their schedule. While the operator's
      stop is latched (its latch file in the data dir, or a stop sent to this daemon), a message that
      actuates (a joint trajectory, a Twist that moves, a forward controller's command) is held back, not
      published, and counted: the summary says how many and why. PATH is a rosbag2
      directory (mcap or sqlite3) or a bare .mcap or .db3 file. A file that can't be read stops the play
      with exit 1, naming it (\`bag repair\` finishes a bag cut off by a crash).
`;

const OPTIONS_HELP = `Options (bag play):
  --rate R           bag seconds per wall second, more than 0 and at most ${MAX_RATE} (default 1)
  --loop             play again from the start at the end, until Ctrl-C
  --topics GLOB      play only these topics (* within a name segment, ** across); repeatable
  --exclude GLOB     never these; repeatable
  --start-offset S   skip the bag's first S seconds
  --remap FROM:=TO   publish the bag's topic FROM as TO (\`/odom:=/odom_recorded\`); repeatable
  --clock [HZ]       publish the playback time on /clock (rosgraph_msgs/msg/Clock) at HZ (default ${CLOCK_HZ},
                     at most ${MAX_CLOCK_HZ}), for nodes with use_sim_time; the bag's own /clock is then not played
  --log-level LEVEL  the daemon's JSON log lines on stderr: ${LOG_LEVELS.join(', ')} (default warn)
  --json             print one JSON object: {bag, storage, rate, messages: {topic: n}, skipped, passes,
                     bag_s, wall_s, late_ms: {p50, p99, max}, stopped, clock: {hz, published} | null,
                     held: {topic: n}, held_reason, dropped}
`;

export { OPTIONS_HELP as BAG_PLAY_OPTIONS_HELP };

export async function bagPlay(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals, rate, offsetS, clockHz, remap, logLevel } = playArguments(argv);
  const { config, file } = resolveConfig(values.config, io.env);
  config.log = { ...config.log, level: logLevel };
  // The bag is the robot: a sim would publish its own /odom and /scan beside the recorded ones.
  config.sim = { ...config.sim, enabled: false };

  const { compileTopicSelection } = await import('../bus/index.ts');
  const { BagPlayer, NOT_SELECTED } = await import('../bags/index.ts');
  const { BagError } = await import('../bags/index.ts');
  const { createLogger } = await import('../log.ts');
  const { Daemon } = await import('../daemon.ts');
  const log = createLogger({ level: config.log.level });
  const daemon = new Daemon({ config, configFile: file, log, cwd: io.cwd });
  let player;
  try {
    player = new BagPlayer(
      { bus: daemon.bus, definitions: daemon.definitions, log, latch: daemon.haltAuthority.latch },
      {
        path: resolve(io.cwd, positionals[0]!),
        rate,
        loop: Boolean(values.loop),
        select: compileTopicSelection(values.topics ?? ['**'], values.exclude ?? []),
        startOffsetNs: BigInt(Math.round(offsetS * 1e9)),
        remap,
        clockHz,
      },
    );
  } catch (error) {
    if (!(error instanceof BagError)) throw error;
    io.stderr(`auraison-edge bag play: ${error.message}\n`);
    return 1;
  }
  // Ctrl-C while the daemon starts stops it cleanly once started (a recorder's bag closed), without playing.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await daemon.start();
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw error;
  }
  const bag = player.bag;
  if (!values.json)
    io.stdout(
      `playing ${shown(bag.path, io.cwd)} (${bag.storage}, ${bag.files.length} file(s)) at ${rate}x${values.loop ? ', looping until Ctrl-C' : ''}\n`,
    );
  let stats: PlayStats | undefined;
  let failure: string | undefined;
  let dropped: number;
  try {
    stats = await player.play(abort.signal);
  } catch (error) {
    if (!(error instanceof BagError)) throw error;
    failure = error.message;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // What was published is delivered (the recorder writes it) before the daemon stops.
    await new Promise((r) => setImmediate(r));
    dropped = daemon.status().subscribers.reduce((n, sub) => n + sub.dropped, 0);
    await daemon.close();
  }
  if (failure !== undefined) {
    // What was published before the failure (a file cut part way) stays published: say how much it was.
    const sofar = player.played();
    if (values.json) io.stdout(`${JSON.stringify({ bag: bag.path, error: failure, ...sofar, dropped })}\n`);
    else io.stdout(summaryText(sofar, dropped, NOT_SELECTED).replace(/^published /, 'published before the error '));
    io.stderr(`auraison-edge bag play: ${failure}\n`);
    return 1;
  }
  const s = stats!;
  if (s.empty && !s.stopped && !values.json) {
    io.stdout('the bag holds no message (nothing was published while it was recorded): nothing to play\n');
    return 0;
  }
  if (values.json) io.stdout(`${JSON.stringify({ bag: bag.path, storage: bag.storage, rate, ...s, dropped })}\n`);
  else io.stdout(summaryText(s, dropped, NOT_SELECTED));
  return 0;
}

/** The command line, checked: a value out of range is a UsageError naming the option. */
function playArguments(argv: string[]) {
  const { values, positionals } = parseCommandArgs(
    withClockDefault(argv),
    {
      rate: { type: 'string' },
      loop: { type: 'boolean' },
      topics: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'start-offset': { type: 'string' },
      remap: { type: 'string', multiple: true },
      clock: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'PATH' },
  );
  const rate = numberOption('rate', values.rate, { min: 0, exclusiveMin: true }) ?? 1;
  if (rate > MAX_RATE) throw new UsageError(`--rate: at most ${MAX_RATE}, got ${values.rate}`);
  const offsetS = numberOption('start-offset', values['start-offset'], { min: 0 }) ?? 0;
  const clockHz = numberOption('clock', values.clock, { min: 0, exclusiveMin: true });
  if (clockHz !== undefined && clockHz > MAX_CLOCK_HZ)
    throw new UsageError(`--clock: at most ${MAX_CLOCK_HZ} Hz, got ${values.clock}`);
  const remap = new Map<string, string>();
  for (const r of values.remap ?? []) {
    const m = /^(\/\S*):=(\/\S*)$/.exec(r);
    if (!m)
      throw new UsageError(
        `--remap: expected FROM:=TO with topic names starting with /, e.g. /odom:=/odom_recorded; got ${JSON.stringify(r)}`,
      );
    remap.set(m[1]!, m[2]!);
  }
  const logLevel = LOG_LEVELS.find((l) => l === values['log-level']);
  if (!logLevel)
    throw new UsageError(
      `--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(values['log-level'])}`,
    );
  return { values, positionals, rate, offsetS, clockHz, remap, logLevel };
}

/** `notSelected`: the reason the player gives a topic the selection left out (listed on one line). */
function summaryText(s: PlayStats, dropped: number, notSelected: string): string {
  const topics = Object.entries(s.messages);
  const total = topics.reduce((n, [, c]) => n + c, 0);
  const width = Math.max(0, ...topics.map(([t]) => t.length));
  const lines = [
    `${s.stopped ? 'stopped after publishing' : 'published'} ${total} message(s) on ${topics.length} topic(s): ${s.bag_s} s of bag time in ${s.wall_s} s${s.passes > 1 ? ` (${s.passes} passes)` : ''}`,
    ...topics.map(([t, c]) => `  ${t.padEnd(width)}  ${c}`),
    `late against the schedule: p50 ${s.late_ms.p50} ms, p99 ${s.late_ms.p99} ms, max ${s.late_ms.max} ms; dropped by subscribers: ${dropped}`,
    ...(s.clock ? [`/clock: ${s.clock.published} message(s) at ${s.clock.hz} Hz`] : []),
    ...heldText(s),
    ...s.skipped.filter((k) => k.reason !== notSelected).map((k) => `not played: ${k.topic}: ${k.reason}`),
  ];
  const unselected = s.skipped.filter((k) => k.reason === notSelected).map((k) => k.topic);
  if (unselected.length > 0)
    lines.push(
      `not selected (--topics, --exclude): ${unselected.length > 8 ? `${unselected.slice(0, 8).join(', ')}, ... (${unselected.length})` : unselected.join(', ')}`,
    );
  return `${lines.join('\n')}\n`;
}

/** The messages held back by the latched stop, per topic, and why. */
function heldText(s: PlayStats): string[] {
  const held = Object.entries(s.held);
  if (held.length === 0) return [];
  const total = held.reduce((n, [, c]) => n + c, 0);
  return [
    `held back, not published: ${total} message(s) that actuate, while the operator's stop was latched: ${s.held_reason}`,
    ...held.map(([t, c]) => `  ${t}  ${c}`),
  ];
}

/**
 * `--clock` with no value (ros2 bag play's `--clock` alone) means CLOCK_HZ: the next word is a rate only if it is a
 * number.
 */
function withClockDefault(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    out.push(argv[i]!);
    if (argv[i] === '--') {
      out.push(...argv.slice(i + 1));
      break;
    }
    if (argv[i] === '--clock' && !/^\d*\.?\d+([eE][-+]?\d+)?$/.test(argv[i + 1] ?? '')) out.push(String(CLOCK_HZ));
  }
  return out;
}

function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
