import type { CommandIO } from '../cli-kit/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { Ports, RobotHaltAuthority } from '../contract/index.ts';
import type * as AgentPart from '../agent/index.ts';
import { interruptions } from './sim-stay.ts';

/** The agent's part, loaded with the daemon (startSim): `--help` need not load the bus's codecs. */
let agentPart: typeof AgentPart;

/** Starts the daemon with the sim and hands back both; the daemon's logs go to stderr at --log-level. */
export async function startSim(
  config: EdgeConfig,
  file: string | undefined,
  io: CommandIO,
  { latchedOk = false, textLog = false } = {},
) {
  agentPart = await import('../agent/index.ts');
  const { createLogger } = await import('../log.ts');
  const { Daemon } = await import('../daemon.ts');
  const { TurtlebotMazeSim } = await (await import('../components/index.ts')).loadTurtlebotMaze();
  const log = createLogger({ level: config.log.level, text: textLog });
  const daemon = new Daemon({ config, configFile: file, log, cwd: io.cwd });
  await daemon.start();
  const sim = [...daemon.components.values()].find(
    (c): c is InstanceType<typeof TurtlebotMazeSim> => c instanceof TurtlebotMazeSim,
  );
  if (!sim) {
    await daemon.close();
    throw new Error(`the simulator did not start: ${daemon.status().components.sim?.reason ?? 'unknown reason'}`);
  }
  // A stop latched on this data dir (the page's STOP button, `auraison-edge stop`) holds for the main job too,
  // with the agent running or not.
  // With --stay the daemon runs on for the release (the drive does not start).
  const refusal = daemon.haltAuthority.latch.refusal();
  if (refusal && !latchedOk) {
    await daemon.close();
    throw new Error(`not driving: ${refusal}`);
  }
  return { daemon, sim, log, refusal };
}

export type SimStarted = Awaited<ReturnType<typeof startSim>>;

/**
 * Starts the daemon with the sim (startSim) and runs `drive` on it: from its start to the daemon's stop, Ctrl-C or a
 * service manager's stop aborts the signal `drive` is given.
 */
export async function runStartedSim(
  config: EdgeConfig,
  file: string | undefined,
  io: CommandIO,
  options: { latchedOk?: boolean; textLog?: boolean },
  drive: (started: SimStarted, interrupted: AbortSignal) => Promise<number>,
): Promise<number> {
  const started = await startSim(config, file, io, options);
  const interrupted = interruptions(io);
  try {
    return await drive(started, interrupted.signal);
  } finally {
    interrupted.dispose();
  }
}

/**
 * The drive holds the robot through the agent's motion lock, as a run's motion skill does: the operator's
 * stop aborts the returned signal in its own tick (before its zero Twist), and a run's navigate_to or
 * run_policy takes the robot over. With no agent (agent.enabled: false) nothing else drives or stops it.
 */
export function holdRobot(
  daemon: { ports: Ports; haltAuthority: RobotHaltAuthority },
  signal: AbortSignal,
): { signal: AbortSignal; release: () => void } {
  const agent = daemon.ports.get(agentPart.AGENT_PORTS.motion);
  if (agent) return agent.holdMotion('sim drive', signal);
  // No agent: the operator's stop (POST /stop, which then stops the robot itself) ends the drive all the same.
  const controller = new AbortController();
  const onParent = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onParent, { once: true });
  const off = daemon.haltAuthority.onHalt('sim drive', (order) =>
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
export function stoppedBy(signal: AbortSignal): { by: string; reason: string | null } | null {
  const stop = signal.reason instanceof agentPart.MotionAborted ? signal.reason.stop : undefined;
  return stop ? { by: stop.by, reason: stop.reason ?? null } : null;
}

export function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'interrupted';
}
