import { errorText, workerEntry } from '../../util/index.ts';
import { DecodeProcess, DecodeProcessEnded, type DecodeReply } from './decode-process.ts';
import type { Frame } from './frame.ts';
import type { FrameHeader } from './frame-judge.ts';
import { ImageError } from './image-error.ts';
import type { FrameTarget } from './raw-pixels.ts';

export interface DecodePoolOptions {
  /** How many decode processes decode ordinary frames at once; one more, at nice 19, decodes costly ones. */
  processes: number;
  /**
   * All of them together: each is restarted after a decode that leaves it past its share (this / (processes + 1)).
   */
  memoryMb: number;
  /** Tests only: the processes' entry (default frame-decoder-child.ts). */
  entry?: URL;
  /** Tests only: the wall clock a decode is timed by, ms (default performance.now). */
  now?: () => number;
}

export interface DecodeSourceStats {
  decoded: number;
  /** Decodes past their budget: their process was killed, and the next frame gets a new one. */
  abandoned: number;
  /** Decode processes that ended on their own in a decode (a crash in a loader). */
  crashed: number;
}

export interface DecodePoolStats {
  /** Decode processes running now. */
  processes: number;
  /** Their RSS after each one's last decode, bytes, summed. */
  rssBytes: number;
  /** Processes ended for a decode past its budget, a crash, or memory past their share. */
  restarts: { budget: number; crash: number; memory: number };
}

interface Job {
  header: FrameHeader;
  data: Uint8Array;
  target: FrameTarget;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/** One caller's frames in the pool (a camera, or a served policy's image input): decoded in order, one at a time. */
export interface DecodeSource {
  readonly name: string;
  readonly timeoutMs: number;
  readonly stats: DecodeSourceStats;
  readonly queue: Job[];
  running: Job | undefined;
  /**
   * A decode of its was abandoned, crashed, or cost half its budget in CPU time or more, and fewer than CHEAP_TO_RETURN
   * cheap ones have followed: it decodes in the low process alone.
   */
  costly: boolean;
  /** Cheap decodes in a row since it was last found costly. */
  cheap: number;
  /**
   * The CPU time its decodes have cost (ms), from where it last came back from idle: the free processes take the
   * waiting source that has had least, so a camera of heavy frames (each within its budget) gets its share of the
   * processes and no more, and a light camera's frame does not wait behind its turns.
   */
  spentMs: number;
  /** The pid of the process that decodes (or last decoded) its frame. */
  pid: number | undefined;
}

interface Slot {
  /** The process for costly frames (the last): at nice 19. */
  low: boolean;
  process: Promise<DecodeProcess> | undefined;
  /** The process once started, for its figures. */
  child: DecodeProcess | undefined;
  /** The exit of the process ended last here: the next one starts after it, so no more run than there are slots. */
  ending: Promise<void> | undefined;
  job: { source: DecodeSource } | undefined;
}

/**
 * Cheap decodes in a row that bring a costly source back to the ordinary processes: a second of frames at 30 Hz. One
 * would let a camera that sends a cheap frame between its costly ones put every costly one in an ordinary process.
 */
export const CHEAP_TO_RETURN = 30;

/**
 * The daemon's frame decoding: a few decode processes (DecodeProcess) shared by every camera and every served
 * policy's image input, under one memory budget. Each source decodes one frame at a time, in order, and the sources
 * take the free processes in turn. A source whose frames cost (one abandoned past its budget, a crash, a decode of
 * half its budget or more in CPU time) decodes only in one more process, which runs at nice 19 and decodes nothing
 * else, until CHEAP_TO_RETURN cheap ones in a row: a flood of costly frames on any number of cameras leaves the other
 * processes, and the CPU, to the rest, and a costly camera still gets its turn; an ordinary frame never waits on a
 * process that other work on the machine starves. A process is started when a frame needs it, killed for a decode past
 * its budget (the next frame there gets a new one), and restarted after a decode that left it past its share of the
 * budget; a new one starts once the one it replaces has exited. Callers must `close()` it.
 */
export class DecodePool {
  readonly #slots: Slot[];
  readonly #shareBytes: number;
  readonly #entry: URL;
  readonly #now: () => number;
  readonly #sources = new Set<DecodeSource>();
  readonly #restarts = { budget: 0, crash: 0, memory: 0 };
  /** Where the next look for a source starts, for the ordinary processes and for the low one apart. */
  readonly #turn = { ordinary: 0, low: 0 };
  #nextId = 1;
  #closed = false;

