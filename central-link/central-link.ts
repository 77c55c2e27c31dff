// Over 400 lines because it is the one lifecycle of the link's parts (connection, outbox, command router, heartbeat,
// sync, the stop connection) and its status; each part is a module of its own, started and closed here.
import { CommandRates } from './command-rate.ts';
import { errorText, redactUrl } from '../daemon/util/index.ts';
import type { CentralSettings, EdgeConfig } from '../daemon/config/index.ts';
import { PORTS, type JournalSyncHolder, type MetricFamily, type MetricsProvider } from '../daemon/contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../daemon/lifecycle/index.ts';
import { rateLimitedErrors, within } from '../daemon/util/index.ts';
import { sessionOptions } from './link-settings.ts';
import { IntentIntake, type Ack } from './intent-intake.ts';
import { MqttConnection } from './mqtt-connection.ts';
import { Outbox } from './outbox.ts';
import { RemoteConfig } from './remote-config.ts';
import { CursorWriter, loadCursor, outboxCursorPath } from './outbox-cursor.ts';
import { centralTopics, type CentralTopics } from './topics.ts';
import { authorityProblem, commandGate } from './command-gate.ts';
import { CommandRouter } from './command-router.ts';
import { Heartbeat, type HeartbeatCounts } from './heartbeat.ts';
import { linkProblem, statusMessage, type StatusMessage } from './link-status.ts';
import type { CommandSignatureCheck } from './command-signature-check.ts';
import { linkMetrics } from './link-metrics.ts';
import { RefusalWatch, refusalWords, type RefusalReport } from './link-refusals.ts';
import { haltConnectionFor, type HaltConnection } from './halt-connection.ts';
import { Budget } from './sync/budget.ts';
import { SyncManager, type SyncStatus } from './sync/sync-manager.ts';

/**
 * How long a stop waits for messages in flight (the offline status, the last batches) to be acknowledged:
 * the link stops first, and what it spends here the recorder and the rest have less of within the daemon's 5 s.
 */
const STOP_GRACE_MS = 2000;

interface Running {
  connection: MqttConnection;
  /** Connected and subscribed: what central sends now is taken. */
  online: boolean;
  outbox: Outbox;
  intake: IntentIntake;
  /** Each message from central to its handler. */
  router: CommandRouter;
  remoteConfig: RemoteConfig;
  heartbeat: Heartbeat;
  topics: CentralTopics;
  /** The link's one upload budget: heartbeats and acks, then events, then bulk. */
  budget: Budget;
  /** Bulk sync, with central.sync.enabled. */
  sync: SyncManager | undefined;
  /** Central's signature on each command, checked before the command acts. */
  signatures: CommandSignatureCheck;
  /** Central's stop on a thread and connection of its own (motion.stop.central_connection), or why there is none. */
  stops: HaltConnection | string | undefined;
}

/**
 * Component `central`: the central link. MQTT 5 to the fleet's broker, a persistent session and a last will:
 * intents come down (IntentIntake), journal records go up at least once (Outbox), and a retained status and
 * periodic heartbeats tell central how the robot is. Offline is a normal state: the daemon runs, records
 * and executes intents as before, the journal keeps what central has not got, and the link reconnects with
 * backoff. A broker that is down, refuses the robot or sends garbage degrades this component alone.
 */
export class CentralLink implements Component, MetricsProvider, JournalSyncHolder {
  readonly name = 'central';
  #ctx: ComponentContext;
  #s: CentralSettings;
  #running: Running | undefined;
  readonly #heartbeats: HeartbeatCounts = { sent: 0, skipped: 0 };
  #ackFailures = 0;
  /** agent.enabled, taken live (applySettings): intents are refused without an agent. */
  #agentEnabled: boolean;
  readonly #rates: CommandRates;
  /** When the link last refused a command: status and heartbeats say a robot is under attack. */
  readonly #refusalWatch = new RefusalWatch();
  readonly #logRate: ReturnType<typeof rateLimitedErrors>;

  constructor(ctx: ComponentContext) {
    this.#ctx = ctx;
    this.#s = ctx.config.central;
    this.#agentEnabled = ctx.config.agent.enabled;
    const { intents_per_min: intents, configs_per_min: configs, resends_per_min: resends } = this.#s.rate_limits;
    this.#rates = new CommandRates({ intents, configs, resends });
    this.#logRate = rateLimitedErrors(ctx.log);
  }

