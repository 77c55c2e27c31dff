import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A config (API off, so `status` reads the file) and the status file a running daemon would have written in
 * its data dir under `dir`, as from this live process, with `fields` over a minimal status. Returns the config.
 */
export function writeStatusFile(dir: string, fields: Record<string, unknown>): string {
  const config = join(dir, 'edge.yaml');
  writeFileSync(config, 'api:\n  enabled: false\n');
  const dataDir = join(dir, '.auraison-edge');
  mkdirSync(join(dataDir, 'run'), { recursive: true });
  const status = {
    state: 'running',
    written_at: new Date().toISOString(),
    robot: { id: 'r', fleet: 'f' },
    pid: process.pid,
    started_at: '0',
    uptime_s: 1,
    config_file: config,
    data_dir: dataDir,
    components: {},
    topics: [],
    subscribers: [],
    queryables: [],
    ...fields,
  };
  writeFileSync(join(dataDir, 'run', 'status.json'), JSON.stringify(status));
  return config;
}
