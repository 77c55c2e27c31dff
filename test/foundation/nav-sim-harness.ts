import { MessageCodec } from '../../daemon/bus/codec.ts';
import { defaultConfig } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import type { NavigatorOptions } from '../../daemon/navigation/navigation-types.ts';
import { Navigator } from '../../daemon/navigation/navigator.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { tempDir } from '../helpers/cli.ts';

/** The daemon with the turtlebot-maze sim (paused, speed 1000, no API or Foxglove) and a Navigator on its bus. */
export interface NavSim {
  daemon: Daemon;
  sim: TurtlebotMazeSim;
  codec: MessageCodec;
  navigator: Navigator;
}

let running: (NavSim & { cleanup: () => void }) | undefined;

/** Starts the sim and a navigator (its topics as given); one at a time, ended by `stopNavSim` (an afterEach). */
export async function startNavSim(prefix: string, topics?: NavigatorOptions['topics']): Promise<NavSim> {
  const dir = tempDir(prefix);
  const config = defaultConfig();
  config.api.enabled = false;
  config.foxglove.enabled = false;
  config.sim = { ...config.sim, speed: 1000, paused: true };
  const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path });
  await daemon.start();
  const sim = daemon.components.get('sim');
  if (!(sim instanceof TurtlebotMazeSim)) throw new Error('no sim');
  const codec = new MessageCodec(daemon.definitions);
  const navigator = new Navigator({ bus: daemon.bus, codec, timeScale: 1000, ...(topics ? { topics } : {}) });
  navigator.start();
  running = { daemon, sim, codec, navigator, cleanup: dir.cleanup };
  return running;
}

export async function stopNavSim(): Promise<void> {
  running?.navigator.stop();
  await running?.daemon.stop();
  running?.cleanup();
  running = undefined;
}
