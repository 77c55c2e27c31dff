// Over 400 lines because start, stop, reload and central's config share one serialized lifecycle and its state.
import { ActionGoals } from './actions/index.ts';
import type { Logger } from 'pino';
import { errorText, rateLimitedErrors } from './util/index.ts';
import { SyncThread } from './util/index.ts';
import { Bus, MessageCodec } from './bus/index.ts';
import { HaltAuthority } from './halt/index.ts';
import { ArmHold, ArmTopics, configuredArmTopics, RobotInputs } from './motion/index.ts';
import { DefinitionsRegistry } from './bus/index.ts';
import { RobotGraph } from './bus/index.ts';
import { resolveDataDir } from './config/index.ts';
import type { EdgeConfig } from './config/index.ts';
import type { Ports } from './contract/index.ts';
import { nowNs } from './util/index.ts';
import type { DurableJournal } from './journal/index.ts';
import { openDaemonJournal } from './daemon-journal.ts';
import { pruneJournal } from './journal/index.ts';
import { COMPONENTS } from './components/index.ts';
import type { ComponentHealth, ComponentSpec } from './lifecycle/index.ts';
import type { DaemonStatus } from './lifecycle/index.ts';
import { Supervisor } from './lifecycle/index.ts';
import { readConfigForReload, ReloadHistory, type ReloadOutcome } from './lifecycle/index.ts';
import { DataDirLock } from './lifecycle/index.ts';
import { ConfigOverlays } from './lifecycle/index.ts';
import type { OverlayApplied, OverlayRequest, OverlayStaged } from './lifecycle/index.ts';
import { prepareDataDirFormat } from './data-dir-version.ts';
import { busStatus } from './bus-status.ts';
import { planReload } from './reload-plan.ts';
import { ReloadRejections } from './reload-rejections.ts';

export interface DaemonOptions {
  config: EdgeConfig;
  /** The config file, for status and SIGHUP reloads; undefined for the embedded default. */
  configFile?: string;
  log: Logger;
  /** Working directory relative data dirs resolve against. */
  cwd?: string;
  /** The components to run; the daemon's own list by default. */
  specs?: readonly ComponentSpec[];
  /** The clock of the log's throttle windows (repeated reload rejections, failed starts), ms; tests step it. */
  logClock?: () => number;
}

/**
 * One daemon: the bus, the definitions registry and the supervised components. The bus is not a
 * component: it exists for the daemon's whole life, so components can come and go around it.
 */
export class Daemon {
  readonly bus: Bus;
  readonly definitions: DefinitionsRegistry;
  /** The robot's graph as the bridges discover it (nodes, publishers, subscribers, services). */
  readonly graph = new RobotGraph();
  /** Every action goal the daemon's clients have in flight (the agent's, the API's): the stop cancels them. */
  readonly actionGoals = new ActionGoals();
  /** The operator's stop: its one latch, its zero commands, the hooks of whatever drives the robot. */
  readonly haltAuthority: HaltAuthority;
  readonly log: Logger;
  readonly dataDir: string;
  #config: EdgeConfig;
  #configFile: string | undefined;
  #supervisor: Supervisor;
  #startedAt = 0n;
  #journal: DurableJournal | undefined;
  readonly #armHold: ArmHold;
  /** The robot's own inputs (its measured joints, its limits): one for the daemon, handed to every component. */
  readonly robot: RobotInputs;
  /** The journal's fsyncs and the stop's latch file, on a thread of their own (see SyncThread). */
  #syncThread = new SyncThread();
  #lock: DataDirLock | undefined;
  #retentionTimer: NodeJS.Timeout | undefined;
  /** start, reload and stop run one at a time, in call order (a signal may come in the middle of one). */
  #chain: Promise<unknown> = Promise.resolve();
  #closeRequested = false;
  #closed = false;
  /** Health reported by parts that are not components (the systemd notifier), by name. */
  #healthSources = new Map<string, () => ComponentHealth>();
  #reloads = new ReloadHistory();
  /** Rejected reloads' lines, repeats held back. */
  #rejections: ReloadRejections;
  /** Config from central, laid over the local file (see stageConfigOverlay). */
  #overlays: ConfigOverlays;
  /** Configs from central are taken one at a time. */
  #staging: Promise<unknown> = Promise.resolve();

