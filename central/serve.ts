import { hostname } from 'node:os';
import type { IPublishPacket } from 'mqtt';
import { createLogger, type Logger } from 'auraison-edge/log';
import { Backoff, errorText, rateLimitedErrors, sleep } from 'auraison-edge/util';
import { centralTopics } from 'auraison-edge/protocol';
import { uploadsValidator, type GrantsMessage } from 'auraison-edge/protocol';
import type { CentralServeConfig } from './config.ts';
import { redactPasswords } from './conninfo.ts';
import { EventIngest } from './events-ingest.ts';
import { ACCEPTED, eventsProblem, PAYLOAD_FORMAT_INVALID } from './events-payload.ts';
import type { FleetView } from './fleet-view.ts';
import { unguardedBindProblem } from './http-guard.ts';
import { FleetIntake } from './intake.ts';
import { FleetLake, sql } from './lake.ts';
import { LakeMaintenance } from './lake-maintenance.ts';
import { CommandSigner } from './command-signer.ts';
import { GrantMaker } from './presign.ts';
import { GapRecovery } from './resend.ts';
import { reportProblem, RobotRegistry } from './robots.ts';
import { isProbeRobot, PROBE_EVERY_MS, SenderProof } from './sender-proof.ts';
import { UploadDesk } from './uploads.ts';

/** The topics a serve process subscribes to: shared (one process each message) and its own (all of them). */
export function serveSubscriptions(mqtt: CentralServeConfig['mqtt']): string[] {
  const fleet = `${mqtt.topic_prefix}/${mqtt.fleet}/+`;
  return [
    ...['events', 'acks', 'uploads'].map((leaf) => `$share/${mqtt.share_group}/${fleet}/${leaf}`),
    `${fleet}/status`,
    `${fleet}/heartbeat`,
  ];
}

/** A running `central serve`: its parts, for tests and the HTTP API. */
export interface CentralServe {
  view: FleetView;
  ingest: EventIngest;
  intake: FleetIntake;
  uploads: UploadDesk;
  /** Whether the broker proves who sent each robot's reports (probed at each connect and every few minutes). */
  senders: SenderProof;
  /** Gap recovery (resend requests); undefined when events.resend is off. */
  resend: GapRecovery | undefined;
  /** The lake's upkeep: merging small files, expiring snapshots (lakehouse.maintenance_s). */
  maintenance: LakeMaintenance;
  lake: FleetLake;
  garbage: { count: number };
  /** The fleet page's URL, when http.enabled. */
  httpUrl: string | undefined;
  close(): Promise<void>;
}

/** Opens the lake, waiting (with backoff, saying why) while its catalog or storage cannot be reached. */
async function openLake(settings: CentralServeConfig, log: Logger, signal: AbortSignal): Promise<FleetLake> {
  const backoff = new Backoff({ firstMs: 500, maxMs: 15_000 });
  for (;;) {
    try {
      return await FleetLake.open(settings);
    } catch (error) {
      const message = errorText(error);
      // A missing extension or a bad path is not cured by waiting.
      if (/extension_directory|cannot INSTALL/.test(message) || signal.aborted) throw error;
      const wait = backoff.next();
      log.warn(
        { err: redactPasswords(message.split('\n')[0]!), retry_in_ms: wait },
        'central serve: the fleet lakehouse cannot be opened yet',
      );
      await sleep(wait);
    }
  }
}

/**
 * Starts `central serve`: the fleet lakehouse, the broker subscriptions, the upload desk and the fleet page.
 * Stateless: everything lasting is in the lake (events, cursors, offers, bags) or the broker (sessions,
 * retained status); robots are kept in memory from their status and heartbeats.
 */
