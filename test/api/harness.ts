import { busStatus } from '../../daemon/bus-status.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import type { ApiSettings, FoxgloveSettings } from '../../daemon/config/sections/api.ts';
import type { MotionSettings } from '../../daemon/config/sections/motion.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import type { RobotHaltAuthority, RobotHaltService } from '../../daemon/contract/halt.ts';
import type { DaemonStatus } from '../../daemon/lifecycle/daemon-status.ts';
import type { Component, ComponentContext } from '../../daemon/lifecycle/component.ts';
import { silentLogger } from '../../daemon/log.ts';
import { ApiComponent } from '../../daemon/api/api-component.ts';
import { tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

export interface HarnessOptions {
  journal?: Journal;
  /** Components other than the API (fakes of the agent, the lakehouse, ...). */
  components?: Component[];
  api?: DeepPartial<ApiSettings>;
  motion?: DeepPartial<MotionSettings>;
  foxglove?: DeepPartial<FoxgloveSettings>;
  /** Start the API component (default true). */
  startApi?: boolean;
  /** Config YAML the rest is parsed from (default: empty, all defaults). */
  configText?: string;
}

export interface Harness {
  ctx: ComponentContext;
  bus: Bus;
  definitions: DefinitionsRegistry;
  journal: Journal;
  components: Map<string, Component>;
  config: EdgeConfig;
  dataDir: string;
  api: ApiComponent | undefined;
  /** The API's base URL (when started). */
  url: string;
  close(): Promise<void>;
}

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object'
        ? merge(b, v as DeepPartial<typeof b>)
        : v;
  }
  return out as T;
}

/**
 * The daemon's surroundings for API tests, built from the real parts (bus, definitions registry, config
 * defaults, the API component) around fakes of the services other parts provide (agent, lakehouse).
 * The API listens on a free loopback port and writes <data_dir>/run/api.json as in the daemon.
 */
/** A test's own stop (an agent double, or the stop component) put in the harness's components. */
const isStopDouble = (c: Component): c is Component & RobotHaltService =>
  typeof (c as Partial<RobotHaltService>).halt === 'function';

/**
 * The API's stop in a harness: an agent (or a stop double) a test puts in `components` answers it, as the
 * agent's own HaltAuthority would in a daemon; with none, the context's real HaltAuthority.
 */
function stopOfDoubles(real: RobotHaltAuthority, components: ReadonlyMap<string, Component>): RobotHaltAuthority {
  const double = (): RobotHaltService | undefined => [...components.values()].find(isStopDouble);
  return {
    latch: real.latch,
    get counters() {
      return real.counters;
    },
    halt: (by, reason) => double()?.halt(by, reason) ?? real.halt(by, reason),
    haltNow: (by, reason) => real.haltNow(by, reason),
    release: (by, since) => double()?.releaseHalt(by, since) ?? real.release(by, since),
    onHalt: (name, hook) => real.onHalt(name, hook),
    load: () => real.load(),
    haltLine: real.haltLine,
    setOffLoopZero: (name, zero) => real.setOffLoopZero(name, zero),
    offLoopZeros: (listener) => real.offLoopZeros(listener),
    offLoopTaker: (listener) => real.offLoopTaker(listener),
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { journal = new MemoryJournal(), components: extra = [], startApi = true } = options;
  const dir = tempDir('auraison-api-test-');
  const base = parseConfigText(options.configText ?? '', 'test.yaml');
  const config: EdgeConfig = {
    ...base,
    data_dir: dir.path,
    // The stop listener's thread only where a test asks for it: a thread per API test would be started for nothing.
    // A query's time limit far past what a loaded machine takes to start the query process and answer; a test of the
    // limit sets its own.
    api: merge(merge(base.api, { port: 0, query: { timeout_ms: 120_000 } }), options.api),
    motion: merge(merge(base.motion, { stop: { listener: false } }), options.motion),
    foxglove: merge(base.foxglove, { port: 0, ...options.foxglove }),
  };
  const bus = new Bus();
  const definitions = new DefinitionsRegistry({ distro: 'jazzy' });
  const components = new Map<string, Component>();
  for (const c of extra) components.set(c.name, c);
  const startedAt = Date.now();
  const daemonStatus = (): DaemonStatus => ({
    robot: { id: config.robot.id, fleet: config.robot.fleet },
    pid: process.pid,
    started_at: String(BigInt(startedAt) * 1_000_000n),
    uptime_s: (Date.now() - startedAt) / 1000,
    config_file: null,
    data_dir: dir.path,
    components: Object.fromEntries([...components].map(([name, c]) => [name, c.health()])),
    // The daemon's own: what its /status shows of the bus and the graph.
    ...busStatus(bus, parts.graph),
    last_reload: null,
  });
  const parts = componentContext(
    {},
    { bus, definitions, log: silentLogger(), dataDir: dir.path, journal, daemonStatus, components },
  );
  const ctx: ComponentContext = { ...parts, config, haltAuthority: stopOfDoubles(parts.haltAuthority, components) };
  let api: ApiComponent | undefined;
  if (startApi) {
    api = new ApiComponent(ctx);
    await api.start();
    components.set('api', api);
  }
  return {
    ctx,
    bus,
    definitions,
    journal,
    components,
    config,
    dataDir: dir.path,
    api,
    url: api?.url ?? '',
    close: async () => {
      await api?.close();
      for (const c of extra) await c.close();
      bus.close();
      dir.cleanup();
    },
  };
}
