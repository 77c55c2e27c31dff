import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * A daemon for the `topic` command's tests: the sim at 10x, the API on a free port, no lakehouse or
 * retention, then `settings` over that; and `config`, the file a user's CLI is given (its data dir, the
 * ports looked up through run/api.json). Resolves once the sim publishes /odom and /scan.
 */
export async function startTopicDaemon(settings: Record<string, unknown>, prefix: string) {
  const started = await startDaemon(
    {
      sim: { enabled: true, speed: 10 },
      api: { port: 0 },
      lakehouse: { enabled: false },
      retention: { enabled: false },
      ...settings,
    },
    prefix,
  );
  const config = join(started.dir, 'edge.yaml');
  writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\nfoxglove: {port: 0}\n');
  const count = (topic: string) => started.daemon.bus.stats().find((t) => t.topic === topic)?.count ?? 0;
  await waitFor(() => count('/odom') > 0 && count('/scan') > 0, 'the sim publishing /odom and /scan');
  return { ...started, config };
}