  constructor(options: DaemonOptions) {
    const { config, configFile, log, cwd = process.cwd(), specs = COMPONENTS, logClock } = options;
    this.#rejections = new ReloadRejections({ log, now: logClock });
    this.#config = config;
    this.#configFile = configFile;
    this.log = log;
    this.dataDir = resolveDataDir(config, cwd);
    this.#overlays = new ConfigOverlays({ dataDir: this.dataDir, configFile, given: config, log });
    this.definitions = new DefinitionsRegistry({
      distro: config.bus.definitions.distro,
      dirs: config.bus.definitions.dirs,
    });
    for (const warning of this.definitions.warnings) log.warn({ warning }, 'message definition skipped');
    const handlerError = rateLimitedErrors(log);
    this.bus = new Bus({
      onHandlerError: (subscriber, topic, error) =>
        handlerError(
          `${subscriber} ${topic}`,
          { subscriber, topic, err: errorText(error) },
          'subscriber handler failed; message skipped',
        ),
    });
    this.haltAuthority = new HaltAuthority({
      bus: this.bus,
      codec: new MessageCodec(this.definitions),
      config,
      dataDir: this.dataDir,
      journal: () => this.#journal,
      log,
      writeDurably: this.#syncThread.writeDurably,
    });
    // Every goal in flight ends with the stop, whoever sent it (the agent, the API, a bridge).
    this.haltAuthority.onHalt('action goals', () => this.actionGoals.onOperatorHalt());
    // A joint trajectory sent before the stop would run to its end: each arm it went to is held where it is measured.
    // Before any door opens: the robot's own topics are reserved for the robot from the first publisher on.
    this.robot = new RobotInputs({
      bus: this.bus,
      graph: this.graph,
      codec: new MessageCodec(this.definitions),
      settings: config.motion.joints,
      log,
    });
    this.#armHold = new ArmHold({
      bus: this.bus,
      codec: new MessageCodec(this.definitions),
      robot: this.robot,
      topics: new ArmTopics({ dataDir: this.dataDir, write: this.#syncThread.writeDurably }),
      configured: () => configuredArmTopics(this.#config),
    });
    this.haltAuthority.onHalt('arm hold', () => {
      const { held, notHeld } = this.#armHold.hold();
      for (const [topic, why] of Object.entries(notHeld))
        log.warn({ topic, problem: why }, `robot stop: the arm on ${topic} is not held: ${why}`);
      return { held, notHeld };
    });
    this.#supervisor = new Supervisor({
      specs,
      log,
      now: logClock,
      context: (cfg) => ({
        config: cfg,
        bus: this.bus,
        definitions: this.definitions,
        graph: this.graph,
        log,
        dataDir: this.dataDir,
        journal: this.journal,
        actionGoals: this.actionGoals,
        haltAuthority: this.haltAuthority,
        robot: this.robot,
        daemonStatus: () => this.status(),
        stageConfigOverlay: (request) => this.stageConfigOverlay(request),
      }),
    });
  }

  get config(): EdgeConfig {
    return this.#config;
  }

  get configFile(): string | undefined {
    return this.#configFile;
  }

  /** The durable journal; open from start() until stop(). */
  get journal(): DurableJournal {
    if (!this.#journal) throw new Error('the journal is open only while the daemon runs (call start() first)');
    return this.#journal;
  }

  /**
   * The running components, for what goes over all of them alike (metrics, journal holders); never to find one by
   * name: ask `ports` for a service and `componentHealth()` for a component's state and figures.
   */
  get components() {
    return this.#supervisor.components;
  }

  /** The running components' services, typed (see Port): what a caller outside the components asks for. */
  get ports(): Ports {
    return this.#supervisor.ports;
  }

  /**
   * Takes the data dir, opens the journal and starts the components. A stop() called meanwhile cuts it
   * short: no further component starts, and start resolves (check `stopping`) once stop has the lifecycle.
   */
  start(): Promise<void> {
    return this.#serialize(() => this.#start());
  }

  /** Whether stop() was called; from then on start and reload do nothing. */
  get stopping(): boolean {
    return this.#closeRequested;
  }

  async #start(): Promise<void> {
    if (this.#closeRequested) return;
    this.#startedAt = nowNs();
    this.log.info(
      { robot: this.#config.robot.id, dataDir: this.dataDir, config: this.#configFile ?? '<default>' },
      'daemon starting',
    );
    // Before anything in the data dir is touched: a second daemon on it must not open the same journal.
    const lock = await DataDirLock.acquire(this.dataDir, this.#configFile, (message) => this.log.warn(message));
    this.#lock = lock;
    this.#startWithOverlay();
    this.haltAuthority.applySettings(this.#config);
    try {
      await prepareDataDirFormat(this.dataDir, this.log); // a newer format refused; a moved data dir's catalog rebased
      this.#journal = openDaemonJournal({
        dataDir: this.dataDir,
        settings: this.#config.journal,
        fdatasync: this.#syncThread.fdatasync,
        log: this.log,
      });
      await this.#supervisor.start(this.#config);
    } catch (error) {
      // A critical component failed: what did start stops, and the data dir is free again.
      let running: string[] = [];
      try {
        running = await this.#supervisor.close(2000).catch(() => []);
        await this.#journal?.close();
        this.#journal = undefined;
      } finally {
        this.#freeDataDir(running);
      }
      throw error;
    }
    if (this.#closeRequested) return; // stop() runs next and undoes the rest
    // Journal retention runs after the components are up: they say which records they still need.
    this.#retentionTimer = setInterval(() => this.pruneJournal(), 60_000);
    this.#retentionTimer.unref();
    this.log.info('daemon running');
  }

  /**
   * Graceful stop: components in reverse order, within `budgetMs` in all. A start or reload in flight is cut
   * short and whatever it started is stopped, before the journal closes and the data dir lock is freed.
   * A component that did not stop within the budget is logged, and the data dir then stays locked until
   * this process exits (see #freeDataDir): the caller should exit soon after.
   */
  close(budgetMs = 5000): Promise<void> {
    if (!this.#closeRequested) this.log.info('daemon stopping');
    this.#closeRequested = true;
    // Called now, not in turn: it tells a start in flight to start nothing more.
    const components = this.#supervisor.close(budgetMs);
    return this.#serialize(async () => {
      const running = await components;
      if (this.#closed) return;
      this.#closed = true;
      clearInterval(this.#retentionTimer);
      // Closed even under a component still running: what was appended is made durable, and a late
      // append is refused ("journal is closed") rather than written by no one's lock.
      await this.#journal?.close();
      this.#journal = undefined;
      await this.#syncThread.close();
      this.#freeDataDir(running);
      this.#armHold.close();
      this.robot.close();
      this.bus.close();
      if (running.length === 0) this.log.info('daemon stopped'); // else #freeDataDir said what still runs
    });
  }

  /**
   * Releases the data dir lock, unless a component that did not stop may still write there (every
   * component gets the data dir: a recorder closing a bag, the lakehouse flushing). Then the lock is kept
   * until this process exits (the kernel frees it then, kill -9 included), so a daemon started next cannot
   * repair a bag or open files this one is still writing.
   */
  #freeDataDir(running: readonly string[]): void {
    if (running.length > 0) {
      this.log.error(
        { running, dataDir: this.dataDir },
        `components still running after stop: ${running.join(', ')}; the data dir stays locked until this process exits`,
      );
    } else {
      this.#lock?.release();
    }
    this.#lock = undefined;
  }

  /** Runs `operation` after every start, reload or stop called before it has settled. */
  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(operation);
    this.#chain = result.catch(() => undefined); // the caller gets the error; the chain goes on
    return result;
  }

  /** One pass of journal retention (the daemon runs one a minute). */
  pruneJournal(): ReturnType<typeof pruneJournal> {
    const { retain_days, max_mb } = this.#config.journal;
    try {
      return pruneJournal({
        journal: this.journal,
        retainDays: retain_days,
        maxBytes: max_mb * 1024 * 1024,
        components: this.components,
        health: () => this.#supervisor.health(),
        log: this.log,
      });
    } catch (error) {
      this.log.error({ err: errorText(error) }, 'journal retention failed; it will try again');
      return { skipped: errorText(error) };
    }
  }

  /** Applies a new, validated config; returns the components that restarted (none once stop was called). */
  reload(config: EdgeConfig): Promise<string[]> {
    return this.#serialize(async () => (await this.#reload(config, null))?.restarted ?? []);
  }

  /**
   * Reads the config file again (at this reload's turn, so after a start or reload in flight) and applies
   * it. A file that can't be used is refused, logged with what to do, and the running config stays in
   * force. Resolves with the outcome (also in status as last_reload); undefined once stop was called.
   */
  reloadFile(env: NodeJS.ProcessEnv = process.env): Promise<ReloadOutcome | undefined> {
    return this.#serialize(async () => {
      if (this.#closeRequested) return this.#reload(this.#config, null); // logs the skip
      if (!this.#configFile) throw new Error('no config file to reload: the daemon runs the embedded default');
      const read = readConfigForReload(this.#configFile, env);
      if ('config' in read) return this.#reload(this.#overlays.layOver(read.config, env), this.#configFile);
      this.#rejections.reject({ err: read.error, hint: read.hint, file: this.#configFile });
      return this.#reloads.record({
        ok: false,
        file: this.#configFile,
        error: read.error,
        hint: read.hint,
        restarted: [],
        pending_restart: [],
      });
    });
  }

  /**
   * Takes a config from central (the central link hands it over): laid over the local config (the file,
   * read now), validated as a file is, refused if it changes a protected key, then kept durably in
   * <data_dir>/state/central-config.json and applied as a reload, in turn. A config id applied before, or
   * the content in force under another id, is a duplicate and changes nothing. Resolves once the config is
   * durable or refused; `applied` settles once the reload ran.
   */
  stageConfigOverlay(request: OverlayRequest): Promise<OverlayStaged> {
    const staged = this.#staging.then(() => this.#stageOverlay(request));
    this.#staging = staged.catch(() => undefined);
    return staged;
  }

  async #stageOverlay(request: OverlayRequest): Promise<OverlayStaged> {
    if (this.#closeRequested)
      return {
        status: 'refused',
        code: 'stopping',
        message: 'the daemon is stopping: send the config again once it runs',
      };
    const verdict = await this.#overlays.stage(request, process.env);
    if (verdict.status !== 'persisted') return verdict;
    return { status: 'persisted', applied: this.#serialize(() => this.#applyOverlay()) };
  }

  async #applyOverlay(): Promise<OverlayApplied> {
    const local = this.#overlays.readLocal(process.env);
    if ('error' in local) return { status: 'failed', message: `the robot's own config does not load: ${local.error}` };
    const outcome = await this.#reload(this.#overlays.layOver(local.config, process.env), this.#configFile ?? null);
    if (!outcome)
      return { status: 'failed', message: 'the daemon stopped first; the config applies at its next start' };
    const health = this.#supervisor.health();
    const degraded = outcome.restarted.flatMap((component) => {
      const h = health[component];
      return h?.state === 'failed' ? [{ component, error: h.reason ?? 'failed to start' }] : [];
    });
    return { status: 'applied', restarted: outcome.restarted, pending_restart: outcome.pending_restart, degraded };
  }

  /** At start: the config central sent last, kept in the data dir, laid over the local config. */
  #startWithOverlay(): void {
    this.#overlays.load();
    const config = this.#overlays.layOver(this.#config, process.env);
    if (config === this.#config) return;
    this.log.info({ config_id: this.#overlays.current }, "central's config applies over the local file");
    for (const dir of config.bus.definitions.dirs) {
      if (!this.#config.bus.definitions.dirs.includes(dir)) this.definitions.addDirectory(dir);
    }
    this.log.level = config.log.level;
    this.#config = { ...config, data_dir: this.#config.data_dir }; // the data dir is already taken
  }

  /** The last config reload's outcome, null before the first. */
  get lastReload(): ReloadOutcome | null {
    return this.#reloads.last;
  }

  async #reload(next: EdgeConfig, file: string | null): Promise<ReloadOutcome | undefined> {
    if (this.#closeRequested) {
      this.log.warn('config reload skipped: the daemon is stopping');
      return undefined;
    }
    const { config, pending } = planReload(this.#config, next, { definitions: this.definitions, log: this.log });
    // Before the components: a reload that turns the latch on holds from the first component it restarts.
    this.haltAuthority.applySettings(config);
    this.robot.applySettings(config.motion.joints);
    const restarted = await this.#supervisor.reload(config);
    if (this.#closeRequested) {
      // The stop that came meanwhile cut the reload short: what it had not started stays stopped.
      this.log.warn({ restarted }, 'config reload cut short: the daemon is stopping');
      return undefined;
    }
    this.#config = config;
    this.#armHold.openPublishers();
    // The last rejection's repeats that were held back go on this line; the next rejection logs at once.
    const heldRejections = this.#rejections.settle();
    // pending_restart: what the file changed that this daemon only takes on its next start (each was warned above).
    this.log.info(
      { restarted, pending_restart: pending, ...(heldRejections > 0 && { rejections_suppressed: heldRejections }) },
      'config reloaded',
    );
    return this.#reloads.record({ ok: true, file, restarted, pending_restart: pending });
  }

  /**
   * Adds `name` to the components' health in status (and so readiness and metrics), for a part that is no component.
   */
  reportHealth(name: string, health: () => ComponentHealth): void {
    this.#healthSources.set(name, health);
  }

  /**
   * Each component's health as status reports it (the parts that are no component included): how a caller outside
   * the components reads their state and figures, by the name status shows, without reaching the component itself.
   */
  componentHealth(): Record<string, ComponentHealth> {
    return {
      ...this.#supervisor.health(),
      ...Object.fromEntries([...this.#healthSources].map(([name, health]) => [name, health()])),
    };
  }

  status(): DaemonStatus {
    return {
      robot: { id: this.#config.robot.id, fleet: this.#config.robot.fleet },
      pid: process.pid,
      started_at: this.#startedAt.toString(),
      uptime_s: Number(nowNs() - this.#startedAt) / 1e9,
      config_file: this.#configFile ?? null,
      data_dir: this.dataDir,
      components: this.componentHealth(),
      ...busStatus(this.bus, this.graph),
      last_reload: this.#reloads.last,
      central_config: this.#overlays.status(),
      robot_inputs: this.robot.status(),
    };
  }
}
