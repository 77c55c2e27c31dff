import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { defaultConfig, loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import type { ComponentSpec } from '../../daemon/lifecycle/component.ts';
import { Supervisor } from '../../daemon/lifecycle/supervisor.ts';
import { tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// Months unattended: a SIGHUP script with a bad file, a component that can never start. Lines counted for
// N events on a clock the test steps (no timing thresholds).

const cleanups = cleanupStack();

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
  );
  return { lines, log, byMsg: (msg: string) => lines.filter((l) => l.msg === msg) };
}

describe('config reload rejected: repeats of one error', () => {
  it('a line a minute for the same error, at once for another or after a reload that applied; every reload counted', async () => {
    const dir = tempDir('log-volume-core-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'edge.yaml');
    writeFileSync(file, 'robot:\n  id: r1\ndata_dir: ./data\n');
    const { log, byMsg } = capture();
    let now = 0;
    const daemon = new Daemon({
      config: loadConfigFile(file, {}).config,
      configFile: file,
      log,
      cwd: dir.path,
      specs: [],
      logClock: () => now,
    });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const rejected = () => byMsg('config reload rejected; the running config stays in force');

    // A script sending SIGHUP every second with a bad file: 60 reloads in 59 s are one line.
    writeFileSync(file, 'robot:\n  id: r1\nsim:\n  sped: 3\n');
    for (let i = 0; i < 60; i++, now += 990) await daemon.reloadFile({});
    expect(daemon.lastReload).toMatchObject({ ok: false, totals: { rejected: 60 } });
    expect(rejected()).toHaveLength(1);
    expect(rejected()[0]).toMatchObject({ err: expect.stringContaining('sim.sped'), hint: expect.any(String) });
    expect(rejected()[0]!.suppressed).toBeUndefined();
    // A minute after the first line: the next one says how many were held back.
    now = 60_000;
    await daemon.reloadFile({});
    expect(rejected()).toHaveLength(2);
    expect(rejected()[1]).toMatchObject({ suppressed: 60 - 1 });

    // Another error: logged at once (with the repeats of the one before that were held back).
    await daemon.reloadFile({});
    writeFileSync(file, '');
    await daemon.reloadFile({});
    expect(rejected()).toHaveLength(3);
    expect(rejected()[2]).toMatchObject({ err: expect.stringContaining('no settings'), suppressed: 1 });

    // A reload that applies, then the same bad file again: logged at once, a new episode.
    await daemon.reloadFile({});
    writeFileSync(file, 'robot:\n  id: r2\ndata_dir: ./data\n');
    await daemon.reloadFile({});
    expect(byMsg('config reloaded').at(-1)).toMatchObject({ rejections_suppressed: 1 });
    writeFileSync(file, '');
    await daemon.reloadFile({});
    expect(rejected()).toHaveLength(4);
    expect(daemon.lastReload).toMatchObject({ ok: false, totals: { applied: 1, rejected: 65 } });
  });
});

/** A component that fails to start with `state.err` while it is set; counts its starts. */
function flaky(state: { err: string | undefined; starts: number }): ComponentSpec {
  return {
    name: 'recorder',
    enabled: () => true,
    settings: () => null,
    create: () => ({
      name: 'recorder',
      async start() {
        state.starts++;
        if (state.err !== undefined) throw new Error(state.err);
      },
      async close() {},
      health: () => ({ state: 'running' }),
    }),
  };
}

describe('component failed to start: repeats of one error', () => {
  it('one line per window per component for the same error, at once when it changes, and the recovery with the count', async () => {
    const { log, byMsg } = capture();
    let now = 0;
    const state = { err: 'EROFS: read-only file system, open bags/x.mcap' as string | undefined, starts: 0 };
    const supervisor = new Supervisor({
      specs: [flaky(state)],
      log,
      retryBaseMs: 0, // retries at once: many failed starts in a test, as months of 30 s retries would make
      now: () => now,
      context: (config) => {
        const definitions = new DefinitionsRegistry({ distro: 'none' });
        return { ...componentContext({}, { definitions, log, dataDir: '/nonexistent' }), config };
      },
    });
    cleanups.push(async () => void (await supervisor.close()));
    const failed = () => byMsg('component failed to start; the rest of the daemon keeps running');
    await supervisor.start(defaultConfig());
    await waitFor(() => state.starts >= 200, '200 failed starts');
    expect(failed()).toHaveLength(1); // without the throttle: one per retry
    expect(failed()[0]).toMatchObject({
      component: 'recorder',
      err: expect.stringContaining('EROFS'),
      failed_starts: 1,
    });

    // 10 minutes on: one more line, with the count held back.
    now = 600_000;
    const mark = state.starts;
    await waitFor(() => state.starts >= mark + 50, '50 more failed starts');
    expect(failed()).toHaveLength(2);
    expect(failed()[1]!.suppressed).toBeGreaterThanOrEqual(199);

    // The error changes: at once.
    state.err = 'ENOSPC: no space left on device';
    await waitFor(() => failed().length === 3, 'the new error logged');
    expect(failed()[2]).toMatchObject({ err: expect.stringContaining('ENOSPC') });
    const held = failed()[2]!.suppressed as number;
    expect(held).toBeGreaterThanOrEqual(49);

    // It recovers: said at once, with how many failed starts it took and the repeats held back.
    const before = state.starts;
    await waitFor(() => state.starts >= before + 20, '20 failed starts of the new error');
    state.err = undefined;
    await waitFor(() => supervisor.components.has('recorder'), 'recovered');
    const started = byMsg('component started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ component: 'recorder', recovered_after_failed_starts: state.starts - 1 });
    expect(started[0]!.suppressed).toBeGreaterThanOrEqual(20);
    expect(failed()).toHaveLength(3);
  });
});
