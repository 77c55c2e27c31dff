import type { IPublishPacket } from 'mqtt';
import { CommandRates, type CommandKind } from './command-rate.ts';
import { redactUrl } from '../daemon/util/index.ts';
import type { CentralSettings, EdgeConfig } from '../daemon/config/index.ts';
import { PORTS, type JournalSyncHolder, type MetricFamily, type MetricsProvider } from '../daemon/contract/index.ts';
import { nowNs } from '../daemon/util/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../daemon/lifecycle/index.ts';
import { rateLimitedErrors, within } from '../daemon/util/index.ts';
import { centralClientId, readTlsFiles } from './link-settings.ts';
import { IntentIntake, type Ack } from './intent-intake.ts';
import { MqttConnection } from './mqtt-connection.ts';
import { Outbox } from './outbox.ts';
import { RemoteConfig } from './remote-config.ts';
import { CursorWriter, loadCursor, outboxCursorPath } from './outbox-cursor.ts';
import { parseResend } from './resend.ts';
import { centralTopics, type CentralTopics } from './topics.ts';
import { authorityProblem, commandGate, commandTopicOf } from './command-gate.ts';
import type { CommandSignatureCheck } from './command-signature-check.ts';
import { linkMetrics } from './link-metrics.ts';
import { RefusalWatch, refusalWords, type RefusalReport } from './link-refusals.ts';
import { Budget } from './sync/budget.ts';
import { SyncManager, type SyncStatus } from './sync/sync-manager.ts';
import { heartbeatSync } from './sync/heartbeat-sync.ts';

/**
 * How long a stop waits for messages in flight (the offline status, the last batches) to be acknowledged:
 * the link stops first, and what it spends here the recorder and the rest have less of within the daemon's 5 s.
 */
const STOP_GRACE_MS = 2000;
/** How long the broker's "another client with this client id" is remembered for status. */
const TAKEOVER_WINDOW_MS = 10 * 60_000;
/** Room for an intent's MQTT packet around its payload (topic, properties). */
const PACKET_HEADROOM = 64 * 1024;

interface Running {
  connection: MqttConnection;
  /** Connected and subscribed: what central sends now is taken. */
  online: boolean;
  outbox: Outbox;
  intake: IntentIntake;
  remoteConfig: RemoteConfig;
  heartbeat: NodeJS.Timeout;
  /** A heartbeat waits for its PUBACK. */
  heartbeatInFlight: boolean;
  topics: CentralTopics;
  /** The link's one upload budget: heartbeats and acks, then events, then bulk. */
  budget: Budget;
  /** Bulk sync, with central.sync.enabled. */
  sync: SyncManager | undefined;
  /** Central's signature on each command, checked before the command acts. */
  signatures: CommandSignatureCheck;
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
  #heartbeats = 0;
  #heartbeatsSkipped = 0;
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

