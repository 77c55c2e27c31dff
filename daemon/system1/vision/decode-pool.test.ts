import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { costlyPng, noiseJpeg } from '../../../test/helpers/hostile-frames.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { CHEAP_TO_RETURN, DecodePool } from './decode-pool.ts';
import { DecodeProcess } from './decode-process.ts';
import { FrameDecoder } from './frame-decoder.ts';
import type { FrameTarget } from './raw-pixels.ts';

const target: FrameTarget = { width: 20, height: 15, channels: 3, resize: 'fill', maxPixels: 20_000_000 };
const pools: DecodePool[] = [];
const poolOf = (processes: number, memoryMb = 1024) => {
  const pool = new DecodePool({ processes, memoryMb });
  pools.push(pool);
  return pool;
};
/** A process's niceness (Linux: the 19th field of /proc/<pid>/stat). */
const niceOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
};
/** Calls `seen` as each decode process starts (whether it is the low one), then starts it; mockRestore() ends it. */
const onStart = (seen: (low: boolean) => void) => {
  const start = DecodeProcess.start.bind(DecodeProcess);
  return vi.spyOn(DecodeProcess, 'start').mockImplementation((entry, low) => {
    seen(low ?? false);
    return start(entry, low);
  });
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe("the daemon's frame decode processes", () => {
  it('are shared by every camera: eight decode in two processes', async () => {
    const pool = poolOf(2);
    const cameras = Array.from(
      { length: 8 },
      (_, i) => new FrameDecoder({ name: `camera /c${i}`, timeoutMs: 30_000, pool }),
    );
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    const pids = new Set<number>();
    for (let round = 0; round < 3; round++)
      await Promise.all(
        cameras.map(async (c) => {
          expect((await c.decode(jpeg, target)).width).toBe(20);
          pids.add(c.pid!);
        }),
      );
    expect(pids.size).toBeGreaterThan(0);
    expect(pids.size).toBeLessThanOrEqual(2);
    expect(pool.stats.processes).toBeLessThanOrEqual(2);
    expect(pool.stats.rssBytes).toBeGreaterThan(0);
  });

  it('judge a frame by the CPU time it cost, not by how long a loaded machine took to decode it', async () => {
    // A wall clock that runs a second between readings: every decode takes half the 2 s budget or more by it.
    let readings = 0;
    const pool = new DecodePool({ processes: 2, memoryMb: 1024, now: () => readings++ * 1000 });
    pools.push(pool);
    const camera = new FrameDecoder({ name: 'camera /c', timeoutMs: 2000, pool });
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    await camera.decode(jpeg, target);
    const pid = camera.pid!;
    expect(niceOf(pid)).toBe(niceOf(process.pid));
    // Not costly: its next frame is decoded where the first was, not in the nice-19 process.
    await camera.decode(jpeg, target);
    expect(camera.pid).toBe(pid);
    expect(camera.stats.decoded).toBe(2);
  });

  it('never decode an ordinary frame in the nice-19 process, not even while every other process is held', async () => {
    const pool = poolOf(2);
    const starts: boolean[] = [];
    const spy = onStart((low) => starts.push(low));
    const [a, b, c] = ['/a', '/b', '/c'].map((t) => new FrameDecoder({ name: `camera ${t}`, timeoutMs: 60_000, pool }));
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    const held: number[] = [];
    try {
      // Given at once, the two take the two processes.
      await Promise.all([a!.decode(jpeg, target), b!.decode(jpeg, target)]);
      held.push(a!.pid!, b!.pid!);
      expect(new Set(held).size).toBe(2);
      expect(held.map(niceOf)).toEqual([niceOf(process.pid), niceOf(process.pid)]);
      for (const pid of held) process.kill(pid, 'SIGSTOP');
      const waiting = [a!.decode(jpeg, target), b!.decode(jpeg, target)];
      // Both processes hold a frame they cannot decode; the third waits for one of them rather than the idle low one.
      const third = c!.decode(jpeg, target);
      expect(starts).toEqual([false, false]);
      for (const pid of held) process.kill(pid, 'SIGCONT');
      await Promise.all([...waiting, third]);
      expect(held).toContain(c!.pid);
      expect(starts).toEqual([false, false]);
    } finally {
      for (const pid of held) if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGCONT');
      spy.mockRestore();
    }
  });

  it(
    'give the cameras whose frames cost the low process in turn, whatever the ordinary cameras do meanwhile',
    // Each of their frames restarts the low process (killed past its budget): seconds apiece on a loaded machine.
    { timeout: 240_000 },
    async () => {
      const pool = poolOf(1);
      const png = { format: 'png', data: await costlyPng() };
      const jpeg = { format: 'jpeg', data: await noiseJpeg() };
      const [a, b] = ['/a', '/b'].map((t) => new FrameDecoder({ name: `camera ${t}`, timeoutMs: 1, pool }));
      const ordinary = new FrameDecoder({ name: 'camera /g', timeoutMs: 30_000, pool });
      // Each is abandoned past its 1 ms budget: both cameras' frames cost from now on.
      for (const camera of [a!, b!]) await expect(camera.decode(png, target)).rejects.toThrow('abandoned');
      const settled: string[] = [];
      let feeding = true;
      // The ordinary camera's next frame is given as soon as the last one is answered, as a loop's cameras are.
      const feed = async (): Promise<void> => {
        await ordinary.decode(jpeg, target);
        settled.push('g');
        if (feeding) return feed();
      };
      const ordinaryFed = feed();
      // a's frames all wait at once, so one is always waiting when the low process frees.
      const given = (camera: FrameDecoder, name: string) =>
        camera.decode(png, target).then(
          () => settled.push(name),
          () => settled.push(name),
        );
      await Promise.all([...Array.from({ length: 4 }, () => given(a!, 'a')), given(b!, 'b')]);
      feeding = false;
      await ordinaryFed;
      // b's one frame got the low process within two of a's, though one of a's was always waiting.
      expect(settled.filter((n) => n !== 'g').indexOf('b')).toBeLessThanOrEqual(2);
      expect(b!.stats.abandoned).toBe(2);
    },
  );

  it(
    'charge an abandoned decode its budget, not how long a loaded machine took to end it: its camera keeps its turns',
    { timeout: 240_000 },
    async () => {
      // The clock the pool times decodes by: 5 s between readings while b's first frame is abandoned, as on a machine
      // too loaded to hear the kill at once; still otherwise.
      let slow = false;
      let reading = 0;
      const pool = new DecodePool({ processes: 1, memoryMb: 1024, now: () => (slow ? reading++ * 5000 : 0) });
      pools.push(pool);
      const png = { format: 'png', data: await costlyPng() };
      const [a, b] = ['/a', '/b'].map((t) => new FrameDecoder({ name: `camera ${t}`, timeoutMs: 1, pool }));
      await expect(a!.decode(png, target)).rejects.toThrow('abandoned');
      slow = true;
      await expect(b!.decode(png, target)).rejects.toThrow('abandoned');
      slow = false;
      const settled: string[] = [];
      const given = (camera: FrameDecoder, name: string) =>
        camera.decode(png, target).then(
          () => settled.push(name),
          () => settled.push(name),
        );
      await Promise.all([...Array.from({ length: 4 }, () => given(a!, 'a')), given(b!, 'b')]);
      // Charged the 5 s, b would wait for every one of a's frames.
      expect(settled.indexOf('b')).toBeLessThanOrEqual(1);
    },
  );

  it('restart a process whose decode left it past its share of the memory budget', async () => {
    const pool = poolOf(1, 1); // a share of 1 MB: every process is past it after a decode
    const camera = new FrameDecoder({ name: 'camera /c', timeoutMs: 30_000, pool });
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    await camera.decode(jpeg, target);
    const first = camera.pid;
    await camera.decode(jpeg, target);
    expect(camera.pid).not.toBe(first);
    expect(pool.stats.restarts.memory).toBe(2);
    expect(camera.stats.decoded).toBe(2);
  });

  it('start a restarted process only once the one it replaces has exited: no more run than the pool names', async () => {
    const pool = poolOf(1, 1);
    const camera = new FrameDecoder({ name: 'camera /c', timeoutMs: 30_000, pool });
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    await camera.decode(jpeg, target);
    const first = camera.pid!;
    // Whether the process it replaces is still there (running, or not yet reaped) as each new one starts.
    const before: boolean[] = [];
    const spy = onStart(() => before.push(existsSync(`/proc/${first}`)));
    try {
      await camera.decode(jpeg, target);
    } finally {
      spy.mockRestore();
    }
    expect(before).toEqual([false]);
    expect(camera.pid).not.toBe(first);
  });

  it("serve a light camera's frame before the turns of cameras whose heavy frames (each within budget) keep a process busy", async () => {
    const pool = poolOf(1);
    const png = { format: 'png', data: await costlyPng() };
    // A budget of a minute: their frames are heavy, never costly, and decode in the ordinary process.
    const heavy = ['/h1', '/h2', '/h3'].map((t) => new FrameDecoder({ name: `camera ${t}`, timeoutMs: 60_000, pool }));
    const light = new FrameDecoder({ name: 'camera /light', timeoutMs: 60_000, pool });
    await Promise.all(heavy.flatMap((c) => [c.decode(png, target), c.decode(png, target)]));
    const done: string[] = [];
    const decoding = heavy.map((c, i) => c.decode(png, target).then(() => done.push(`h${i + 1}`)));
    await light.decode({ format: 'jpeg', data: await noiseJpeg() }, target);
    done.push('light');
    await Promise.all(decoding);
    // The first heavy frame had the process already; the light one came next, not after the other two turns.
    expect(done.indexOf('light')).toBeLessThanOrEqual(1);
    expect(new Set(heavy.map((c) => c.pid))).toEqual(new Set([light.pid]));
  });

  it('keep a camera whose frames cost in the low process until a second of cheap frames in a row', async () => {
    const pool = poolOf(2);
    const camera = new FrameDecoder({ name: 'camera /mixed', timeoutMs: 60_000, pool });
    const jpeg = { format: 'jpeg', data: await noiseJpeg() };
    const png = { format: 'png', data: await costlyPng() };
    /** Its decode of `frame` ends in a crash (its process killed): what makes a camera's frames cost. */
    const crash = async (frame: typeof png) => {
      const decoding = camera.decode(frame, target).catch(() => 'crashed');
      const before = camera.pid;
      await waitFor(() => camera.pid !== undefined && camera.pid !== before, 'its decode dispatched');
      process.kill(camera.pid!, 'SIGKILL');
      expect(await decoding).toBe('crashed');
    };
    await crash(png);
    // A cheap frame between costly ones does not bring it back: else each costly one would land in an ordinary process.
    const lows: number[] = [];
    for (let i = 0; i < CHEAP_TO_RETURN; i++) {
      await camera.decode(jpeg, target);
      lows.push(niceOf(camera.pid!));
    }
    expect(new Set(lows)).toEqual(new Set([19]));
    await crash(png);
    for (let i = 0; i < CHEAP_TO_RETURN - 1; i++) await camera.decode(jpeg, target);
    expect(niceOf(camera.pid!)).toBe(19);
    await camera.decode(jpeg, target);
    // The last of a second of cheap ones: its next frame is an ordinary one's again.
    await camera.decode(jpeg, target);
    expect(niceOf(camera.pid!)).toBe(niceOf(process.pid));
  });

  it('send frames that cost to their low-priority process alone: a good frame is decoded while it is held', async () => {
    const pool = poolOf(2);
    const png = { format: 'png', data: await costlyPng() };
    const costly = ['/a', '/b', '/c'].map((t) => new FrameDecoder({ name: `camera ${t}`, timeoutMs: 60_000, pool }));
    // Each one's decode ends in a crash (its process killed): each is a camera whose frames cost.
    for (const camera of costly) {
      const decoding = camera.decode(png, target).catch(() => 'crashed');
      const before = camera.pid;
      await waitFor(() => camera.pid !== undefined && camera.pid !== before, 'its decode dispatched');
      process.kill(camera.pid!, 'SIGKILL');
      expect(await decoding).toBe('crashed');
    }
    expect(costly.map((c) => c.stats.crashed)).toEqual([1, 1, 1]);
    const dead = costly.map((c) => c.pid);
    const decoding = costly.map((c) => c.decode(png, target));
    // The first takes a process; its decode is held there however fast the machine.
    await waitFor(() => costly[0]!.pid !== dead[0], 'the first costly frame dispatched');
    const held = costly[0]!.pid!;
    expect(niceOf(held)).toBe(19);
    process.kill(held, 'SIGSTOP');
    try {
      const good = new FrameDecoder({ name: 'camera /good', timeoutMs: 60_000, pool });
      expect((await good.decode({ format: 'jpeg', data: await noiseJpeg() }, target)).width).toBe(20);
      expect(good.pid).not.toBe(held);
      expect(niceOf(good.pid!)).toBe(niceOf(process.pid));
      // The other costly cameras waited: the process the good frame took was never theirs.
      expect(costly.slice(1).map((c) => c.pid)).toEqual(dead.slice(1));
    } finally {
      process.kill(held, 'SIGCONT');
    }
    await Promise.all(decoding);
  });
});
