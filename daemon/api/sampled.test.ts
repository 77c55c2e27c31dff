import { describe, expect, it } from 'vitest';
import { Sampled } from './sampled.ts';

/** A statfs that counts its calls and answers what the test sets, once the test lets it. */
function fakeStatfs() {
  const fake = {
    calls: 0,
    bavail: 1000,
    fail: undefined as Error | undefined,
    waiting: [] as (() => void)[],
    read: async (): Promise<number> => {
      fake.calls++;
      await new Promise<void>((resolve) => fake.waiting.push(resolve));
      if (fake.fail) throw fake.fail;
      return fake.bavail * 4096;
    },
    answer(): void {
      for (const resolve of fake.waiting.splice(0)) resolve();
    },
  };
  return fake;
}

describe('a value the API reads at most once a second (the free space, the memory)', () => {
  it('asks statfs once for a burst of requests, which all get its answer', async () => {
    const fake = fakeStatfs();
    let now = 0;
    const free = new Sampled({ read: fake.read, maxAgeMs: 1000, now: () => now });
    const burst = Array.from({ length: 128 }, () => free.get());
    fake.answer();
    expect(await Promise.all(burst)).toEqual(Array.from({ length: 128 }, () => 1000 * 4096));
    now = 1000;
    expect(await free.get()).toBe(1000 * 4096);
    expect(fake.calls).toBe(1);
  });

  it('reports a disk that filled up once its last answer is older than maxAgeMs', async () => {
    const fake = fakeStatfs();
    let now = 0;
    const free = new Sampled({ read: fake.read, maxAgeMs: 1000, now: () => now });
    const first = free.get();
    fake.answer();
    expect(await first).toBe(1000 * 4096);
    fake.bavail = 0;
    now = 1001;
    const second = free.get();
    fake.answer();
    expect(await second).toBe(0);
    expect(fake.calls).toBe(2);
  });

  it('does not keep a failure: the next get reads again', async () => {
    const fake = fakeStatfs();
    const free = new Sampled({ read: fake.read, now: () => 0 });
    fake.fail = new Error('EIO: i/o error, statfs');
    const failed = free.get();
    fake.answer();
    await expect(failed).rejects.toThrow('EIO');
    fake.fail = undefined;
    const again = free.get();
    fake.answer();
    expect(await again).toBe(1000 * 4096);
    expect(fake.calls).toBe(2);
  });

  it('reads a plain value again only once it is older than maxAgeMs', () => {
    let now = 0;
    let reads = 0;
    const memory = new Sampled({ read: () => ++reads, maxAgeMs: 1000, now: () => now });
    expect([memory.get(), memory.get()]).toEqual([1, 1]);
    now = 1500;
    expect(memory.get()).toBe(2);
  });
});
