import type { EdgeConfig } from '../config/index.ts';
import type { Port, Ports } from '../contract/index.ts';
import type { Component, ComponentSpec, Need } from './component.ts';

/**
 * The components' wiring as their specs declare it (provides, needs, uses), checked once when the supervisor is
 * made: a need must be provided by a component that starts before its consumer, so it can be resolved before the
 * consumer is created. Ports are objects, so a provider is found by the port it declares, never by a name.
 */
export class Wiring {
  readonly #specs: readonly ComponentSpec[];

  constructor(specs: readonly ComponentSpec[]) {
    this.#specs = specs;
    for (const [i, spec] of specs.entries()) {
      for (const need of needsOf(spec)) {
        const providers = this.providers(need.port);
        if (providers.length === 0)
          throw new Error(`the ${spec.name} component needs ${need.port.name}, which no component provides`);
        if (!providers.some((p) => specs.indexOf(p) < i))
          throw new Error(
            `the ${spec.name} component needs ${need.port.name}, which only components that start after it provide (${names(providers)}): a need is resolved before its consumer is created, so list ${spec.name} after them`,
          );
      }
    }
  }

  /** The specs that declare `port` in their provides, in start order. */
  providers(port: Port<unknown>): ComponentSpec[] {
    return this.#specs.filter((s) => s.provides?.includes(port));
  }

  /**
   * Each of `spec`'s needs (by its key), resolved to its running provider, or undefined for a need its `when`
   * leaves out under `config`. Throws, saying what to do, when a need has no provider enabled, or none running
   * (`failure` gives a provider's reason).
   */
  resolve(
    spec: ComponentSpec,
    config: EdgeConfig,
    live: ReadonlyMap<string, Component>,
    failure: (name: string) => string | undefined,
  ): Record<string, unknown> {
    const resolved: Record<string, unknown> = {};
    for (const [key, need] of Object.entries(spec.needs ?? {})) {
      if (need.when && !need.when(config)) {
        resolved[key] = undefined;
        continue;
      }
      const enabled = this.providers(need.port).filter((s) => s.enabled(config));
      const who = `${spec.name}${need.off ? ` (${need.off})` : ''} needs ${need.port.name}, which the ${names(this.providers(need.port))} component provides`;
      if (enabled.length === 0)
        throw new Error(`${who}, and it is not enabled: enable it in the config, or turn ${need.off ?? spec.name} off`);
      const provider = enabled.map((s) => live.get(s.name)).find((c) => need.port.is(c));
      if (provider === undefined) {
        const why = enabled.map((s) => failure(s.name)).find((f) => f !== undefined);
        throw new Error(`${who}, and it is not running${why ? ` (${why})` : ''}: ${spec.name} starts once it runs`);
      }
      resolved[key] = provider;
    }
    return resolved;
  }

  /** Throws when `component` lacks a port its spec says it provides (a programming error, said at its start). */
  checkProvides(spec: ComponentSpec, component: Component): void {
    const missing = (spec.provides ?? []).filter((p) => !p.is(component));
    if (missing.length > 0)
      throw new Error(
        `the ${spec.name} component does not offer ${missing.map((p) => p.name).join(', ')}, which its spec provides`,
      );
  }

  /** Whether `consumer` needs, under `config`, a port that `provider` provides. */
  dependsOn(consumer: ComponentSpec, provider: ComponentSpec, config: EdgeConfig): boolean {
    return needsOf(consumer).some((n) => (!n.when || n.when(config)) && provider.provides?.includes(n.port));
  }

  /**
   * The ports `spec`'s component may ask for: those it uses or needs, resolved over `live` at each call; any
   * other throws, naming the port, so what a component takes from the others is always what its spec says.
   */
  scoped(spec: ComponentSpec, live: ReadonlyMap<string, Component>): Ports {
    const declared = new Set<Port<unknown>>([...(spec.uses ?? []), ...needsOf(spec).map((n) => n.port)]);
    const ports = this.live(live);
    const check = (port: Port<unknown>): void => {
      if (!declared.has(port))
        throw new Error(
          `the ${spec.name} component asked for ${port.name}, which its spec neither needs nor uses: declare it in its spec (uses or needs)`,
        );
    };
    return {
      get: (port) => (check(port), ports.get(port)),
      all: (port) => (check(port), ports.all(port)),
    };
  }

  /**
   * Ports over the live components, for callers outside them (the CLI, tests): a port's declared providers, in
   * start order; a port no spec provides (a caller's own) is looked for in every running component.
   */
  live(live: ReadonlyMap<string, Component>): Ports {
    return livePorts(live, (port) => {
      const providers = this.providers(port);
      return providers.length > 0 ? providers.map((s) => s.name) : undefined;
    });
  }
}

/**
 * Ports over `live`: each call asks the components `providers` names for the port (in that order), or every
 * running component where it names none (a test's harness of doubles), as they are now.
 */
export function livePorts(
  live: ReadonlyMap<string, Component>,
  providers: (port: Port<unknown>) => readonly string[] | undefined = () => undefined,
): Ports {
  const providing = <T>(port: Port<T>): T[] => {
    const named = providers(port);
    const candidates = named ? named.map((name) => live.get(name)) : [...live.values()];
    return candidates.filter((c): c is Component & T => port.is(c));
  };
  return {
    get: (port) => providing(port)[0],
    all: (port) => providing(port),
  };
}

function needsOf(spec: ComponentSpec): Need<unknown>[] {
  return Object.values(spec.needs ?? {});
}

function names(specs: readonly ComponentSpec[]): string {
  return specs.map((s) => s.name).join(' or ');
}
