import type { Logger } from 'auraison-edge/log';
import {
  GRANTS_SCHEMA,
  type Complete,
  type GrantsMessage,
  type Lost,
  type Offer,
  type UploadsMessage,
} from 'auraison-edge/protocol';
import type { CentralServeConfig } from './config.ts';
import type { UploadCounts } from './fleet-view.ts';
import { ident, sql, type FleetLake } from './lake.ts';
import type { GrantMaker } from './presign.ts';
import { errorText, sleep } from 'auraison-edge/util';

type Decision =
  { type: 'grant' } | { type: 'later'; reason: string; retry_after_s: number } | { type: 'not_wanted'; reason: string };

/** Whether `now` (UTC) is inside one of the windows (`HH:MM` to `HH:MM`, possibly past midnight). */
export function inWindows(windows: { start: string; end: string }[], now: Date): boolean {
  if (windows.length === 0) return true;
  const minutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  const at = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  return windows.some(({ start, end }) => {
    const [s, e] = [at(start), at(end)];
    return s <= e ? minutes >= s && minutes < e : minutes >= s || minutes < e;
  });
}

/** What central does with an offer, by its policy. */
export function decide(
  policy: CentralServeConfig['policy'],
  storageConfigured: boolean,
  offer: Offer,
  now: Date,
): Decision {
  if (!storageConfigured) return { type: 'not_wanted', reason: 'central has no storage configured (storage.bucket)' };
  if (!policy.kinds.includes(offer.kind))
    return { type: 'not_wanted', reason: `central takes ${policy.kinds.join(', ') || 'no kinds'}, not ${offer.kind}` };
  if (policy.max_file_bytes > 0 && offer.size > policy.max_file_bytes)
    return { type: 'not_wanted', reason: `${offer.size} bytes is over central's limit of ${policy.max_file_bytes}` };
  if (offer.kind === 'bag' && policy.bag_topics.length > 0) {
    const topics = offer.topics ?? [];
    if (!topics.some((t) => policy.bag_topics.includes(t)))
      return {
        type: 'not_wanted',
        reason: `the bag has none of the topics central wants (${policy.bag_topics.join(', ')})`,
      };
  }
  if (!inWindows(policy.windows, now))
    return {
      type: 'later',
      reason: `outside central's upload windows (${policy.windows.map((w) => `${w.start}-${w.end}`).join(', ')} UTC)`,
      retry_after_s: policy.later_s,
    };
  return { type: 'grant' };
}

/** The lakehouse table a parquet file belongs to: the offer's, or `lakehouse/tables/<table>/...` of its path. */
export function lakeTable(offer: Pick<Offer, 'table' | 'path' | 'kind'>): string {
  // The robot's agent events parquet (its table `events`) must not go into central's own `events`.
  if (offer.kind === 'events') return 'robot_events';
  if (offer.table) return offer.table;
  const m = /(?:^|\/)tables\/([^/]+)\//.exec(offer.path);
  return m ? decodeURIComponent(m[1]!) : 'uploaded';
}

/**
 * Bulk sync, central's side: offers answered by the policy (grant by GrantMaker, later, not wanted), each
 * granted offer kept in the lake's `offers` table (any serve process may get its `complete`); a `complete`
 * checked by GrantMaker (sha256, size), then registered: parquet added to its lake table as it is
 * (ducklake_add_data_files, no rewrite), a bag listed in `bags`; then `stored`, or `rejected` with the reason.
 */
export class UploadDesk {
  readonly #lake: FleetLake;
  readonly #grants: GrantMaker | undefined;
  readonly #settings: CentralServeConfig;
  readonly #publish: (robot: string, message: GrantsMessage) => Promise<void>;
  readonly #log: Logger;
  readonly counts: UploadCounts = { offered: 0, granted: 0, stored: 0, rejected: 0, bytes_stored: 0 };

  constructor(o: {
    lake: FleetLake;
    grants: GrantMaker | undefined;
    settings: CentralServeConfig;
    publish: (robot: string, message: GrantsMessage) => Promise<void>;
    log: Logger;
  }) {
    this.#lake = o.lake;
    this.#grants = o.grants;
    this.#settings = o.settings;
    this.#publish = o.publish;
    this.#log = o.log;
  }

  async handle(robot: string, message: UploadsMessage): Promise<void> {
    if (message.type === 'offer') return this.#offer(robot, message);
    if (message.type === 'complete') return this.#complete(robot, message);
    return this.#lost(robot, message);
  }

