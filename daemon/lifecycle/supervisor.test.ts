import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { defaultConfig } from '../config/load.ts';
import type { EdgeConfig } from '../config/schema.ts';
import { silentLogger } from '../log.ts';
import { componentContext } from '../../test/helpers/component-context.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import type { ComponentSpec } from './component.ts';
import { CriticalComponentError, Supervisor } from './supervisor.ts';

function harness(specs: ComponentSpec[]) {
  return new Supervisor({
    specs,
    log: silentLogger(),
    retryBaseMs: 10,
    context: (config) => ({
      ...componentContext({}, { definitions: new DefinitionsRegistry({ distro: 'none' }), dataDir: '/nonexistent' }),
      config,
    }),
  });
}

/** A component that records its lifecycle in `events`; `fail` makes start throw that many times. */
function spec(
  name: string,
  events: string[],
  options: { fail?: number; critical?: boolean; key?: (c: EdgeConfig) => unknown } = {},
): ComponentSpec {
  let failures = options.fail ?? 0;
  return {
    name,
    critical: options.critical,
    enabled: () => true,
    settings: options.key ?? (() => null),
    create: () => ({
      name,
      async start() {
        if (failures-- > 0) throw new Error(`${name} cannot reach its peer`);
        events.push(`start ${name}`);
      },
      async close() {
        events.push(`stop ${name}`);
      },
      health: () => ({ state: 'running' }),
    }),
  };
}

describe('Supervisor', () => {
  it('gives a component that loads models the start timeout its config sets, naming the key when it passes', async () => {
    const s = harness([
      {
        name: 'slow',
        enabled: () => true,
        settings: () => null,
        startTimeout: () => ({ ms: 30, key: 'control.start_timeout_s' }),
        create: () => ({
          name: 'slow',
          start: () => new Promise<void>(() => undefined),
          close: async () => undefined,
          health: () => ({ state: 'running' }),
        }),
      },
    ]);
    await s.start(defaultConfig());
    expect(s.health().slow).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('slow did not start within 30 ms (control.start_timeout_s)'),
    });
    await s.close();
  });

  it('starts components in order and stops them in reverse', async () => {
    const events: string[] = [];
    const s = harness([spec('a', events), spec('b', events), spec('c', events)]);
    await s.start(defaultConfig());
    await s.close();
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('a component that fails degrades only itself, is reported, and is retried', async () => {
    const events: string[] = [];
    const s = harness([spec('adapter', events, { fail: 2 }), spec('recorder', events)]);
    await s.start(defaultConfig());
    expect(s.health().adapter).toMatchObject({ state: 'failed', reason: 'adapter cannot reach its peer' });
    expect(s.health().recorder).toMatchObject({ state: 'running' });
    expect(s.components.has('adapter')).toBe(false);
    // Two retries, with 10 ms and 20 ms backoff: waited for, not slept through (a loaded machine runs them late).
    await waitFor(() => s.components.has('adapter'), 'the adapter to start on its second retry');
    expect(s.health().adapter).toMatchObject({ state: 'running' });
    expect(events.filter((e) => e === 'start adapter')).toEqual(['start adapter']);
    await s.close();
  });

  it('a critical component that fails fails the start', async () => {
    const s = harness([spec('bus-bridge', [], { fail: 1, critical: true })]);
    await expect(s.start(defaultConfig())).rejects.toThrow(CriticalComponentError);
  });

  it('a reload restarts exactly the components whose settings changed', async () => {
    const events: string[] = [];
    const s = harness([spec('sim', events, { key: (c) => c.sim }), spec('other', events, { key: (c) => c.robot })]);
    const config = defaultConfig();
    await s.start(config);
    events.length = 0;
    const next = structuredClone(config);
    next.sim.seed = 99;
    expect(await s.reload(next)).toEqual(['sim']);
    expect(events).toEqual(['stop sim', 'start sim']);
    expect(await s.reload(next)).toEqual([]);
    await s.close();
  });
});
