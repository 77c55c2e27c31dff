import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfigText } from '../../daemon/config/load.ts';
import { daemonMetrics } from '../../daemon/api/daemon-metrics.ts';
import { formatStatus } from '../../daemon/cli/commands/status.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

describe('daemon reload: what can only change on restart', () => {
  it('keeps data_dir and the open journal settings in the running config, applies journal retention, and says what waits for a restart in last_reload', async () => {
    const dir = tempDir('reload-consistency-');
    cleanups.push(dir.cleanup);
    const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
    const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path, specs: [] });
    await daemon.start();
    expect(daemon.status().last_reload).toBeNull();
    const reloadMetrics = () =>
      daemonMetrics(daemon.status()).filter((f) => f.name.startsWith('auraison_config_last_reload'));
    expect(reloadMetrics()).toEqual([]);
    const next = structuredClone(config);
    next.data_dir = './elsewhere';
    next.journal.segment_mb = config.journal.segment_mb * 2;
    next.journal.fsync = config.journal.fsync === 'always' ? 'interval' : 'always';
    next.journal.retain_days = 3;
    await daemon.reload(next);
    // What the daemon says it runs with is what runs: the journal stays open with its old settings.
    expect(daemon.config.data_dir).toBe('./data');
    expect(daemon.config.journal).toEqual({ ...config.journal, retain_days: 3 });
    expect(daemon.status().last_reload).toMatchObject({
      ok: true,
      restarted: [],
      pending_restart: ['data_dir', 'journal.fsync', 'journal.segment_mb'],
    });
    expect(reloadMetrics().map((f) => [f.name, f.samples[0]!.value])).toEqual([
      ['auraison_config_last_reload_successful', 1],
      ['auraison_config_last_reload_timestamp_seconds', Date.parse(daemon.status().last_reload!.at) / 1000],
    ]);
    // `auraison-edge status` says it too, and a rejected reload with its error and what to do.
    const status = daemon.status();
    expect(formatStatus(status, 'test').split('\n')[3]).toBe(
      `last reload ${status.last_reload!.at}: applied; waiting for a restart: data_dir, journal.fsync, journal.segment_mb`,
    );
    const rejected = {
      ...status,
      last_reload: {
        ...status.last_reload!,
        ok: false,
        error: 'edge.yaml: sim.sped: unknown key\nedge.yaml: api.port: expected integer',
        hint: 'fix the file and reload again',
      },
    };
    expect(formatStatus(rejected, 'test').split('\n')[3]).toBe(
      `last reload ${status.last_reload!.at}: REJECTED, the running config stays: edge.yaml: sim.sped: unknown key; edge.yaml: api.port: expected integer (fix the file and reload again)`,
    );
    await daemon.close();
  });
});