  /**
   * One message from central: its signature first (a forged one takes no rate and acts on nothing), then its
   * kind's rate, then its handler. Resolves with the PUBACK reason code. A stop intent central signed halts the
   * robot as soon as its signature is checked (IntentIntake.haltFirst), whatever comes of it after.
   */
  async #command(
    running: Running,
    topic: string,
    payload: Buffer,
    packet: IPublishPacket,
    logErrors: ReturnType<typeof rateLimitedErrors>,
  ): Promise<number> {
    const { topics } = running;
    const commandTopic = commandTopicOf(topic, topics);
    if (!commandTopic) return 0x80; // the link subscribes to command topics only
    // A stop intent halts the robot once central's signature is known good, in this tick: before its counter is on
    // disk, its rate, and its run's acceptance, each of which can wait.
    const verdict = await running.signatures.check(commandTopic, payload, packet.properties?.userProperties, () => {
      if (commandTopic === 'intents') running.intake.haltFirst(payload, packet);
    });
    if (!verdict.ok) {
      const { code, message } = verdict;
      logErrors(`signature:${code}`, { topic, code, err: message }, 'central: a command was refused');
      if (commandTopic === 'intents' || commandTopic === 'config')
        running.intake.refuseUnread(topic, payload, packet, { code, message });
      return 0x87; // not authorized
    }
    if (this.#overRate(topic, topics)) return 0x97; // quota exceeded
    // Bulk sync needs to know whether central's key vouched for a grant: an unsigned one may not name storage.
    if (topic === topics.grants && running.sync) return running.sync.handle(payload, verdict.signed);
    if (topic === topics.resend) return this.#resend(running, payload, logErrors);
    return running.intake.handle(topic, payload, packet);
  }

  /** A command past its kind's rate (central.rate_limits): refused with PUBACK 0x97, counted, logged rate-limited. */
  #overRate(topic: string, topics: CentralTopics): boolean {
    const kind: CommandKind | undefined =
      topic === topics.intents
        ? 'intents'
        : topic === topics.config
          ? 'configs'
          : topic === topics.resend
            ? 'resends'
            : undefined;
    if (!kind || this.#rates.take(kind)) return false;
    this.#logRate(
      `rate:${kind}`,
      { kind, refused: this.#rates.refused[kind] },
      `central: ${kind} past central.rate_limits.${kind}_per_min refused (a flood on the link, or the limit too low)`,
    );
    return true;
  }

  applySettings(config: EdgeConfig): void {
    this.#agentEnabled = config.agent.enabled;
  }

  async start(): Promise<void> {
    const { config, journal, log, dataDir } = this.#ctx;
    const s = this.#s;
    const { id: robot, fleet } = config.robot;
    const topics = centralTopics(s.topic_prefix, fleet, robot);
    const tls = readTlsFiles(s);
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
      url: s.url,
      clientId: centralClientId(s, fleet, robot),
      ...(s.username ? { username: s.username } : {}),
      ...(s.password ? { password: s.password } : {}),
      ...tls,
      keepaliveS: s.keepalive_s,
      connectTimeoutMs: s.connect_timeout_s * 1000,
      sessionExpiryS: s.session_expiry_s,
      reconnectMinMs: s.reconnect_min_s * 1000,
      reconnectMaxMs: s.reconnect_max_s * 1000,
      maximumPacketSize: s.max_intent_bytes + PACKET_HEADROOM,
      // No ts: the broker sends it when the link is lost, long after it was written.
      will: {
        topic: topics.status,
        payload: Buffer.from(
          JSON.stringify({ ...this.#status('offline', 'connection lost (last will)'), ts: undefined }),
        ),
      },
      // An intent is a command, never a state: a retained one would come again at every subscribe (each
      // reconnect), and run again once the agent no longer remembers its id. The session's subscription
      // keeps retained intents from being sent again; one that still comes is refused (IntentIntake).
      subscriptions: [
        ...(s.intents ? [{ topic: topics.intents, retainHandling: 1 as const }] : []),
        { topic: topics.config, retainHandling: 0 as const },
        ...(s.sync.enabled ? [{ topic: topics.grants, retainHandling: 1 as const }] : []),
        { topic: topics.resend, retainHandling: 1 as const },
      ],
      unsubscriptions: s.intents ? [] : [topics.intents],
      onMessage: (topic, payload, packet) =>
        running ? this.#command(running, topic, payload, packet, logErrors) : Promise.resolve(0x80),
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
    const heartbeat = setInterval(() => this.#heartbeat(), s.heartbeat_s * 1000);
    heartbeat.unref();
    running = {
      connection,
      online: false,
      outbox,
      intake,
      remoteConfig,
      heartbeat,
      heartbeatInFlight: false,
      topics,
      budget,
      sync,
      signatures,
    };
    this.#running = running;
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
    clearInterval(running.heartbeat);
    const { connection, outbox, topics } = running;
    // No new batches: the link waits only for what is in flight, and the cursor is written once it settled.
    outbox.offline();
    // Bulk sync ends first, while the connection is still open: a pump pass in flight publishes its offers on a
    // client that is there, not on one being closed (which threw "Cannot read properties of null" at SIGTERM).
    running.sync?.offline(); // a pump pass in flight sends nothing more
    await bounded(running.sync?.stop(), STOP_GRACE_MS);
    if (connection.connected) {
      // Said before the clean DISCONNECT, which keeps the broker from publishing the will; close() waits for
      // its PUBACK with the rest in flight (a failure is the will's to cover).
      connection
        .publish(topics.status, JSON.stringify(this.#status('offline', reason ?? 'the daemon stopped')), {
          retain: true,
        })
        .catch(() => undefined);
    }
    await connection.close(STOP_GRACE_MS);
    await outbox.stop();
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
      refused: this.#refusals(running),
      intents: { ...intake.counts },
      configs: { ...running.remoteConfig.counts },
      ...(running.sync ? { sync: running.sync.status() } : {}),
      heartbeats: this.#heartbeats,
    };
    const link = this.#linkProblem(running);
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

  /**
   * Why the link itself does not carry what it should: knocked off by a twin, offline, a subscription refused, a
   * batch refused, sync.
   */
  #linkProblem(running: Running): string | undefined {
    const { connection, outbox } = running;
    // Once is a restart's overlap; again and again is a second client with this client id, one of them ours.
    const takeovers = connection.takeoversWithin(TAKEOVER_WINDOW_MS);
    if (takeovers >= 2)
      return `the broker dropped this robot's connection ${takeovers} times in ${TAKEOVER_WINDOW_MS / 60_000} min, each soon after taking it: another client with this client id (${connection.clientId}) connects (a second daemon with this robot.id, or another login taking its place), or the network drops it; give each robot its own robot.id, and set up the broker so that a login's client id is its own (\`auraison-edge central acl\`, docs/central-link.md)`;
    if (!running.online) {
      const why = connection.lastError ?? (connection.connected ? 'subscribing' : 'not connected yet');
      return `offline (${why}); ${outbox.backlog} journal record(s) wait for central, sent on reconnect`;
    }
    // Events and heartbeats still go up: the robot looks fine from central, and hears nothing from it.
    if (connection.subscriptionProblem)
      return `connected, but ${connection.subscriptionProblem}: what central sends there does not reach this robot`;
    if (outbox.lastError) return outbox.lastError;
    const syncProblem = running.sync?.status().degraded;
    if (syncProblem) return `bulk sync: ${syncProblem} (uploads go on; check the data dir's disk)`;
    return undefined;
  }

  /** Every refusal of the link, as status, heartbeats and metrics show them. */
  #refusals(running: Running): RefusalReport {
    const { verified: _verified, unchecked: _unchecked, ...signature } = running.signatures.counts;
    const refused = running.sync?.status().refused;
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

  /** Pauses or resumes bulk uploads from here (the CLI, the API), once the pause file says so; false without sync. */
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
      heartbeats: this.#heartbeats,
      heartbeatsSkipped: this.#heartbeatsSkipped,
      ackFailures: this.#ackFailures,
      signatures: running.signatures.counts,
      refused: this.#refusals(running),
      sync: running.sync?.status(),
      budget: running.budget.stats(),
    });
  }

  #online(running: Running): void {
    running.online = true;
    const { connection, topics, outbox } = running;
    connection
      .publish(topics.status, JSON.stringify(this.#status('online', undefined)), { retain: true })
      .catch((error: unknown) => {
        this.#ctx.log.warn({ err: (error as Error).message }, 'central: publishing the online status failed');
      });
    outbox.online();
    running.sync?.online();
    this.#heartbeat();
  }

  #status(state: 'online' | 'offline', reason: string | undefined): Record<string, unknown> {
    const { id, fleet } = this.#ctx.config.robot;
    return {
      schema: 'auraison.status/1',
      robot: id,
      fleet,
      state,
      ...(reason ? { reason } : {}),
      ...(state === 'online' ? this.#statusPage() : {}),
      pid: process.pid,
      ts: nowNs().toString(),
    };
  }

  /**
   * The robot's own status page, for central's fleet page to link to: the local API's address as it listens
   * (api.host and api.port), said in the status and each heartbeat (the API may start after the link).
   */
  #statusPage(): { status_url?: string } {
    const url = this.#ctx.ports.get(PORTS.api)?.url;
    return url ? { status_url: `${url}/` } : {};
  }

  /** Central asks for events again (resend.ts): PUBACK 0 once queued or when there is nothing to send. */
  #resend(running: Running, payload: Buffer, logErrors: ReturnType<typeof rateLimitedErrors>): number {
    const request = parseResend(payload);
    if (typeof request === 'string') {
      logErrors('resend', { problem: request }, 'central: a resend request from central was refused');
      return 0x99; // payload format invalid
    }
    const skipped = running.outbox.resend(request.journal_id, request.from_seq, request.to_seq);
    if (skipped) this.#ctx.log.info({ ...request, skipped }, 'central: resend request: nothing sent again');
    else this.#ctx.log.info(request, 'central: central asked for events again; sending them');
    return 0;
  }

  #heartbeat(): void {
    const running = this.#running;
    if (!running?.online) return; // a heartbeat is for now: none is queued while offline
    // Nor while the last one waits for its PUBACK: a broker that keeps the link and acknowledges nothing
    // would have the client hold one more each period, for as long as the link holds, and send them all later.
    if (running.heartbeatInFlight) {
      this.#heartbeatsSkipped++;
      return;
    }
    const status = this.#ctx.daemonStatus();
    const problems = Object.entries(status.components)
      .filter(([, h]) => h.state === 'degraded' || h.state === 'failed')
      .map(([component, h]) => ({ component, state: h.state, reason: h.reason ?? '' }));
    const { outbox } = running;
    const payload = {
      schema: 'auraison.heartbeat/1',
      robot: status.robot.id,
      fleet: status.robot.fleet,
      ts: nowNs().toString(),
      uptime_s: status.uptime_s,
      components: Object.fromEntries(Object.entries(status.components).map(([name, h]) => [name, h.state])),
      problems,
      outbox: {
        journal_id: outbox.journalId,
        acked_seq: outbox.ackedSeq,
        last_seq: this.#ctx.journal.lastSeq,
        backlog: outbox.backlog,
      },
      // Which config from central is in force: after a restart, or a local reload that set it aside.
      config: status.central_config ?? null,
      // A robot under attack shows on the fleet page: what the link refused, and whether central can command it.
      refused: this.#refusals(running),
      authority: authorityProblem(running.signatures) ?? null,
      // Bulk sync's progress, for the fleet page's sync column; null without central.sync.enabled.
      sync: running.sync ? heartbeatSync(running.sync.status()) : null,
      ...this.#statusPage(),
    };
    this.#heartbeats++;
    running.heartbeatInFlight = true;
    void running.budget.take(JSON.stringify(payload).length, 'control'); // counted, never waits
    running.connection
      .publish(running.topics.heartbeat, JSON.stringify(payload))
      .catch(() => undefined) // the next one says it all again
      .finally(() => (running.heartbeatInFlight = false));
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
        { err: (error as Error).message, topic: to.topic, intent_id: ack.intent_id, config_id: ack.config_id },
        'central: an ack could not be published',
      );
    });
  }
}

/** Waits for `work`, at most `ms`: what is still running then is left to end on its own. */
async function bounded(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work) await within(work, ms);
}