  constructor(options: DecodePoolOptions) {
    const {
      processes,
      memoryMb,
      entry = workerEntry('daemon/system1/vision/frame-decoder-child'),
      now = () => performance.now(),
    } = options;
    const count = Math.max(1, processes) + 1;
    this.#slots = Array.from({ length: count }, (_, i) => ({
      low: i === count - 1,
      process: undefined,
      child: undefined,
      ending: undefined,
      job: undefined,
    }));
    this.#shareBytes = (memoryMb * 1024 * 1024) / this.#slots.length;
    this.#entry = entry;
    this.#now = now;
  }

  get stats(): DecodePoolStats {
    return { ...this.#running(), restarts: { ...this.#restarts } };
  }

  /** A new source of frames; `timeoutMs` is each decode's budget. */
  source(name: string, timeoutMs: number): DecodeSource {
    const source: DecodeSource = {
      name,
      timeoutMs,
      stats: { decoded: 0, abandoned: 0, crashed: 0 },
      queue: [],
      running: undefined,
      costly: false,
      cheap: 0,
      spentMs: 0,
      pid: undefined,
    };
    this.#sources.add(source);
    return source;
  }

  /** Decodes `data` (judged already: judgeFrame) for `source`, after the frames it gave before. */
  decode(source: DecodeSource, header: FrameHeader, data: Uint8Array, target: FrameTarget): Promise<Frame> {
    if (this.#closed || !this.#sources.has(source))
      return Promise.reject(new Error(`${source.name}: the frame decoder is closed`));
    return new Promise<Frame>((resolve, reject) => {
      // Back from idle: at most one frame's budget ahead of the least served of the busy sources (a light camera, idle
      // between its frames, is served first), and no more credit than that saved while idle.
      if (!source.running && source.queue.length === 0)
        source.spentMs = Math.max(source.spentMs, this.#leastSpent() - source.timeoutMs);
      source.queue.push({ header, data, target, resolve, reject });
      this.#dispatch();
    });
  }

  /** Refuses the frames `source` has waiting or decoding; its decode in a process runs out, unheard. */
  remove(source: DecodeSource): void {
    this.#sources.delete(source);
    const closed = new Error(`${source.name}: the frame decoder closed before this frame was decoded`);
    for (const job of source.queue.splice(0)) job.reject(closed);
    source.running?.reject(closed);
    source.running = undefined;
  }

  /** Ends every process; frames still waiting are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const source of [...this.#sources]) this.remove(source);
    await Promise.all(
      this.#slots.map(async (slot) => {
        const started = slot.process;
        slot.process = undefined;
        slot.child = undefined;
        // Nothing in them is worth waiting for: a decode's frame has no one to go to now.
        await started?.then(
          (p) => p.close(),
          () => {}, // it never started: nothing to end
        );
        await slot.ending;
      }),
    );
  }

  /** Gives each free process the next source's frame it may take, the sources in turn, the low process last. */
  #dispatch(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (slot.job) continue;
      const source = this.#nextSource(slot);
      if (source) void this.#run(slot, source);
    }
  }

  /**
   * The waiting source of the slot's kind that has had least CPU time; among equals, the next in turn. Each kind keeps
   * its own turn: the ordinary processes' picks, far more often, would otherwise set where the low one looks.
   */
  #nextSource(slot: Slot): DecodeSource | undefined {
    const sources = [...this.#sources];
    const kind = slot.low ? 'low' : 'ordinary';
    let best: { source: DecodeSource; at: number } | undefined;
    for (let i = 0; i < sources.length; i++) {
      const at = (this.#turn[kind] + i) % sources.length;
      const source = sources[at]!;
      // Costly frames go to the low process, and nothing else does.
      if (source.running || source.queue.length === 0 || source.costly !== slot.low) continue;
      if (!best || source.spentMs < best.source.spentMs) best = { source, at };
    }
    if (best) this.#turn[kind] = (best.at + 1) % sources.length;
    return best?.source;
  }

  /** The least CPU time any source with a frame waiting or decoding has had (-Infinity when none has one). */
  #leastSpent(): number {
    let least = Infinity;
    for (const s of this.#sources) if (s.running || s.queue.length > 0) least = Math.min(least, s.spentMs);
    return Number.isFinite(least) ? least : -Infinity;
  }

  async #run(slot: Slot, source: DecodeSource): Promise<void> {
    const job = source.queue.shift()!;
    source.running = job;
    slot.job = { source };
    try {
      await this.#decodeIn(slot, source, job);
    } finally {
      slot.job = undefined;
      if (source.running === job) source.running = undefined;
      this.#dispatch();
    }
  }

  async #decodeIn(slot: Slot, source: DecodeSource, job: Job): Promise<void> {
    let child: DecodeProcess | undefined;
    try {
      child = await this.#started(slot);
      await child.ready();
    } catch (error) {
      // One that never became ready would do the same again: this frame fails, and the next tries a new one, once
      // this one (killed past its start's wait, or crashed) has exited.
      slot.ending = child?.close();
      slot.process = undefined;
      slot.child = undefined;
      return job.reject(new Error(`${source.name}: ${errorText(error)} as it started`));
    }
    source.pid = child.pid;
    let abandoned = false;
    // The budget counts from a ready process: a start is not the frame's cost.
    const started = this.#now();
    const timer = setTimeout(() => {
      abandoned = true;
      child.kill();
    }, source.timeoutMs);
    let reply: DecodeReply | Error;
    try {
      reply = await child.decode(this.#nextId++, job.header, job.data, job.target);
    } catch (error) {
      reply = error as Error;
    } finally {
      clearTimeout(timer);
    }
    // What the frame cost its process in CPU time, not how long a loaded machine took to give it that: on cores
    // other work holds, every camera's decodes take longer, and moving them all to the nice-19 process starves them.
    // An abandoned decode costs its budget: the kill came then, and how late a loaded machine heard the process end
    // is not the camera's doing (charged, it would cost that camera its next turns).
    const cost = abandoned ? source.timeoutMs : reply instanceof Error ? this.#now() - started : reply.cpuMs;
    source.spentMs += cost;
    if (abandoned || reply instanceof DecodeProcessEnded || cost >= source.timeoutMs / 2) {
      source.costly = true;
      source.cheap = 0;
    } else if (source.costly && ++source.cheap >= CHEAP_TO_RETURN) source.costly = false;
    if (child.ended || child.rss > this.#shareBytes) {
      this.#restarts[abandoned ? 'budget' : child.ended ? 'crash' : 'memory']++;
      slot.ending = child.close();
      slot.process = undefined;
      slot.child = undefined;
    }
    if (source.running !== job) return; // its source closed meanwhile
    this.#settle(source, job, reply, abandoned);
  }

  #settle(source: DecodeSource, job: Job, reply: DecodeReply | Error, abandoned: boolean): void {
    if (abandoned) {
      source.stats.abandoned++;
      const what = 'format' in job.header ? `a ${job.data.byteLength}-byte compressed frame` : 'a raw frame';
      return job.reject(
        new ImageError(
          'over_budget',
          `${source.name}: ${what} took longer than decode_timeout_ms (${source.timeoutMs} ms) to decode; abandoned`,
        ),
      );
    }
    if (reply instanceof DecodeProcessEnded) {
      source.stats.crashed++;
      return job.reject(new ImageError('decode_failed', `${source.name}: ${reply.message} while decoding this frame`));
    }
    if (reply instanceof Error) return job.reject(reply);
    if (reply.op === 'error')
      return job.reject(reply.code ? new ImageError(reply.code, reply.message) : new Error(reply.message));
    source.stats.decoded++;
    job.resolve(reply.frame);
  }

  #started(slot: Slot): Promise<DecodeProcess> {
    if (!slot.process) {
      const ending = slot.ending;
      slot.ending = undefined;
      const started = ending
        ? ending.then(() => DecodeProcess.start(this.#entry, slot.low))
        : DecodeProcess.start(this.#entry, slot.low);
      slot.process = started;
      void started.then(
        (p) => slot.process === started && (slot.child = p),
        () => {}, // heard by the decode that waits for it
      );
    }
    return slot.process;
  }

  #running(): { processes: number; rssBytes: number } {
    let processes = 0;
    let rssBytes = 0;
    for (const slot of this.#slots) {
      const p = slot.child;
      if (!p || p.ended) continue;
      processes++;
      rssBytes += p.rss;
    }
    return { processes, rssBytes };
  }
}
