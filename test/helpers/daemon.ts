import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import type { ComponentSpec } from '../../daemon/lifecycle/component.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from './paths.ts';
import type { Cleanup } from './cleanups.ts';

/**
 * Starts a real daemon in this process from a config given as an object (validated like a file), in a
 * fresh data dir, logging to `log` (nowhere unless given). `stop()` stops it and removes the dir; push it onto the
 * test's cleanups. The API's stop listener runs only where the config asks for it (`motion.stop.listener: true`): from
 * the TypeScript sources its thread compiles its modules anew, seconds of CPU per daemon on a loaded machine, for
 * tests that never use it.
 */
export async function startDaemon(
  config: Record<string, unknown>,
  prefix = 'daemon-',
  specs?: readonly ComponentSpec[],
  log: Logger = pino({ level: 'silent' }),
): Promise<{ daemon: Daemon; codec: MessageCodec; dir: string; stop: () => Promise<void> }> {
  const dir = tempDir(prefix);
  const daemon = new Daemon({
    config: parseConfigText(stringify({ data_dir: './data', ...withTestStopDoors(config) }), 'edge.yaml', {}),
    log,
    cwd: dir.path,
    ...(specs ? { specs } : {}),
  });
  try {
    await daemon.start();
  } catch (error) {
    dir.cleanup();
    throw error;
  }
  return {
    daemon,
    codec: new MessageCodec(daemon.definitions),
    dir: dir.path,
    stop: async () => {
      await daemon.close();
      dir.cleanup();
    },
  };
}

export interface SimDaemonOptions {
  /** Sim seconds per wall second. */
  speed?: number;
  /** Starts the sim paused: `sim.unpause()` lets it run once the test is ready for its first messages. */
  paused?: boolean;
  /** More config, over the sim daemon's (its `sim` section merged into the sim's). */
  config?: Record<string, unknown>;
  prefix?: string;
}

/**
 * `config` with the stop's own threads off unless it turns them on (motion.stop.listener, central_connection): from
 * the TypeScript sources each compiles its modules anew, seconds of CPU per daemon, for tests that never use them.
 */
export function withTestStopDoors(config: Record<string, unknown>): Record<string, unknown> {
  const motion = (config.motion ?? {}) as Record<string, unknown>;
  const stop = { listener: false, central_connection: false, ...(motion.stop as Record<string, unknown> | undefined) };
  return { ...config, motion: { ...motion, stop } };
}

/**
 * The sim daemon: a real daemon with the turtlebot-maze sim, the agent and no API or Foxglove, from
 * startDaemon. `cleanups` gets what stops it and removes its dir.
 */
export async function startSimDaemon(cleanups: Cleanup[], options: SimDaemonOptions = {}) {
  const { speed = 1, paused = false, config = {}, prefix = 'sim-daemon-' } = options;
  const sim = { enabled: true, speed, paused, ...(config.sim as Record<string, unknown> | undefined) };
  const started = await startDaemon({ api: { enabled: false }, foxglove: { enabled: false }, ...config, sim }, prefix);
  cleanups.push(started.stop);
  const component = running(started.daemon, TurtlebotMazeSim);
  if (!component) throw new Error('the daemon started no turtlebot-maze sim');
  const agent = running(started.daemon, AgentComponent) as AgentComponent; // unless config turns it off
  return { ...started, sim: component, agent, dock: component.namedPoses.charging_dock! };
}

/**
 * The running instance of a component class, found among the running components by its class (as `sim` finds
 * its simulator): how a test reaches a component's own methods, typed, never by name. Undefined while none runs. A
 * component's state and figures are in `daemon.componentHealth()`, as status shows them.
 */
export function running<T>(
  daemon: { readonly components: ReadonlyMap<string, unknown> },
  cls: abstract new (...args: never[]) => T,
): T | undefined {
  return [...daemon.components.values()].find((c): c is T => c instanceof cls);
}
