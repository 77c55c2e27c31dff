import type { Logger } from 'pino';
import type { ActionGoals } from '../actions/index.ts';
import type { Bus } from '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import type { RobotGraph } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { RobotInputs } from '../motion/index.ts';
import type { Journal, Port, Ports, Provide, RobotHaltAuthority, StatusFigures } from '../contract/index.ts';
import type { OverlayRequest, OverlayStaged } from './config-overlay.ts';
import type { DaemonStatus } from './daemon-status.ts';

export type ComponentState = 'stopped' | 'starting' | 'running' | 'degraded' | 'stopping' | 'failed';

export interface ComponentHealth {
  state: ComponentState;
  /** Why the component is degraded or failed, in words an operator can act on. */
  reason?: string;
  /**
   * For components doing real-time work (control loops): false once that work has stalled. The systemd
   * watchdog is pinged only while no component says false, so systemd restarts a daemon whose loops hang.
   */
  alive?: boolean;
  /** Component-specific figures for /status and /metrics. */
  details?: StatusFigures;
}

/**
 * A part of the daemon with a lifecycle. The supervisor starts components in order and closes them in
 * reverse; `close` must flush whatever must not be lost and return within the close budget.
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /**
   * `reason` says why when it is not the daemon closing (a config reload restarts it), for whatever the
   * component ends on the way (the agent's runs).
   */
  close(reason?: string): Promise<void>;
  health(): ComponentHealth;
  /** Takes a change of its spec's `liveSettings` slice without a restart (see ComponentSpec). */
  applySettings?(config: EdgeConfig): void;
}

/** What every component gets at construction. There are no globals: this is the whole environment. */
export interface ComponentContext {
  readonly config: EdgeConfig;
  readonly bus: Bus;
  readonly definitions: DefinitionsRegistry;
  /** The robot's graph: the bridges write what they discover, the API and CLI read it. */
  readonly graph: RobotGraph;
  readonly log: Logger;
  /** Absolute path of the data dir. */
  readonly dataDir: string;
  /** The durable journal of runs and agent events (`<data_dir>/log/`). */
  readonly journal: Journal;
  /**
   * The operator's stop: one latch, one zero command per governed topic, and the hooks of whatever drives the
   * robot (onHalt). Whoever stops the robot calls it; whoever moves it obeys its latch.
   */
  readonly haltAuthority: RobotHaltAuthority;
  /**
   * The robot's own inputs: its measured joints and its joint limits, taken from the robot alone (never from a client
   * door). Whatever holds or limits the arm reads them here.
   */
  readonly robot: RobotInputs;
  /** The action goals the daemon has in flight, from any of its clients: what the operator's stop cancels. */
  readonly actionGoals: ActionGoals;
  /** The daemon's status snapshot: components' health, topic stats, subscribers, queryables. */
  readonly daemonStatus: () => DaemonStatus;
  /**
   * The services other components offer, typed (PORTS in daemon/contract/ports.ts), that its spec `uses` or `needs`:
   * asked at call time, so a provider that restarts or is disabled is seen as it is now. Asking for a port the spec
   * does not declare throws. Never look a component up by name.
   */
  readonly ports: Ports;
  /**
   * Registers what the component offers under a port its spec `provides`, typed: called in `create`, once for each
   * of those ports (the supervisor fails the start of a component that leaves one out, or names one its spec does
   * not provide). Consumers get that object through their ports while the component runs.
   */
  readonly provide: Provide;
  /** Every running component, for what goes over all of them alike (metrics, journal holders). */
  readonly components: ReadonlyMap<string, Component>;
  /**
   * Takes a config from central: validated over the local file, kept durably, then applied as a reload
   * (Daemon.stageConfigOverlay). Absent where no daemon runs the components (unit tests).
   */
  readonly stageConfigOverlay?: (request: OverlayRequest) => Promise<OverlayStaged>;
}

/**
 * A port a component cannot work without (see ComponentSpec.needs): resolved before the component is created and
 * handed to it.
 */
export interface Need<T> {
  readonly port: Port<T>;
  /** Needed only under this config (bulk sync on): otherwise not asked for, and handed over as undefined. */
  readonly when?: (config: EdgeConfig) => boolean;
  /** The setting `when` reads, which the refusal offers to turn off instead of enabling the provider. */
  readonly off?: string;
}

export type Needs = Readonly<Record<string, Need<unknown>>>;

/** What a spec's `needs` hands its create: each need's provider, typed; undefined only for a need with `when`. */
export type Resolved<N extends Needs> = {
  readonly [K in keyof N]: N[K] extends Need<infer T> ? (N[K] extends { when: unknown } ? T | undefined : T) : never;
};

/**
 * How the daemon builds one component from config. `enabled` decides whether it runs at all; `settings`
 * picks the slice of config it depends on, so a SIGHUP restarts it only when that slice changed.
 * `critical` components take the daemon down if they fail to start; all others degrade alone.
 *
 * Its wiring to the others is declared here, as typed ports: what it `provides`, what it `needs` (handed to
 * `create`, so it never finds one missing at call time) and what it `uses` when there (asked through
 * ComponentContext.ports at call time, absent while no provider runs).
 */
export interface ComponentSpec<N extends Needs = Needs> {
  readonly name: string;
  readonly critical?: boolean;
  enabled(config: EdgeConfig): boolean;
  settings(config: EdgeConfig): unknown;
  /**
   * The slice of config a running component takes without a restart, through `applySettings` (the agent's
   * policy limits: tightening one must not stop a robot mid-task). A change restarts a component that has
   * no `applySettings`.
   */
  liveSettings?(config: EdgeConfig): unknown;
  /** The ports it offers the others; its create registers what serves each (ComponentContext.provide). */
  readonly provides?: readonly Port<unknown>[];
  /**
   * The ports it cannot work without, each provided by a component that starts before it. It is not created, and
   * says which component to enable (or which setting to turn off), while a need has no running provider; a
   * provider restarted by a reload restarts it too.
   */
  readonly needs?: N;
  /** The ports it takes when their provider runs and does without otherwise (ComponentContext.ports). */
  readonly uses?: readonly Port<unknown>[];
  create(ctx: ComponentContext, needs: Resolved<N>): Component | Promise<Component>;
  /**
   * How long start() may take, and the config key that sets it, where the supervisor's 10 s is too short
   * (components that load models).
   */
  startTimeout?(config: EdgeConfig): { ms: number; key: string };
}

/** A spec whose `create` gets its `needs` typed as declared. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no needs: create gets {}
export function defineComponent<N extends Needs = {}>(spec: ComponentSpec<N>): ComponentSpec {
  return spec;
}
