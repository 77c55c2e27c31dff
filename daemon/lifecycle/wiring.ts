import type { EdgeConfig } from '../config/index.ts';
import type { Port, Ports, Provide } from '../contract/index.ts';
import type { ComponentSpec, Need } from './component.ts';

/** What one component registered in its create, by port (ComponentContext.provide). */
export type Provisions = ReadonlyMap<Port<unknown>, unknown>;

/** What a running component registered, by its name; undefined while it does not run. */
export type Running = (name: string) => Provisions | undefined;

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
    running: Running,
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
      const provider = enabled.map((s) => running(s.name)).find((p) => p?.has(need.port));
      if (provider === undefined) {
        const why = enabled.map((s) => failure(s.name)).find((f) => f !== undefined);
        throw new Error(`${who}, and it is not running${why ? ` (${why})` : ''}: ${spec.name} starts once it runs`);
      }
      resolved[key] = provider.get(need.port);
    }
    return resolved;
  }

  /** Throws when `spec`'s create left out a port its spec provides (a programming error, said at its start). */
  checkProvides(spec: ComponentSpec, provided: Provisions): void {
    const missing = (spec.provides ?? []).filter((p) => !provided.has(p));
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
  scoped(spec: ComponentSpec, running: Running): Ports {
    const declared = new Set<Port<unknown>>([...(spec.uses ?? []), ...needsOf(spec).map((n) => n.port)]);
    const ports = this.live(running);
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

  /** Ports over the running components, for callers outside them (the CLI, tests): in the providers' start order. */
  live(running: Running): Ports {
    const providing = <T>(port: Port<T>): T[] =>
      this.providers(port).flatMap((s) => {
        const provided = running(s.name);
        // The type its provider registered it with: ComponentContext.provide takes only a Port<T>'s T.
        return provided?.has(port) ? [provided.get(port) as T] : [];
      });
    return {
      get: (port) => providing(port)[0],
      all: (port) => providing(port),
    };
  }
}

/**
 * Ports whose services are registered directly, for a component test's doubles: each port's services in the order
 * they were provided.
 */
export class ProvidedPorts implements Ports {
  readonly #services = new Map<Port<unknown>, unknown[]>();

  /** Registers `service` under `port` (ComponentContext.provide, for a test's context). */
  readonly provide: Provide = (port, service) => {
    this.#services.set(port, [...(this.#services.get(port) ?? []), service]);
  };

  get<T>(port: Port<T>): T | undefined {
    return this.all(port)[0];
  }

  all<T>(port: Port<T>): T[] {
    return [...((this.#services.get(port) ?? []) as T[])];
  }
}

function needsOf(spec: ComponentSpec): Need<unknown>[] {
  return Object.values(spec.needs ?? {});
}

function names(specs: readonly ComponentSpec[]): string {
  return specs.map((s) => s.name).join(' or ');
}
