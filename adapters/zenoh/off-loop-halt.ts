import { compileTopicGlob, type DefinitionsRegistry } from '../../daemon/bus/index.ts';
import type { RobotHaltAuthority } from '../../daemon/contract/index.ts';
import { HALT_QUERY } from '../../daemon/halt/index.ts';
import { workerEntry } from '../../daemon/util/index.ts';
import type { Mapping } from './mapping.ts';
import type { HaltDoorsOptions, HaltServiceDoor } from './halt-doors.ts';
import type { HaltZeroOptions, HaltZeroTarget } from './halt-zero.ts';

export interface OffLoopHaltOptions {
  /** The component's name (zenoh, zenoh_second): each link's graph gets its own session on the listener's thread. */
  name: string;
  haltAuthority: RobotHaltAuthority;
  /** The session's settings that can cross to the stop listener's thread (no logger). */
  linkSettings: HaltZeroOptions['link'];
  /** rmw_zenoh's attachment on each zero sample. */
  attachments: boolean;
  /** Where this link serves agent/stop (none: it does not). */
  doors: HaltDoorsOptions | undefined;
  /** Serves agent/stop on the main loop (`true`), or leaves it to the listener's thread (`false`). */
  serveHere: (here: boolean) => void;
}

/**
 * This Zenoh link's part of the stop listener's thread (docs/api.md): a session of that thread's own, which puts the
 * zero command on each velocity topic the bridge publishes (`setTargets`), and serves agent/stop where this link
 * serves it (halt-doors.ts), so neither waits for the main loop. agent/stop is served there while a listener runs
 * (RobotHaltAuthority.offLoopTaker), and on the main loop while none does (motion.stop.listener off, the API not
 * running, its thread down until it starts again): never on both, which would answer a request twice. Handed to the
 * thread, it is served by neither for as long as the thread takes to declare it.
 */
export class OffLoopHalt {
  readonly #name: string;
  readonly #haltAuthority: RobotHaltAuthority;
  readonly #linkSettings: HaltZeroOptions['link'];
  readonly #attachments: boolean;
  readonly #doors: HaltDoorsOptions | undefined;
  readonly #serveHere: (here: boolean) => void;
  #targets: HaltZeroTarget[] = [];
  #offLoop = false;
  #unlisten: (() => void) | undefined;

  constructor(options: OffLoopHaltOptions) {
    const { name, haltAuthority, linkSettings, attachments, doors, serveHere } = options;
    this.#name = name;
    this.#haltAuthority = haltAuthority;
    this.#linkSettings = linkSettings;
    this.#attachments = attachments;
    this.#doors = doors;
    this.#serveHere = serveHere;
  }

  /** Where this link serves agent/stop, on whichever thread. */
  get doors(): HaltDoorsOptions | undefined {
    return this.#doors;
  }

  /** Whether agent/stop is left to the listener's thread now. */
  get offLoop(): boolean {
    return this.#offLoop;
  }

  start(): void {
    const { present, unlisten } = this.#haltAuthority.offLoopTaker((taker) => this.#hand(taker));
    this.#unlisten = unlisten;
    this.#hand(present);
  }

  /** The velocity topics' zero commands, each on the key the bridge publishes the topic to. */
  setTargets(targets: HaltZeroTarget[]): void {
    this.#targets = targets;
    this.#register();
  }

  /** The listener's thread has nothing of this link's from here (the link is closing). */
  close(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#targets = [];
    this.#offLoop = false;
    this.#haltAuthority.setOffLoopZero(this.#name, undefined);
  }

  /** agent/stop to the listener's thread (`taker`: one runs) or back here; here first undeclared, then declared. */
  #hand(taker: boolean): void {
    if (this.#doors === undefined) return;
    this.#offLoop = taker;
    if (taker) this.#serveHere(false);
    this.#register();
    if (!taker) this.#serveHere(true);
  }

  #register(): void {
    const doors = this.#offLoop ? this.#doors : undefined;
    if (this.#targets.length === 0 && doors === undefined) {
      this.#haltAuthority.setOffLoopZero(this.#name, undefined);
      return;
    }
    const options: HaltZeroOptions = {
      link: this.#linkSettings,
      targets: this.#targets,
      attachments: this.#attachments,
      ...(doors ? { doors } : {}),
    };
    this.#haltAuthority.setOffLoopZero(this.#name, { module: workerEntry('adapters/zenoh/halt-zero').href, options });
  }
}

/**
 * Where a link serves agent/stop: as a queryable where zenoh.queries names or covers it, as each service served for
 * it, with its Request and Response resolved here (the thread loads no definitions); undefined where it does not.
 * A service whose type does not resolve stays on the main loop, which answers each request with why.
 */
export function haltDoorsOf(options: {
  queries: readonly string[];
  services: readonly { query: string; service: string; type: string }[];
  mapping: Mapping;
  definitions: DefinitionsRegistry;
}): HaltDoorsOptions | undefined {
  const { queries, services, mapping, definitions } = options;
  const query = queries.some((key) => compileTopicGlob(key)(HALT_QUERY));
  const doors: HaltServiceDoor[] = [];
  for (const entry of services) {
    if (entry.query !== HALT_QUERY) continue;
    const names = [`${entry.type}_Request`, `${entry.type}_Response`];
    try {
      const types = Object.fromEntries(names.map((name) => [name, definitions.resolve(name)]));
      doors.push({
        service: entry.service,
        key: mapping.subscribeKey(entry.service, entry.type),
        rosType: entry.type,
        types,
      });
    } catch {
      // Not a door: served on the main loop, whose answer names the missing definition.
    }
  }
  return query || doors.length > 0 ? { query, services: doors } : undefined;
}