  applySettings(config: EdgeConfig): void {
    this.#agentEnabled = config.agent.enabled;
  }

  async start(): Promise<void> {
    const { config, journal, log, dataDir } = this.#ctx;
    const s = this.#s;
    const { id: robot, fleet } = config.robot;
    const topics = centralTopics(s.topic_prefix, fleet, robot);
    const session = sessionOptions(s, fleet, robot, topics); // the TLS files are read here
    const path = outboxCursorPath(dataDir);
    const { state: cursor, problem } = loadCursor(path, journal.firstSeq ?? 1, journal.lastSeq);
    if (problem)
      log.warn(
        { path, problem },
        'central: outbox cursor not used; every record the journal holds goes up again under a new journal id',
      );
    const writer = new CursorWriter(path);
    await writer.save(() => cursor); // a new journal id is durable before any record goes up under it
    // The link goes up before the outbox exists only in name: callbacks read `this.#running` when they fire.
    let running: Running | undefined;
    const connection = new MqttConnection({
      ...session,
      // No ts: the broker sends it when the link is lost, long after it was written.
      will: {
        topic: topics.status,
        payload: Buffer.from(
          JSON.stringify({ ...this.#statusMessage('offline', 'connection lost (last will)'), ts: undefined }),
        ),
      },
      onMessage: (topic, payload, packet) => running?.router.handle(topic, payload, packet) ?? Promise.resolve(0x80),
      onConnect: () => running && this.#online(running),
      onClose: () => {
        if (!running) return;
        running.online = false;
        running.outbox.offline();
        running.sync?.offline();
      },
      log,
    });
    const budget = new Budget({ bytesPerS: s.max_upload_bytes_per_s, windows: s.upload_windows });
    const sync = s.sync.enabled
      ? new SyncManager({
          dataDir,
          robot,
          fleet,
          settings: s.sync,
          budget,
          publish: (payload) =>
            connection.publish(topics.uploads, payload, { properties: { contentType: 'application/json' } }),
          log,
        })
      : undefined;
    const outbox = new Outbox({
      journal,
      // Events go before bulk uploads, after heartbeats and acks, within central.max_upload_bytes_per_s.
      publish: (payload) =>
        budget
          .take(Buffer.byteLength(payload), 'events')
          .then(() => connection.publish(topics.events, payload, { properties: { contentType: 'application/json' } })),
      robot,
      fleet,
      cursor,
      writer,
      batchRecords: s.outbox.batch_records,
      batchBytes: s.outbox.batch_bytes,
      maxInflight: s.outbox.max_inflight,
      maxPacketBytes: () => connection.serverMaximumPacketSize,
      receiveMaximum: () => connection.serverReceiveMaximum,
      log,
    });
    // Central sets how many intents come, so what each one costs in the log is bounded.
    const logErrors = rateLimitedErrors(log);
    const remoteConfig = new RemoteConfig({
      robot,
      maxBytes: s.max_intent_bytes,
      stage: this.#ctx.stageConfigOverlay,
      sendAck: (ack, to) => this.#sendAck(connection, ack, to, logErrors),
      logRefusal: logErrors,
      logApplied: (fields, message) => log.info(fields, message),
    });
    const intake = new IntentIntake({
      robot,
      topics,
      agent: () => this.#ctx.ports.get(PORTS.agent),
      agentOff: () => (this.#agentEnabled ? undefined : 'the agent is off on this robot (agent.enabled: false)'),
      takeIntents: s.intents,
      maxIntentBytes: s.max_intent_bytes,
      ackTimeoutMs: s.intent_ack_timeout_s * 1000,
      sendAck: (ack, to) => this.#sendAck(connection, ack, to, logErrors),
      logRefusal: logErrors,
      handleConfig: (payload, to) => remoteConfig.handle(payload, to),
    });
    // Before the first message can come: a counter file that cannot be read stops the link here, not later.
    const signatures = commandGate({ settings: s, dataDir, fleet, robot, log });
    const stops = haltConnectionFor({
      settings: s,
      session,
      topics,
      config,
      haltLine: this.#ctx.haltAuthority.haltLine,
      dataDir,
      log,
      halt: (payload, packet) => intake.haltFirst(payload, packet),
    });
    const router = new CommandRouter({
      topics,
      signatures,
      rates: this.#rates,
      intake,
      ...(typeof stops === 'object' ? { haltFirst: (payload, packet) => stops.linkRead(payload, packet) } : {}),
      outbox,
      sync,
      logErrors,
      logRate: this.#logRate,
      log,
    });
    const heartbeat = new Heartbeat({
      periodS: s.heartbeat_s,
      counts: this.#heartbeats,
      online: () => this.#running?.online === true,
      daemonStatus: this.#ctx.daemonStatus,
      lastSeq: () => journal.lastSeq,
      outbox,
      signatures,
      sync,
      budget,
      refusals: () => this.#refusals(signatures, sync),
      statusPage: () => this.#statusPage(),
      publish: (payload) => connection.publish(topics.heartbeat, payload),
    });
    running = {
      connection,
      online: false,
      outbox,
      intake,
      remoteConfig,
      router,
      heartbeat,
      topics,
      budget,
      sync,
      signatures,
      stops,
    };
    this.#running = running;
    if (typeof stops === 'object') stops.start();
    // On by default: a link that cannot have it (no intents, no key) says so in status, and once here.
    else if (stops) log.info(`central: no stop connection: ${stops}`);
    heartbeat.start();
    outbox.start();
    sync?.start();
    log.info(
      {
        url: redactUrl(s.url),
        topics: `${s.topic_prefix}/${fleet}/${robot}/#`,
        journal_id: cursor.journal_id,
        acked_seq: cursor.acked_seq,
      },
      'central: link started',
    );
  }

  async close(reason?: string): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    running.heartbeat.close();
    if (typeof running.stops === 'object') await running.stops.close();
    const { connection, outbox, topics } = running;
    // No new batches: the link waits only for what is in flight, and the cursor is written once it settled.
    outbox.offline();
    // Bulk sync ends first, while the connection is still open: a pump pass in flight publishes its offers on a
    // client that is there, not on one being closed (which threw "Cannot read properties of null" at SIGTERM).
    running.sync?.offline(); // a pump pass in flight sends nothing more
    await bounded(running.sync?.close(), STOP_GRACE_MS);
    if (connection.connected) {
      // Said before the clean DISCONNECT, which keeps the broker from publishing the will; close() waits for
      // its PUBACK with the rest in flight (a failure is the will's to cover).
      connection
        .publish(topics.status, JSON.stringify(this.#statusMessage('offline', reason ?? 'the daemon stopped')), {
          retain: true,
        })
        .catch(() => undefined);
    }
    await connection.close(STOP_GRACE_MS);
    await outbox.close();
  }

  health(): ComponentHealth {
    const running = this.#running;
    if (!running) return { state: 'stopped' };
    const { connection, outbox, intake } = running;
    const details = {
      url: redactUrl(this.#s.url),
      connected: running.online,
      link: connection.state,
      ...(connection.lastError ? { last_error: connection.lastError } : {}),
      connects: connection.connects,
      ...(connection.reconnectDelayMs !== undefined
        ? { reconnect_delay_ms: Math.round(connection.reconnectDelayMs) }
        : {}),
      outbox: {
        acked_seq: outbox.ackedSeq,
        backlog: outbox.backlog,
        inflight: outbox.inflight,
        ...outbox.counts,
        ...(outbox.lastError ? { last_error: outbox.lastError } : {}),
      },
      rate_limited: { ...this.#rates.refused },
      signatures: { ...running.signatures.counts },
      refused: this.#refusals(running.signatures, running.sync),
      intents: { ...intake.counts },
      configs: { ...running.remoteConfig.counts },
      ...(running.sync ? { sync: running.sync.status() } : {}),
      ...(running.stops === undefined
        ? {}
        : { stop_connection: typeof running.stops === 'object' ? running.stops.status() : { off: running.stops } }),
      heartbeats: this.#heartbeats.sent,
    };
    const link = linkProblem(running);
    // Central's authority: no key pinned (it cannot command this robot), or the file's opt-out (anyone can).
    const authority = authorityProblem(running.signatures);
    const refusals = refusalWords(details.refused);
    const reasons = [link, authority, refusals].filter((r) => r !== undefined);
    const degraded =
      link !== undefined || running.signatures.shut || (refusals !== undefined && this.#refusalWatch.recent);
    return {
      state: degraded ? 'degraded' : 'running',
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
      details,
    };
  }

  /** Every refusal of the link, as status, heartbeats and metrics show them. */
  #refusals(signatures: CommandSignatureCheck, sync: SyncManager | undefined): RefusalReport {
    const { verified: _verified, unchecked: _unchecked, ...signature } = signatures.counts;
    const refused = sync?.status().refused;
    return this.#refusalWatch.report({
      signature,
      rate_limited: { ...this.#rates.refused },
      grants: refused?.grants ?? 0,
      stored: refused?.stored ?? 0,
    });
  }

  /** Bulk sync's state (`sync status`, GET /sync); undefined without central.sync.enabled. */
  syncStatus(): SyncStatus | undefined {
    return this.#running?.sync?.status();
  }

  /**
   * Pauses or resumes bulk uploads from the robot (CLI, API, page). `central` with a resume also lifts central's
   * pause, for an operator on the robot who decides otherwise (central's next pause holds again).
   */
  async pauseSync(paused: boolean, reason = 'paused from the robot', central = false): Promise<boolean> {
    const sync = this.#running?.sync;
    if (!sync) return false;
    if (paused) await sync.pause('local', reason);
    else await Promise.all([sync.resume('local'), ...(central ? [sync.resume('central')] : [])]);
    return true;
  }

  journalSyncHold(): number | undefined {
    return this.#running?.outbox.journalHold();
  }

  metrics(): MetricFamily[] {
    const running = this.#running;
    if (!running) return [];
    return linkMetrics({
      online: running.online,
      connection: running.connection,
      outbox: running.outbox,
      intents: running.intake.counts,
      configs: running.remoteConfig.counts,
      heartbeats: this.#heartbeats.sent,
      heartbeatsSkipped: this.#heartbeats.skipped,
      ackFailures: this.#ackFailures,
      signatures: running.signatures.counts,
      refused: this.#refusals(running.signatures, running.sync),
      sync: running.sync?.status(),
      budget: running.budget.stats(),
    });
  }

  #online(running: Running): void {
    running.online = true;
    const { connection, topics, outbox } = running;
    connection
      .publish(topics.status, JSON.stringify(this.#statusMessage('online', undefined)), { retain: true })
      .catch((error: unknown) => {
        this.#ctx.log.warn({ err: errorText(error) }, 'central: publishing the online status failed');
      });
    outbox.online();
    running.sync?.online();
    running.heartbeat.beat();
  }

  #statusMessage(state: 'online' | 'offline', reason: string | undefined): StatusMessage {
    return statusMessage(this.#ctx.config.robot, state, reason, () => this.#statusPage());
  }

  /**
   * The robot's own status page, for central's fleet page to link to: the local API's address as it listens
   * (api.host and api.port), said in the status and each heartbeat (the API may start after the link).
   */
  #statusPage(): { status_url?: string } {
    const url = this.#ctx.ports.get(PORTS.api)?.url;
    return url ? { status_url: `${url}/` } : {};
  }

  #sendAck(
    connection: MqttConnection,
    ack: Ack,
    to: { topic: string; correlationData?: Buffer },
    logErrors: ReturnType<typeof rateLimitedErrors>,
  ): void {
    const properties = {
      contentType: 'application/json',
      ...(to.correlationData ? { correlationData: to.correlationData } : {}),
    };
    const payload = JSON.stringify(ack);
    void this.#running?.budget.take(payload.length, 'control'); // counted, never waits
    connection.publish(to.topic, payload, { properties }).catch((error: unknown) => {
      this.#ackFailures++;
      logErrors(
        'ack',
        { err: errorText(error), topic: to.topic, intent_id: ack.intent_id, config_id: ack.config_id },
        'central: an ack could not be published',
      );
    });
  }
}

/** Waits for `work`, at most `ms`: what is still running then is left to end on its own. */
async function bounded(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work) await within(work, ms);
}
