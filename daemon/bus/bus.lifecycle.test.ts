import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from './bus.ts';
import { BusError, QueryError } from './errors.ts';
import type { QueryHandler } from './types.ts';

let bus: Bus;
afterEach(() => bus?.close());
const req = { encoding: 'text/plain', payload: new Uint8Array([1]) };

describe('Bus.close', () => {
  it('refuses advertising, subscribing, serving and publishing afterwards, saying the bus is closed', () => {
    bus = new Bus();
    const pub = bus.advertise('/a', 'std_msgs/msg/String', { source: 'test' });
    const seen: unknown[] = [];
    bus.subscribe({ name: 's', topic: '/a', handler: (m) => void seen.push(m) });
    bus.close();
    expect(() => pub.publish(new Uint8Array(8))).toThrow(
      new BusError('the bus is closed: nothing can be published on it'),
    );
    expect(bus.stats()[0]).toMatchObject({ topic: '/a', count: 0 });
    expect(() => bus.advertise('/b', 'std_msgs/msg/String', { source: 'test' })).toThrow(
      'cannot advertise /b: the bus is closed',
    );
    expect(() => bus.subscribe({ name: 's2', topic: '/a', handler: () => {} })).toThrow(
      'cannot subscribe to /a: the bus is closed',
    );
    expect(() => bus.serve('q', async () => req)).toThrow('cannot serve query q: the bus is closed');
    expect(seen).toEqual([]);
    bus.close(); // twice is fine
  });
});

describe('Bus.query', () => {
  it('refuses a timeout Node cannot keep (it would fire after 1 ms) before asking the handler', async () => {
    bus = new Bus();
    let asked = 0;
    bus.serve('q', async () => (asked++, req));
    for (const timeoutMs of [2 ** 31, 3e9, Infinity, NaN, 0, -5]) {
      await expect(bus.query('q', req, { timeoutMs })).rejects.toThrow(
        new BusError(`query q: its timeout must be from 1 to 2147483647 ms, got ${timeoutMs}`),
      );
    }
    expect(asked).toBe(0);
    await expect(bus.query('q', req, { timeoutMs: 2 ** 31 - 1 })).resolves.toEqual(req);
  });

  it("fails a reply that is not {encoding, payload} as the handler's error, naming the query", async () => {
    bus = new Bus();
    bus.serve('nothing', (async () => undefined) as unknown as QueryHandler);
    bus.serve('text', (async () => ({ encoding: 'text/plain', payload: 'hi' })) as unknown as QueryHandler);
    for (const name of ['nothing', 'text']) {
      const error = await bus.query(name, req).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect(error).toMatchObject({
        code: 'handler_error',
        message: expect.stringMatching(
          new RegExp(
            `^query ${name} replied with (nothing|something) that is not \\{encoding: string, payload: Uint8Array\\}$`,
          ),
        ),
      });
    }
  });
});
