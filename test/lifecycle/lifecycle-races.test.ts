import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import { Daemon } from '../../daemon/daemon.ts';
import type { ComponentSpec } from '../../daemon/lifecycle/component.ts';
import { DataDirLock } from '../../daemon/lifecycle/data-dir.ts';
import { silentLogger } from '../../daemon/log.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

/**
 * Fake components whose start waits on a gate the test opens, so a stop or a reload can be sent at a
 * known point of a start, the way a SIGTERM or SIGHUP arrives while a model loads.
 */
class World {
  /** Instances whose start resolved and that were not stopped since. */
  running = new Set<string>();
  events: string[] = [];
  #gates = new Map<string, () => void>();
  #instances = 0;

  spec(name: string, options: { gated?: boolean; key?: (c: EdgeConfig) => unknown } = {}): ComponentSpec {
    return {
      name,
      enabled: () => true,
      settings: options.key ?? (() => null),
      create: () => {
        const id = `${name}#${++this.#instances}`;
        return {
          name,
          start: async () => {
            this.events.push(`starting ${id}`);
            if (options.gated) await new Promise<void>((resolve) => this.#gates.set(name, resolve));
            this.running.add(id);
            this.events.push(`started ${id}`);
          },
          close: async () => {
            this.running.delete(id);
            this.events.push(`stopped ${id}`);
          },
          health: () => ({ state: 'running' }),
        };
      },
    };
  }

  /** Resolves once `name`'s start is waiting on its gate. */
  waiting(name: string): Promise<void> {
    return waitFor(() => this.#gates.has(name), `${name} to be starting`);
  }

  open(name: string): void {
    const gate = this.#gates.get(name);
    this.#gates.delete(name);
    gate?.();
  }
}

const cleanups = cleanupStack();

function daemonWith(world: World, specs: ComponentSpec[]) {
  const dir = tempDir('lifecycle-races-');
  cleanups.push(dir.cleanup);
  const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
  const daemon = new Daemon({ config, log: silentLogger(), cwd: dir.path, specs });
  return { daemon, config, world };
}

/** The data dir lock is free: another daemon could take it now. */
async function expectLockFree(daemon: Daemon): Promise<void> {
  const lock = await DataDirLock.acquire(daemon.dataDir, undefined);
  lock.release();
}

describe('daemon lifecycle: stop, start and reload are serialized', () => {
  it('a stop during startup stops what started, starts nothing more, then frees the data dir', async () => {
    const world = new World();
    const { daemon } = daemonWith(world, [world.spec('a'), world.spec('slow', { gated: true }), world.spec('c')]);
    const starting = daemon.start();
    await world.waiting('slow');
    const stopping = daemon.close();
    world.open('slow');
    await stopping;
    await starting;
    expect(world.running).toEqual(new Set());
    expect(world.events).not.toContain('starting c#3');
    expect(world.events.at(-1)).toBe('stopped a#1');
    await expectLockFree(daemon);
    expect(() => daemon.journal).toThrow(/only while the daemon runs/);
  });

  it('a reload during startup waits for the start: each component starts once, and nothing restarts when the config is the same', async () => {
    const world = new World();
    const { daemon, config } = daemonWith(world, [
      world.spec('a'),
      world.spec('slow', { gated: true }),
      world.spec('c'),
    ]);
    const starting = daemon.start();
    await world.waiting('slow');
    const reloading = daemon.reload(structuredClone(config));
    world.open('slow');
    await starting;
    expect(await reloading).toEqual([]);
    expect(world.events.filter((e) => e.startsWith('started'))).toEqual([
      'started a#1',
      'started slow#2',
      'started c#3',
    ]);
    await daemon.close();
    expect(world.running).toEqual(new Set());
    await expectLockFree(daemon);
  });

  it('a stop right after a reload stops the component the reload was restarting, and nothing is left running', async () => {
    const world = new World();
    let gated = false;
    const slow = world.spec('slow', { key: (c) => c.sim.seed });
    // Its first start is quick; the restart the reload makes waits on the gate.
    const spec: ComponentSpec = {
      ...slow,
      create: (ctx, needs) =>
        gated ? world.spec('slow', { gated: true }).create(ctx, needs) : slow.create(ctx, needs),
    };
    const { daemon, config } = daemonWith(world, [world.spec('a'), spec, world.spec('c', { key: (c) => c.sim.seed })]);
    await daemon.start();
    gated = true;
    const next = structuredClone(config);
    next.sim.seed = 99;
    const reloading = daemon.reload(next);
    await world.waiting('slow');
    const stopping = daemon.close();
    world.open('slow');
    await stopping;
    await reloading;
    expect(world.running).toEqual(new Set());
    // c was stopped by the reload and not started again after the stop came.
    expect(world.events.filter((e) => e.startsWith('starting c'))).toEqual(['starting c#3']);
    await expectLockFree(daemon);
  });

  it('a reload after stop starts nothing', async () => {
    const world = new World();
    const { daemon, config } = daemonWith(world, [world.spec('a', { key: (c) => c.sim.seed })]);
    await daemon.start();
    await daemon.close();
    const next = structuredClone(config);
    next.sim.seed = 7;
    expect(await daemon.reload(next)).toEqual([]);
    expect(world.running).toEqual(new Set());
  });
});

describe('daemon reload: log.level', () => {
  it('applies a new log.level at once, to the daemon logger and the loggers made from it', async () => {
    const world = new World();
    const dir = tempDir('lifecycle-level-');
    cleanups.push(dir.cleanup);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
    const daemon = new Daemon({ config, log, cwd: dir.path, specs: [world.spec('a')] });
    await daemon.start();
    const child = log.child({ component: 'api' });
    const next = structuredClone(config);
    next.log.level = 'error';
    await daemon.reload(next);
    lines.length = 0;
    child.info('an info line from a component');
    child.error('an error line from a component');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['an error line from a component']);
    await daemon.close();
  });
});

describe('daemon status: health of parts that are not components', () => {
  it('shows what reportHealth gives (the systemd notifier) beside the components', async () => {
    const world = new World();
    const { daemon } = daemonWith(world, [world.spec('a')]);
    await daemon.start();
    daemon.reportHealth('systemd', () => ({ state: 'degraded', reason: 'systemd-notify failed 3 times in a row' }));
    expect(daemon.status().components).toEqual({
      a: { state: 'running' },
      systemd: { state: 'degraded', reason: 'systemd-notify failed 3 times in a row' },
    });
    await daemon.close();
  });
});

describe('daemon reload: data_dir', () => {
  it('keeps running on its data dir (a change takes effect on restart), and restarts nothing for it', async () => {
    const world = new World();
    const { daemon, config } = daemonWith(world, [
      world.spec('lakehouse', { key: (c) => ({ lakehouse: c.lakehouse, data_dir: c.data_dir }) }),
    ]);
    await daemon.start();
    const next = structuredClone(config);
    next.data_dir = './elsewhere';
    expect(await daemon.reload(next)).toEqual([]);
    expect(daemon.config.data_dir).toBe('./data');
    expect(world.events.filter((e) => e.startsWith('started'))).toEqual(['started lakehouse#1']);
    await daemon.close();
  });
});

describe('daemon stop: a component that does not stop', () => {
  it('is named in an error, and the data dir stays locked while it may still write there', async () => {
    const dir = tempDir('lifecycle-unstopped-');
    cleanups.push(dir.cleanup);
    const lines: { msg: string; level: number }[] = [];
    const log = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) },
    );
    const config = parseConfigText(stringify({ data_dir: './data' }), 'edge.yaml', {});
    const recorder: ComponentSpec = {
      name: 'recorder',
      enabled: () => true,
      settings: () => null,
      // Still closing its bag when the budget runs out.
      create: () => ({
        name: 'recorder',
        start: async () => undefined,
        close: () => new Promise<void>(() => undefined),
        health: () => ({ state: 'running' }),
      }),
    };
    const daemon = new Daemon({ config, log, cwd: dir.path, specs: [recorder] });
    await daemon.start();
    await daemon.close(1);
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toContain(
      'components still running after stop: recorder; the data dir stays locked until this process exits',
    );
    await expect(DataDirLock.acquire(daemon.dataDir, undefined)).rejects.toThrow(/is in use by pid/);
  });
});
