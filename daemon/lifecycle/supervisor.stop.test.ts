import { Writable } from 'node:stream';
import pino from 'pino';
import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../config/load.ts';
import type { Component, ComponentContext, ComponentSpec } from './component.ts';
import { Supervisor } from './supervisor.ts';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** A promise and its resolve, for "the supervisor got this far". */
function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A supervisor whose log lines are kept, and whose own start timeout is long: only the stop budget can end a wait. */
function harness(specs: ComponentSpec[], { retryBaseMs = 600_000 } = {}) {
  const lines: { component?: string; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as { component?: string; msg: string });
      done();
    },
  });
  const supervisor = new Supervisor({
    specs,
    log: pino({ level: 'info' }, stream),
    startTimeoutMs: 600_000,
    retryBaseMs,
    // These components use nothing from their context.
    context: () => ({}) as Omit<ComponentContext, 'components'>,
  });
  return { supervisor, lines };
}

function component(name: string, parts: Partial<Component> = {}): Component {
  return {
    name,
    start: async () => undefined,
    close: async () => undefined,
    health: () => ({ state: 'running' }),
    ...parts,
  };
}

function spec(name: string, create: ComponentSpec['create']): ComponentSpec {
  return { name, enabled: () => true, settings: () => null, create };
}

describe('Supervisor.stop with components that never settle', () => {
  it('returns within its budget when a create() never settles, reports that component and stops the ones before it', async () => {
    const events: string[] = [];
    const creating = signal();
    const { supervisor, lines } = harness([
      spec('first', () => component('first', { close: async () => void events.push('stop first') })),
      spec('stuck', () => {
        creating.resolve();
        return never<Component>();
      }),
    ]);
    const started = supervisor.start(defaultConfig());
    await creating.promise;
    expect(await supervisor.close(20)).toEqual(['stuck']);
    await started;
    expect(events).toEqual(['stop first']);
    expect(lines.some((l) => l.component === 'stuck' && l.msg.includes('did not stop'))).toBe(true);
  });

  it('stops a component whose create() settles only after the stop gave up on it', async () => {
    const made = signal<Component>();
    const creating = signal();
    const stopped = signal();
    const { supervisor } = harness([
      spec('late', () => {
        creating.resolve();
        return made.promise;
      }),
    ]);
    const started = supervisor.start(defaultConfig());
    await creating.promise;
    expect(await supervisor.close(20)).toEqual(['late']);
    await started;
    made.resolve(component('late', { close: async () => stopped.resolve() }));
    await stopped.promise; // the test times out if it is never stopped
  });

  it.each([
    ['start() throws', () => Promise.reject(new Error('cannot reach its peer'))],
    ['start() rejects after the stop was asked for', undefined],
  ])(
    'returns within its budget when %s and the clean-up stop() never settles, and reports the component',
    async (_, start) => {
      const stopCalled = signal();
      const startCalled = signal();
      const failStart = signal<void>();
      const { supervisor, lines } = harness([
        spec('hung', () =>
          component('hung', {
            start: () => {
              startCalled.resolve();
              return start ? start() : failStart.promise.then(() => Promise.reject(new Error('connect failed')));
            },
            close: () => {
              stopCalled.resolve();
              return never();
            },
          }),
        ),
      ]);
      const started = supervisor.start(defaultConfig());
      // Either the start failed and its clean-up stop is now hanging, or the start is in flight.
      await (start ? stopCalled.promise : startCalled.promise);
      const stopping = supervisor.close(20);
      failStart.resolve();
      expect(await stopping).toEqual(['hung']);
      await started;
      expect(lines.some((l) => l.component === 'hung' && l.msg.includes('did not stop'))).toBe(true);
    },
  );

  it('reports a started component whose stop() never settles, and still stops the others', async () => {
    const events: string[] = [];
    const { supervisor } = harness([
      spec('a', () => component('a', { close: async () => void events.push('stop a') })),
      spec('hung', () => component('hung', { close: () => never() })),
      spec('c', () => component('c', { close: async () => void events.push('stop c') })),
    ]);
    await supervisor.start(defaultConfig());
    expect(await supervisor.close(20)).toEqual(['hung']);
    expect(events).toEqual(['stop c', 'stop a']);
  });

  it('returns [] when every component stops', async () => {
    const { supervisor } = harness([spec('a', () => component('a')), spec('b', () => component('b'))]);
    await supervisor.start(defaultConfig());
    expect(await supervisor.close(1000)).toEqual([]);
  });

  it('gives a component its 100 ms floor to stop even after another spent the whole budget', async () => {
    const stopped: string[] = [];
    const { supervisor } = harness([
      // Stops in 20 ms: within the floor, after a 0 ms wait.
      spec('recorder', () =>
        component('recorder', {
          // eslint-disable-next-line tests/no-fixed-wait -- the close time against the stop floor is what is checked
          close: () => new Promise<void>((resolve) => setTimeout(() => resolve(void stopped.push('recorder')), 20)),
        }),
      ),
      spec('stuck', () => component('stuck', { close: never })),
    ]);
    await supervisor.start(defaultConfig());
    expect(await supervisor.close(1)).toEqual(['stuck']);
    expect(stopped).toEqual(['recorder']);
  });
});

describe('Supervisor waits for stop', () => {
  it('leaves no listener behind for each start of a component that keeps failing', async () => {
    const addListener = vi.spyOn(EventTarget.prototype, 'addEventListener'); // calls through
    let starts = 0;
    const fourth = signal();
    const { supervisor } = harness(
      [
        spec('flaky', () =>
          component('flaky', {
            start: async () => {
              if (++starts === 4) fourth.resolve();
              throw new Error('no device');
            },
          }),
        ),
      ],
      { retryBaseMs: 1 },
    );
    try {
      await supervisor.start(defaultConfig());
      await fourth.promise; // three retries, each a create, a start and a stop after the failed start
      // The supervisor's stop signal, and those of the starts' timeouts.
      const signals = new Set(
        addListener.mock.contexts.filter(
          (target, i) => target instanceof AbortSignal && addListener.mock.calls[i]![0] === 'abort',
        ),
      );
      expect(signals.size).toBeGreaterThanOrEqual(1);
      // At most the wait of the start in flight (the fourth); without their removal, one or two per start.
      for (const target of signals)
        expect(getEventListeners(target as AbortSignal, 'abort').length).toBeLessThanOrEqual(1);
    } finally {
      addListener.mockRestore();
      await supervisor.close(50);
    }
  });
});
