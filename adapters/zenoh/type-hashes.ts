import { typeDescriptionHash } from '../../daemon/bus/index.ts';
import type { ComponentContext } from '../../daemon/lifecycle/index.ts';

/** The ROS type hashes a Zenoh link declares its endpoints under, each computed once. */
export class TypeHashes {
  readonly #ctx: Pick<ComponentContext, 'config' | 'definitions' | 'graph'>;
  readonly #source: string;
  #hashes = new Map<string, string | undefined>();

  /** `source`: the graph source of this link, whose subscribers forPublish asks. */
  constructor(options: { ctx: Pick<ComponentContext, 'config' | 'definitions' | 'graph'>; source: string }) {
    const { ctx, source } = options;
    this.#ctx = ctx;
    this.#source = source;
  }

  /** None under Humble: its rmw_zenoh has no type hashes, and its keys and tokens say TypeHashNotSupported. */
  of(rosType: string): string | undefined {
    if (this.#ctx.config.bus.definitions.distro === 'humble') return undefined;
    if (!this.#hashes.has(rosType)) this.#hashes.set(rosType, typeDescriptionHash(this.#ctx.definitions, rosType));
    return this.#hashes.get(rosType);
  }

  /**
   * The hash a topic is published under: the graph's subscribers' own when they all announce one (a Humble
   * node on a Jazzy robot subscribes to the TypeHashNotSupported key alone), else the daemon's distro's.
   */
  forPublish(topic: string, rosType: string): string | undefined {
    const subscribers = this.#ctx.graph
      .endpoints({ name: topic, kind: 'subscriber', source: this.#source })
      .filter((e) => !e.local && e.type === rosType);
    const theirs = new Set(subscribers.map((e) => e.typeHash));
    return theirs.size === 1 ? [...theirs][0] : this.of(rosType);
  }
}
