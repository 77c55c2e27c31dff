import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API } from '../../daemon/components/api.ts';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const cleanups = cleanupStack();

const YAML = (id: string) => `robot:\n  id: ${id}\ndata_dir: ./data\napi:\n  port: 0\n`;

/** The reload series of a scrape of GET /metrics, as Prometheus would read them. */
async function scrape(
  url: string,
): Promise<{ type: string | undefined; applied: number; rejected: number; successful: number | undefined }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  return {
    type: /^# TYPE auraison_config_reloads_total (\w+)$/m.exec(text)?.[1],
    applied: value('auraison_config_reloads_total{result="applied"}')!,
    rejected: value('auraison_config_reloads_total{result="rejected"}')!,
    successful: value('auraison_config_last_reload_successful'),
  };
}

describe('auraison_config_reloads_total', () => {
  it('counts each reload of the config file by result, from 0: unchanged and changed files applied, invalid and empty ones rejected, over many reloads', async () => {
    const dir = tempDir('reload-counter-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'edge.yaml');
    writeFileSync(file, YAML('r1'));
    const daemon = new Daemon({
      config: loadConfigFile(file, {}).config,
      configFile: file,
      log: silentLogger(),
      cwd: dir.path,
      specs: [API],
    });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const url = daemon.ports.get(PORTS.api)!.url!;

    // Both series from the start, at 0: a first reload is then an increase Prometheus sees.
    expect(await scrape(url)).toEqual({ type: 'counter', applied: 0, rejected: 0, successful: undefined });

    // The same file again: read, validated and in force, so applied, though nothing changed.
    expect(await daemon.reloadFile({})).toMatchObject({ ok: true, restarted: [], totals: { applied: 1, rejected: 0 } });
    expect(await scrape(url)).toMatchObject({ applied: 1, rejected: 0, successful: 1 });

    writeFileSync(file, `${YAML('r2')}sim:\n  sped: 3\n`);
    expect(await daemon.reloadFile({})).toMatchObject({
      ok: false,
      error: expect.stringContaining('sim.sped'),
      totals: { applied: 1, rejected: 1 },
    });
    writeFileSync(file, '');
    expect(await daemon.reloadFile({})).toMatchObject({
      ok: false,
      error: expect.stringContaining('no settings'),
      totals: { applied: 1, rejected: 2 },
    });
    expect(await scrape(url)).toMatchObject({ applied: 1, rejected: 2, successful: 0 });
    expect(daemon.config.robot.id).toBe('r1');

    writeFileSync(file, YAML('r2'));
    expect(await daemon.reloadFile({})).toMatchObject({ ok: true, totals: { applied: 2, rejected: 2 } });
    expect(daemon.config.robot.id).toBe('r2');

    // Many more, alternating, and two asked at once (they run one after the other): none lost, none twice.
    for (let i = 0; i < 10; i++) {
      writeFileSync(file, i % 2 === 0 ? YAML(`r${i}`) : `${YAML(`r${i}`)}bogus: 1\n`);
      await daemon.reloadFile({});
    }
    writeFileSync(file, YAML('r-last'));
    await Promise.all([daemon.reloadFile({}), daemon.reloadFile({})]);
    expect(await scrape(url)).toEqual({ type: 'counter', applied: 9, rejected: 7, successful: 1 });
    expect(daemon.status().last_reload?.totals).toEqual({ applied: 9, rejected: 7 });
  });
});