export async function startCentralServe(
  settings: CentralServeConfig,
  o: { log?: Logger; clientId?: string; signal?: AbortSignal } = {},
): Promise<CentralServe> {
  const log = o.log ?? createLogger({ level: 'info', name: 'auraison-central' });
  const { mqtt, storage, http } = settings;
  // Said before anything opens: the lake and the broker are not worth waiting on for an API that may not listen.
  const unguarded = http.enabled ? unguardedBindProblem(http) : undefined;
  if (unguarded) throw new Error(unguarded);
  const grants = storage.bucket === '' ? undefined : new GrantMaker(storage);
  // Said before the lake opens (its data may be in the bucket too): a missing bucket is not cured by waiting.
  const bucket = await grants?.bucketProblem(storage.endpoint);
  if (bucket?.missing) throw new Error(`central serve: ${bucket.problem}`);
  if (bucket) log.error(`central serve: ${bucket.problem}`);
  const lake = await openLake(settings, log, o.signal ?? new AbortController().signal);
  log.info({ lake: lake.description }, 'central serve: the fleet lakehouse is open');
  const { lakehouse, fleet_query } = settings;
  if ((lakehouse.data_path.startsWith('s3://') || storage.bucket !== '') && fleet_query.s3_access_key_id === '')
    log.warn(
      "central serve: the fleet query reads S3 with storage's key, which can write and delete (fleet_query.s3_access_key_id is empty): give it a key that can only read the bucket (docs/central.md, The fleet query)",
    );
  const ingest = new EventIngest({
    lake,
    log,
    commitMs: settings.lakehouse.commit_ms,
    commitRows: settings.lakehouse.commit_rows,
  });
  const maintenance = new LakeMaintenance({
    lake,
    log,
    everyMs: lakehouse.maintenance_s * 1000,
    keepMs: lakehouse.snapshot_keep_s * 1000,
  });
  const robots = new RobotRegistry(mqtt.fleet);
  const garbage = { count: 0 };
  const logGarbage = rateLimitedErrors(log);
  const refuse = (robot: string, leaf: string, why: string): number => {
    garbage.count++;
    logGarbage(
      `${robot}/${leaf}`,
      { robot, topic: leaf, err: why },
      'central serve: a robot sent a message that is refused',
    );
    return PAYLOAD_FORMAT_INVALID;
  };
  const base = `${mqtt.topic_prefix}/${mqtt.fleet}/`;
  let intake: FleetIntake | undefined = undefined;
  const signer = mqtt.command_key === '' ? undefined : CommandSigner.fromFile(mqtt.command_key, 'mqtt.command_key');
  if (!signer)
    log.warn(
      'central serve: commands go unsigned (no mqtt.command_key): robots that pin a key refuse them; make one with `auraison-edge central keygen`',
    );
  /** Publishes a command on the robot's topic, signed for that robot and topic when central has a key. */
  const command = (robot: string, topic: 'grants' | 'resend', message: unknown): Promise<void> => {
    const payload = JSON.stringify(message);
    const signature = signer?.sign({ fleet: mqtt.fleet, robot, topic }, payload) ?? {};
    return intake!.publish(centralTopics(mqtt.topic_prefix, mqtt.fleet, robot)[topic], payload, signature);
  };
  const publish = (robot: string, message: GrantsMessage): Promise<void> => command(robot, 'grants', message);
  const uploads = new UploadDesk({ lake, grants, settings, publish, log });
  // A queue this long means the cursor is behind what came: asking now would ask for what waits here.
  const BACKED_UP = 200;
  const resend = !settings.events.resend
    ? undefined
    : new GapRecovery({
        afterMs: settings.events.resend_after_s * 1000,
        readCursors: async (journals) => {
          // By robot, then the journals asked for: a statement naming a thousand pairs takes seconds to plan.
          const wanted = new Set(journals.map((j) => `${j.robot}\u0000${j.journal_id}`));
          const robots = [...new Set(journals.map((j) => j.robot))];
          const read = await lake.reader.runAndReadAll(
            `SELECT robot, journal_id, ranges FROM event_cursors WHERE robot IN (${robots.map(sql).join(', ')})`,
          );
          const cursors = new Map<string, [number, number][]>();
          for (const [robot, journal, ranges] of read.getRows() as [string, string, string][]) {
            const key = `${robot}\u0000${journal}`;
            if (wanted.has(key)) cursors.set(key, JSON.parse(ranges) as [number, number][]);
          }
          return cursors;
        },
        publish: (robot, message) => command(robot, 'resend', message),
        busy: () => !intake?.connected || ingest.lastError !== undefined || ingest.waiting >= BACKED_UP,
        log,
      });

  /** What `central check` publishes on a robot's heartbeat topic (daemon/cli/central-check.ts). */
  const CHECK_SCHEMA = 'auraison.check/1';
  const handler = async (topic: string, payload: Buffer, packet: IPublishPacket): Promise<number> => {
    void packet;
    if (!topic.startsWith(base)) return ACCEPTED;
    const [robot, leaf, ...rest] = topic.slice(base.length).split('/');
    if (!robot || !leaf || rest.length > 0) return ACCEPTED;
    // A probe of the broker's ACL (central's own, or `central check`'s) that an open broker took: no robot's.
    if (isProbeRobot(robot)) return ACCEPTED;
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      return refuse(robot, leaf, 'not JSON');
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message))
      return refuse(robot, leaf, 'not a JSON object');
    if (leaf === 'status' || leaf === 'heartbeat') {
      const problem = reportProblem(message as Record<string, unknown>, mqtt.fleet, robot);
      if (problem) return refuse(robot, leaf, problem);
    }
    switch (leaf) {
      case 'events': {
        const problem = eventsProblem(message, mqtt.fleet, robot);
        if (problem) return refuse(robot, leaf, problem);
        return ingest.add(message as Parameters<EventIngest['add']>[0]);
      }
      case 'status':
        // An empty retained payload clears a status: not JSON above, so it never gets here.
        return robots.status(robot, message as Record<string, unknown>)
          ? ACCEPTED
          : refuse(robot, leaf, 'not a status');
      case 'heartbeat':
        // `central check` on a robot publishes once on its heartbeat topic, to see the broker take it: not garbage.
        if ((message as { schema?: unknown }).schema === CHECK_SCHEMA) {
          log.info({ robot }, `central serve: robot ${robot} ran \`central check\` (its probe on the heartbeat topic)`);
          return ACCEPTED;
        }
        if (!robots.heartbeat(robot, message as Record<string, unknown>)) return refuse(robot, leaf, 'not a heartbeat');
        resend?.heartbeat(robot, message as Record<string, unknown>);
        return ACCEPTED;
      case 'uploads': {
        const issue = uploadsValidator.issues(message)[0];
        if (issue) return refuse(robot, leaf, `${issue.path || 'payload'}: ${issue.message}`);
        const m = message as Parameters<UploadDesk['handle']>[1];
        if (m.robot !== robot) return refuse(robot, leaf, `the message says robot ${m.robot}`);
        try {
          await uploads.handle(robot, m);
        } catch (error) {
          log.warn(
            { robot, type: m.type, file_id: m.file_id, err: errorText(error).split('\n')[0] },
            'central serve: an upload message could not be handled; the robot asks again',
          );
          return 0x80;
        }
        return ACCEPTED;
      }
      default:
        return ACCEPTED; // acks: the operator's `central intent` reads them on its own subscription
    }
  };

  const clientId = o.clientId ?? (mqtt.client_id || `auraison-central-${mqtt.fleet}-${hostname()}`);
  const senders = new SenderProof({
    publish: (topic, payload) => intake!.probe(topic, payload),
    prefix: mqtt.topic_prefix,
    fleet: mqtt.fleet,
    log,
  });
  intake = new FleetIntake({
    mqtt,
    clientId,
    subscriptions: serveSubscriptions(mqtt),
    handler,
    log,
    onConnect: () => void senders.probe(),
  });
  // A lab may reload the broker's ACL, or lose it, while central runs.
  const reprobe = setInterval(() => {
    if (intake.connected) void senders.probe();
  }, PROBE_EVERY_MS).unref();

  const view: FleetView = {
    robots: () => {
      const sender = senders.state.proven ? 'proven' : 'unproven';
      return robots.robots().map((r) => {
        const asked = resend?.robot(r.robot);
        return asked ? { ...r, sender, resend: asked } : { ...r, sender };
      });
    },
    senders: () => senders.state,
    query: (text) => lake.fleetQuery(text),
    recentEvents: async (limit) => {
      const n = Math.max(1, Math.min(10_000, Math.floor(limit)));
      const result = await lake.reader.runAndReadAll(
        `SELECT fleet, robot, journal_id, seq, ts_ns, kind, data, omitted, received_at FROM events
           ORDER BY received_at DESC, seq DESC LIMIT ${n}`,
      );
      return result.getRowObjectsJson();
    },
    uploads: () => ({ ...uploads.counts }),
    ingest: () => ({
      ...ingest.counts,
      waiting: ingest.waiting,
      messages: intake.counts.messages,
      refused: intake.counts.refused,
      ...(resend ? resend.counts : {}),
    }),
    maintenance: () => ({ ...maintenance.counts }),
  };

  let server: { close(): Promise<unknown> } | undefined;
  let httpUrl: string | undefined;
  if (http.enabled) {
    const { fleetHttp, fleetHttpUrl } = await import('./http.ts');
    const app = await fleetHttp(view, http);
    server = app;
    httpUrl = fleetHttpUrl(app);
    log.info({ url: httpUrl }, 'central serve: the fleet page and its API listen');
  }

  resend?.start(Math.min(5000, (settings.events.resend_after_s * 1000) / 3));
  maintenance.start();

  let stopping: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(reprobe);
      await resend?.close();
      await maintenance.close();
      await intake.close();
      await ingest.close();
      await lake.queries.close();
      await server?.close();
      grants?.close();
      await lake.close();
    })());
  return { view, ingest, intake, uploads, senders, resend, maintenance, lake, garbage, httpUrl, close };
}