  async #offer(robot: string, offer: Offer): Promise<void> {
    this.counts.offered++;
    const ts = new Date().toISOString();
    const decision = decide(this.#settings.policy, this.#grants !== undefined, offer, new Date());
    if (decision.type === 'not_wanted')
      return this.#publish(robot, {
        schema: GRANTS_SCHEMA,
        type: 'not_wanted',
        file_id: offer.file_id,
        reason: decision.reason,
        ts,
      });
    if (decision.type === 'later')
      return this.#publish(robot, {
        schema: GRANTS_SCHEMA,
        type: 'later',
        file_id: offer.file_id,
        reason: decision.reason,
        retry_after_s: decision.retry_after_s,
        ts,
      });
    const grants = this.#grants!;
    const key = grants.objectKey({ fleet: this.#settings.mqtt.fleet, robot }, offer);
    // Kept before the grant goes: the `complete` may reach another serve process.
    await this.#lake.transaction((c) =>
      c.run(
        `INSERT INTO offers VALUES (${[offer.file_id, robot, offer.kind, key, JSON.stringify(offer)].map(sql).join(', ')}, now())`,
      ),
    );
    const grant = await grants.grant(offer, key);
    this.counts.granted++;
    await this.#publish(robot, grant);
  }

  async #complete(robot: string, msg: Complete): Promise<void> {
    const ts = new Date().toISOString();
    const reject = async (reason: string) => {
      this.counts.rejected++;
      this.#log.warn({ robot, file_id: msg.file_id, reason }, 'central serve: an upload was rejected');
      await this.#publish(robot, { schema: GRANTS_SCHEMA, type: 'rejected', file_id: msg.file_id, reason, ts });
    };
    if (!this.#grants) return reject('central has no storage configured');
    const found = await this.#lake.query(
      `SELECT offer FROM offers WHERE file_id = ${sql(msg.file_id)} AND robot = ${sql(robot)} AND object_key = ${sql(msg.object_key)} ORDER BY offered_at DESC LIMIT 1`,
    );
    const offerText = found.rows[0]?.[0];
    if (typeof offerText !== 'string') return reject(`central granted no upload of ${msg.object_key} to ${robot}`);
    const offer = JSON.parse(offerText) as Offer;
    if (offer.sha256 !== msg.sha256 || offer.size !== msg.size)
      return reject(
        `the complete says ${msg.size} bytes, sha256 ${msg.sha256}; the offer said ${offer.size}, ${offer.sha256}`,
      );
    const verdict = await this.#grants.complete(msg);
    if (!verdict.ok) return reject(verdict.reason);
    try {
      await this.#register(robot, offer, msg);
    } catch (error) {
      return reject(`the object is stored but registering it in the fleet lakehouse failed: ${errorText(error)}`);
    }
    this.counts.stored++;
    this.counts.bytes_stored += msg.size;
    await this.#publish(robot, {
      schema: GRANTS_SCHEMA,
      type: 'stored',
      file_id: msg.file_id,
      object_key: msg.object_key,
      sha256: msg.sha256,
      size: msg.size,
      ts,
    });
  }

  /** Once per object key, whatever the redeliveries: the ingest fence serializes it with every other writer. */
  async #register(robot: string, offer: Offer, msg: Complete): Promise<void> {
    const fleet = this.#settings.mqtt.fleet;
    const url = this.#objectUrl(msg.object_key);
    const table = offer.kind === 'bag' ? 'bags' : lakeTable(offer);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#lake.transaction(async (c) => {
          await c.run('UPDATE ingest_fence SET n = n + 1');
          const seen = await c.runAndReadAll(
            `SELECT count(*) FROM registered_files WHERE object_key = ${sql(msg.object_key)}`,
          );
          if (Number(seen.getRows()[0]![0]) > 0) return;
          if (offer.kind === 'bag') {
            const topics = `[${(offer.topics ?? []).map(sql).join(', ')}]::VARCHAR[]`;
            const ns = (v: string | undefined) => (v === undefined ? 'NULL' : v);
            await c.run(
              `INSERT INTO bags VALUES (${sql(fleet)}, ${sql(robot)}, ${sql(offer.bag ?? offer.path)}, ${offer.segment_id === undefined ? 'NULL' : sql(offer.segment_id)}, ${topics}, ${ns(offer.start_ns)}, ${ns(offer.end_ns)}, ${sql(msg.object_key)}, ${sql(msg.sha256)}, ${msg.size}, now())`,
            );
          } else {
            const hive = /\/[A-Za-z_]+=[^/]+\//.test(msg.object_key);
            const read = `read_parquet(${sql(url)}${hive ? ', hive_partitioning = true' : ''})`;
            await c.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} AS SELECT * FROM ${read} LIMIT 0`);
            await c.run(
              `CALL ducklake_add_data_files('fleet', ${sql(table)}, ${sql(url)}${hive ? ', hive_partitioning => true' : ''})`,
            );
          }
          await c.run(
            `INSERT INTO registered_files VALUES (${sql(msg.object_key)}, ${sql(table)}, ${sql(robot)}, ${sql(msg.sha256)}, ${msg.size}, now())`,
          );
        });
        return;
      } catch (error) {
        if (!/conflict/i.test(errorText(error)) || attempt >= 50) throw error;
        await sleep(Math.random() * 50);
      }
    }
  }

  async #lost(robot: string, msg: Lost): Promise<void> {
    await this.#lake.transaction((c) =>
      c.run(
        `INSERT INTO lost_files VALUES (${[this.#settings.mqtt.fleet, robot, msg.file_id, msg.path].map(sql).join(', ')}, ${msg.size}, ${sql(msg.reason)}, now())`,
      ),
    );
    this.#log.warn(
      { robot, file_id: msg.file_id, path: msg.path, reason: msg.reason },
      'central serve: a robot lost a file before uploading it',
    );
  }

  /** The object as DuckDB reads it: s3://<bucket>/<key> (the lake's S3 secret covers the bucket). */
  #objectUrl(key: string): string {
    return `s3://${this.#settings.storage.bucket}/${key}`;
  }
}
