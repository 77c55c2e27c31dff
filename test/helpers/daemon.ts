import { pino } from 'pino';
import { stringify } from 'yaml';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import type { ComponentSpec } from '../../daemon/lifecycle/component.ts';
import { tempDir } from './cli.ts';

/**
 * Starts a real daemon in this process from a config given as an object (validated like a file), in a
 * fresh data dir. `stop()` stops it and removes the dir; push it onto the test's cleanups.
 */
export async function startDaemon(config: Record<string, unknown>, prefix = 'daemon-', specs?: readonly ComponentSpec[]): Promise<{ daemon: Daemon; codec: MessageCodec; dir: string; stop: () => Promise<void> }> {
  const dir = tempDir(prefix);
  const daemon = new Daemon({ config: parseConfigText(stringify({ data_dir: './data', ...config }), 'edge.yaml', {}), log: pino({ level: 'silent' }), cwd: dir.path, ...(specs ? { specs } : {}) });
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
      await daemon.stop();
      dir.cleanup();
    },
  };
}
