import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { trackConnection } from './in-flight.ts';

// A close with statements running is in test/central-serve/lake-close-inflight.test.ts, in a process of its own:
// got wrong, it crashes the process. These are the parts that cannot.
describe('trackConnection', () => {
  it('counts a statement while it runs, waits for it, refuses what comes after, and forbids a bare closeSync', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const tracked = trackConnection(await instance.connect(), 'the test connection');
    expect(() => tracked.connection.closeSync()).toThrow(/close it with its tracker's close\(\)/);
    const running = tracked.connection.runAndReadAll('SELECT sum(range) FROM range(1000000)');
    expect(tracked.running).toBe(1);
    const closed = tracked.close(); // not interrupted: the statement answers
    expect(tracked.close()).toBe(closed);
    await expect(tracked.connection.run('SELECT 1')).rejects.toThrow('the test connection is closed');
    expect(Number((await running).getRows()[0]![0])).toBe(499999500000);
    await closed;
    expect(tracked.running).toBe(0);
    instance.closeSync();
  });
});
