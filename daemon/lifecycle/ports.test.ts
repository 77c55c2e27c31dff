import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { defaultConfig } from '../config/load.ts';
import { port, type Port } from '../contract/ports.ts';
import { silentLogger } from '../log.ts';
import { componentContext } from '../../test/helpers/component-context.ts';
import type { Component, ComponentContext, ComponentSpec } from './component.ts';
import { Supervisor } from './supervisor.ts';

/** A clock any component may offer: what a consumer asks for through its port. */
interface Clock {
  now(): number;
}
const CLOCK: Port<Clock> = port('the clock', ['clock'], (v): v is Clock => typeof (v as Clock)?.now === 'function');

function component(name: string, extra: object = {}): Component {
  return {
    name,
    start: async () => undefined,
    stop: async () => undefined,
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

describe('ports between components', () => {
  it('resolves a port to the running component that provides it, at each call, and to nothing once it is gone', async () => {
    let ctx: ComponentContext | undefined;
    let clockOn = true;
    const s = supervisor([
      {
        name: 'clock',
        enabled: () => clockOn,
        settings: () => clockOn,
        create: () => component('clock', { now: () => 42 }),
      },
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        create: (c) => ((ctx = c), component('consumer')),
      },
    ]);
    const config = defaultConfig();
    await s.start(config);
    expect(ctx!.ports.get(CLOCK)?.now()).toBe(42);
    clockOn = false;
    await s.reload(structuredClone(config));
    expect(ctx!.ports.get(CLOCK)).toBeUndefined();
    expect(ctx!.ports.all(CLOCK)).toEqual([]);
    await s.stop(1000);
  });

  it('does not start a component that needs a port no enabled component provides, and says which to enable', async () => {
    const s = supervisor([
      { name: 'clock', enabled: () => false, settings: () => null, create: () => component('clock', { now: () => 1 }) },
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        needs: () => [CLOCK],
        create: () => component('consumer'),
      },
    ]);
    await s.start(defaultConfig());
    expect(s.health().consumer).toMatchObject({
      state: 'failed',
      reason:
        'consumer needs the clock, which the clock component provides, and it is not enabled: enable it in the config, or turn consumer off',
    });
    await s.stop(1000);
  });

  it('does not take a component that lacks the port for its provider', async () => {
    let ctx: ComponentContext | undefined;
    const s = supervisor([
      { name: 'clock', enabled: () => true, settings: () => null, create: () => component('clock') },
      {
        name: 'consumer',
        enabled: () => true,
        settings: () => null,
        create: (c) => ((ctx = c), component('consumer')),
      },
    ]);
    await s.start(defaultConfig());
    expect(ctx!.ports.get(CLOCK)).toBeUndefined();
    await s.stop(1000);
  });
});
