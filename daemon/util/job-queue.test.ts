import { describe, expect, it } from 'vitest';
import { JobQueue } from './job-queue.ts';
import { tick } from '../../test/helpers/wait.ts';

/** A job that runs until its `finish` is called, recording when it began. */
function held(log: string[], name: string): { job: () => Promise<void>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    job: async () => {
      log.push(`begin ${name}`);
      await done;
      log.push(`end ${name}`);
    },
    finish,
  };
}

describe('JobQueue', () => {
  it('runs jobs one at a time, in the order queued', async () => {
    const log: string[] = [];
    const queue = new JobQueue();
    const a = held(log, 'a');
    const b = held(log, 'b');
    queue.add('a', a.job);
    queue.add('b', b.job);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['begin a']);
    b.finish();
    a.finish();
    await queue.settled();
    expect(log).toEqual(['begin a', 'end a', 'begin b', 'end b']);
  });

  it('queues no second job of a kind while one of it waits to start, and does once it has begun', async () => {
    const log: string[] = [];
    const queue = new JobQueue();
    const first = held(log, 'first');
    expect(queue.add('scan', first.job)).toBe(true);
    expect(queue.add('scan', async () => void log.push('again'))).toBe(false);
    expect(queue.queued).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.queued).toBe(0);
    expect(queue.add('scan', async () => void log.push('after'))).toBe(true);
    first.finish();
    await queue.settled();
    expect(log).toEqual(['begin first', 'end first', 'after']);
  });

  it('keeps a kind’s error until a job of that kind succeeds, and goes on with the next job', async () => {
    const failed: string[] = [];
    const queue = new JobQueue({ failed: (kind) => failed.push(kind) });
    queue.add('flush', () => Promise.reject(new Error('disk full')));
    let ran = false;
    queue.add('other', async () => void (ran = true));
    await queue.settled();
    expect(ran).toBe(true);
    expect(failed).toEqual(['flush']);
    expect([...queue.failures]).toEqual([['flush', 'disk full']]);
    queue.add('flush', async () => undefined);
    await queue.settled();
    expect(queue.failures.size).toBe(0);
  });

  it('runs a job’s `skipped` instead of it while hold says so', async () => {
    let holding = true;
    const log: string[] = [];
    const queue = new JobQueue({ hold: () => holding, succeeded: (kind) => log.push(`ok ${kind}`) });
    queue.add(
      'index',
      async () => void log.push('index'),
      () => log.push('skipped index'),
    );
    await queue.settled();
    holding = false;
    queue.add('index', async () => void log.push('index'));
    await queue.settled();
    expect(log).toEqual(['skipped index', 'index', 'ok index']);
  });

  it('at close, refuses new jobs, drops the queued ones not kept and runs the kept ones', async () => {
    const log: string[] = [];
    const dropped: string[] = [];
    const queue = new JobQueue({ dropped: (kind) => dropped.push(kind) });
    const running = held(log, 'running');
    queue.add('running', running.job);
    queue.add('index a', async () => void log.push('index a'));
    queue.add('events', async () => void log.push('events'));
    await new Promise((resolve) => setImmediate(resolve)); // the first has begun: close lets it end
    const closed = queue.close((kind) => kind === 'events');
    expect(queue.closed).toBe(true);
    expect(queue.add('late', async () => void log.push('late'))).toBe(false);
    running.finish();
    await closed;
    expect(log).toEqual(['begin running', 'end running', 'events']);
    expect(dropped).toEqual(['index a']);
  });

  it('idle waits for the jobs that jobs queue', async () => {
    const log: string[] = [];
    const queue = new JobQueue();
    queue.add('scan', async () => {
      log.push('scan');
      queue.add('index', async () => {
        await tick();
        log.push('index');
      });
    });
    await queue.idle();
    expect(log).toEqual(['scan', 'index']);
  });
});
