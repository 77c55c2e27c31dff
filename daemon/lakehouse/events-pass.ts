import type { Journal } from '../contract/index.ts';
import type { JobQueue } from '../util/index.ts';
import { indexEvents } from './events-indexer.ts';

/** The kind of its jobs in the lakehouse's queue. */
export const EVENTS_JOB = 'events';

export interface EventsPassOptions {
  journal: Journal;
  dataDir: string;
  robot: string;
  catalogWaitMs: number | undefined;
  queue: JobQueue;
  /** Events were indexed: their files get their sync rows. */
  indexed: () => void;
}

/**
 * The lakehouse's copies of agent events from the journal into the events table (events-indexer.ts), queued as
 * jobs; it tells journal retention what it has not copied yet (JournalHolder).
 */
export class EventsPass {
  readonly #journal: Journal;
  readonly #dataDir: string;
  readonly #robot: string;
  readonly #catalogWaitMs: number | undefined;
  readonly #queue: JobQueue;
  readonly #indexed: () => void;
  #events = 0;
  /** The last journal seq indexed into the events table; 0 until the first pass has run. */
  #indexedThrough = 0;

  constructor({ journal, dataDir, robot, catalogWaitMs, queue, indexed }: EventsPassOptions) {
    this.#journal = journal;
    this.#dataDir = dataDir;
    this.#robot = robot;
    this.#catalogWaitMs = catalogWaitMs;
    this.#queue = queue;
    this.#indexed = indexed;
  }

  /** Events indexed since the start. */
  get events(): number {
    return this.#events;
  }

  /** Journal retention keeps what the events table has not indexed yet (everything, until the first pass). */
  journalHold(): number {
    return this.#indexedThrough + 1;
  }

  /** Queues a pass (none while one waits to start). */
  enqueue(): void {
    this.#queue.add(EVENTS_JOB, () => this.#run());
  }

  async #run(): Promise<void> {
    const { rows, lastSeq } = await indexEvents({
      journal: this.#journal,
      dataDir: this.#dataDir,
      robot: this.#robot,
      catalogWaitMs: this.#catalogWaitMs,
    });
    this.#events += rows;
    this.#indexedThrough = lastSeq;
    if (rows > 0) this.#indexed();
  }
}
