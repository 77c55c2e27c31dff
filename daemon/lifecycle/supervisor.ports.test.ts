import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { defaultConfig } from '../config/load.ts';
import type { Port, Provide } from '../contract/ports.ts';
import { silentLogger } from '../log.ts';
import { componentContext } from '../../test/helpers/component-context.ts';
import { defineComponent, type Component, type ComponentContext, type ComponentSpec } from './component.ts';
import { Supervisor } from './supervisor.ts';

/** A clock any component may offer: what a consumer asks for through its port. */
interface Clock {
  now(): number;
}
const CLOCK = { name: 'the clock' } as Port<Clock>;

/** What the compiler refuses (never called: tsc checks it with the tests). */
export function _refusedByTheCompiler(provide: Provide): void {
  // @ts-expect-error -- a service that is not the port's type
  provide(CLOCK, { now: 'noon' });
}

function component(name: string, extra: object = {}): Component {
  return {
    name,
    start: async () => undefined,
    close: async () => undefined,
    health: () => ({ state: 'running' }),
    ...extra,
  };
}

function supervisor(specs: ComponentSpec[]) {
  return new Supervisor({
    specs,
    log: silentLogger(),
    retryBaseMs: 60_000,
    context: (config) => ({
      ...componentContext({}, { definitions: new DefinitionsRegistry({ distro: 'none' }), dataDir: '/nonexistent' }),
      config,
    }),
  });
}

/**
 * A clock provider whose time is the config's sim seed (a reload that changes it restarts the clock). The clock it
 * registers is an object of its own, not the component: a consumer gets what the provider registered.
 */
const clock = (on: () => boolean = () => true): ComponentSpec => ({
  name: 'clock',
  enabled: on,
  settings: (config) => [on(), config.sim.seed],
  provides: [CLOCK],
  create: (ctx) => {
    ctx.provide(CLOCK, { now: () => ctx.config.sim.seed });
    return component('clock');
  },
});

describe('ports between components', () => {
  it('resolves a port the consumer uses to the running provider, at each call, and to nothing once it is gone', async () => {
    let ctx: ComponentContext | undefined;
    let clockOn = true;
    const s = supervisor([
      clock(() => clockOn),
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        uses: [CLOCK],
        create: (c) => ((ctx = c), component('consumer')),
      },
    ]);
    const config = defaultConfig();
    await s.start(config);
    expect(ctx!.ports.get(CLOCK)?.now()).toBe(config.sim.seed);
    clockOn = false;
    await s.reload(structuredClone(config));
    expect(ctx!.ports.get(CLOCK)).toBeUndefined();
    expect(ctx!.ports.all(CLOCK)).toEqual([]);
    await s.close(1000);
  });

  it('hands a component what it needs, typed, before it is created, and restarts it with a provider a reload restarts', async () => {
    const clocks: number[] = [];
    const s = supervisor([
      clock(),
      defineComponent({
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        needs: { clock: { port: CLOCK } },
        create: (_ctx, needs) => (clocks.push(needs.clock.now()), component('consumer')),
      }),
    ]);
    const config = defaultConfig();
    await s.start(config);
    expect(clocks).toEqual([config.sim.seed]);
    const restarted = await s.reload({ ...config, sim: { ...config.sim, seed: 99 } });
    expect(restarted).toEqual(['clock', 'consumer']);
    expect(clocks).toEqual([config.sim.seed, 99]);
    await s.close(1000);
  });

  it('does not start a component that needs a port no enabled component provides, says which to enable, and starts it once a reload enables it', async () => {
    let clockOn = false;
    const s = supervisor([
      clock(() => clockOn),
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        needs: { clock: { port: CLOCK } },
        create: () => component('consumer'),
      },
    ]);
    const config = defaultConfig();
    await s.start(config);
    expect(s.health().consumer).toMatchObject({
      state: 'failed',
      reason:
        'consumer needs the clock, which the clock component provides, and it is not enabled: enable it in the config, or turn consumer off',
    });
    clockOn = true;
    await s.reload(structuredClone(config));
    expect(s.health().consumer).toEqual({ state: 'running' });
    await s.close(1000);
  });

  it('does not start a component whose needed provider failed, and says why it failed', async () => {
    const s = supervisor([
      {
        ...clock(),
        create: () => {
          throw new Error('no time source');
        },
      },
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        needs: { clock: { port: CLOCK } },
        create: () => component('consumer'),
      },
    ]);
    await s.start(defaultConfig());
    expect(s.health().consumer?.reason).toBe(
      'consumer needs the clock, which the clock component provides, and it is not running (no time source): consumer starts once it runs',
    );
    await s.close(1000);
  });

  it('hands undefined for a need its config leaves out, and needs it when the config asks', async () => {
    const handed: unknown[] = [];
    const consumer = defineComponent({
      name: 'consumer',
      enabled: () => true,
      settings: (config) => config.sim.enabled,
      needs: { clock: { port: CLOCK, when: (config: ComponentContext['config']) => config.sim.enabled, off: 'sim' } },
      create: (_ctx, needs) => (handed.push(needs.clock), component('consumer')),
    });
    const s = supervisor([clock(() => false), consumer]);
    const config = defaultConfig();
    await s.start({ ...config, sim: { ...config.sim, enabled: false } });
    expect(handed).toEqual([undefined]);
    await s.reload({ ...config, sim: { ...config.sim, enabled: true } });
    expect(s.health().consumer?.reason).toMatch(/^consumer \(sim\) needs the clock.*or turn sim off$/);
    await s.close(1000);
  });

  it('refuses a port the component asked for without declaring it, naming both', async () => {
    let ctx: ComponentContext | undefined;
    const s = supervisor([
      clock(),
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        create: (c) => ((ctx = c), component('consumer')),
      },
    ]);
    await s.start(defaultConfig());
    expect(() => ctx!.ports.get(CLOCK)).toThrow(
      'the consumer component asked for the clock, which its spec neither needs nor uses: declare it in its spec (uses or needs)',
    );
    // Outside the components (the CLI, tests) every port is asked for as its providers declare it.
    expect(s.ports.get(CLOCK)?.now()).toBe(defaultConfig().sim.seed);
    await s.close(1000);
  });

  it('fails the start of a component that registers a port its spec does not provide, naming both', async () => {
    const s = supervisor([{ ...clock(), provides: [] }]);
    await s.start(defaultConfig());
    expect(s.health().clock).toMatchObject({
      state: 'failed',
      reason: "the clock component provided the clock, which its spec does not: declare it in its spec's provides",
    });
    await s.close(1000);
  });

  it('fails the start of a component that lacks a port its spec provides', async () => {
    const s = supervisor([{ ...clock(), create: () => component('clock') }]);
    await s.start(defaultConfig());
    expect(s.health().clock).toMatchObject({
      state: 'failed',
      reason: 'the clock component does not offer the clock, which its spec provides',
    });
    expect(s.ports.get(CLOCK)).toBeUndefined();
    await s.close(1000);
  });

  it('refuses specs where a need is provided only by a component that starts after its consumer', () => {
    const consumer: ComponentSpec = {
      name: 'consumer',
      enabled: () => true,
      settings: () => null,
      needs: { clock: { port: CLOCK } },
      create: () => component('consumer'),
    };
    expect(() => supervisor([consumer, clock()])).toThrow(
      'the consumer component needs the clock, which only components that start after it provide (clock): a need is resolved before its consumer is created, so list consumer after them',
    );
    expect(() => supervisor([consumer])).toThrow('the consumer component needs the clock, which no component provides');
  });
});
