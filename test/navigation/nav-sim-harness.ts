import type { MessageCodec } from '../../daemon/bus/codec.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import type { NavigatorOptions } from '../../daemon/navigation/navigation-types.ts';
import { Navigator } from '../../daemon/navigation/navigator.ts';
import type { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';

/** The daemon with the turtlebot-maze sim (paused, speed 1000, no API or Foxglove) and a Navigator on its bus. */
export interface NavSim {
  daemon: Daemon;
  sim: TurtlebotMazeSim;
  codec: MessageCodec;
  navigator: Navigator;
}

const running: Cleanup[] = [];

/** Starts the sim and a navigator (its topics as given); one at a time, ended by `stopNavSim` (an afterEach). */
export async function startNavSim(prefix: string, topics?: NavigatorOptions['topics']): Promise<NavSim> {
  const { daemon, sim, codec } = await startSimDaemon(running, { speed: 1000, paused: true, prefix });
  const navigator = new Navigator({ bus: daemon.bus, codec, timeScale: 1000, ...(topics ? { topics } : {}) });
  navigator.start();
  running.push(() => navigator.close());
  return { daemon, sim, codec, navigator };
}

export async function stopNavSim(): Promise<void> {
  await runCleanups(running);
}