/** `auraison-edge central serve --config central.yaml`: runs until SIGINT or SIGTERM. */
export async function runCentralServe(
  settings: CentralServeConfig,
  io: { stdout: (text: string) => void },
): Promise<number> {
  const log = createLogger({ level: process.env.AURAISON_LOG_LEVEL ?? 'info', name: 'auraison-central' });
  const abort = new AbortController();
  // Said in the log, as the daemon says it: an operator (or systemd's journal) sees why central went away and when
  // it was done. A second signal is only noted (a terminal's Ctrl-C under a wrapper comes twice); a third exits.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info({ signal }, 'central serve: stop requested: closing the broker session, the fleet page and the lake');
      abort.abort();
    } else if (signals === 2) {
      log.warn({ signal }, 'central serve: already stopping; one more stop signal exits at once, without closing');
    } else {
      log.error({ signal }, `central serve: stop signal ${signals}: exiting now, without closing`);
      process.exit(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const serve = await startCentralServe(settings, { log, signal: abort.signal });
    io.stdout(
      `central serve: fleet ${settings.mqtt.fleet} on ${serve.intake.url}, ${serve.lake.description}${serve.httpUrl ? `, fleet page ${serve.httpUrl}` : ''}\n`,
    );
    await new Promise<void>((resolve) => {
      if (abort.signal.aborted) resolve();
      abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await serve.close();
    log.info('central serve: stopped');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
