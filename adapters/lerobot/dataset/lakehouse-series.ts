import type { DuckDBConnection } from '@duckdb/node-api';
import { CatalogLockedError, openViews, type LazyViews } from '../../../daemon/lakehouse/index.ts';
import { dirname, join } from 'node:path';
import { cameraType, nsText, readCameraSamples, type CameraSamples } from './bag-images.ts';
import { MAX_NAME_BYTES, shownName } from './dataset-limits.ts';
import { DatasetError } from './dataset-types.ts';
import { queryRows, sqlIdent, sqlString } from './duckdb.ts';
import { errorText } from '../../../daemon/util/index.ts';

/**
 * A dataset feature from the lakehouse: `observation.state=/joint_states:position` (columns of a topic's
 * decoded projection) or `observation.images.front=/camera/image_raw` (a camera topic, no columns: a video).
 */
export interface FeatureMapping {
  key: string;
  /** A topic (its decoded projection, e.g. "/joint_states") or a table name. */
  relation: string;
  /** Empty for a camera. */
  columns: string[];
  /**
   * Joint names: each list column is read by name, through the relation's `name` column (a JointState's), in this
   * order, rather than in each message's own order. Absent: list elements in the order each row holds them.
   */
  joints?: string[];
}

/**
 * Parses `KEY=RELATION:col1,col2`, or `KEY=TOPIC` for a camera topic; what is wrong is said without the text, which
 * the caller names as it was given. A camera's key is its video's folder (videos/KEY/), so it must be one plain name:
 * a "/" or ".." would lead the video out of the dataset.
 */
export function parseFeatureMapping(text: string): FeatureMapping {
  const eq = text.indexOf('=');
  // ROS names have no ':', so a topic alone is KEY=TOPIC.
  const colon = text.lastIndexOf(':');
  if (eq > 0 && colon < eq && eq < text.length - 1) {
    const key = text.slice(0, eq);
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > MAX_NAME_BYTES)
      throw new DatasetError(
        `a camera's key is its video's folder in the dataset (videos/KEY/), and ${shownName(key)} is ${bytes} bytes, ` +
          `more than a file name may have (${MAX_NAME_BYTES}); give a shorter name such as observation.images.front`,
      );
    if (/[/\\\0]/.test(key) || key === '.' || key === '..')
      throw new DatasetError(
        `a camera's key is its video's folder in the dataset (videos/KEY/), and ${JSON.stringify(key)} is not one plain name: ` +
          `a "/" or ".." leads out of the dataset; give a name such as observation.images.front`,
      );
    return { key, relation: text.slice(eq + 1), columns: [] };
  }
  if (eq <= 0 || colon <= eq + 1 || colon === text.length - 1)
    throw new DatasetError('expected KEY=TOPIC:column[,column...], or KEY=TOPIC for a camera topic');
  return {
    key: text.slice(0, eq),
    relation: text.slice(eq + 1, colon),
    columns: text
      .slice(colon + 1)
      .split(',')
      .filter(Boolean),
  };
}

/** A numeric feature's samples: one vector of `dim` values per log time. */
export interface NumericSeries {
  kind: 'numeric';
  times: bigint[];
  values: Float32Array[];
  dim: number;
  /** Rows skipped because a column was NULL, and the time of the first. */
  nulls: { rows: number; column: string; firstNs: bigint } | null;
}

/** A camera feature's samples: their log times, the pixels left in the bags until they are encoded. */
export interface CameraSeries {
  kind: 'camera';
  times: bigint[];
  samples: CameraSamples;
}

export type Series = NumericSeries | CameraSeries;

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;

/** A feature's samples between `startNs` and `endNs`: a camera's from `messages`, any other from its topic's table. */
export async function readSeries(
  conn: DuckDBConnection,
  opened: OpenedLakehouse,
  f: FeatureMapping,
  startNs: bigint,
  endNs: bigint,
): Promise<Series> {
  if (f.columns.length > 0) return readNumericSeries(conn, opened, f, startNs, endNs);
  if (!opened.views)
    throw new DatasetError(
      `feature ${f.key}: a camera topic is read from the bags a daemon's lakehouse catalog indexes; give --db the catalog (<data_dir>/lakehouse/catalog.duckdb), or columns of a table, KEY=${f.relation}:COLUMN`,
    );
  // A topic as recorded (`/camera/image_raw`), or given without its leading slash.
  for (const topic of f.relation.startsWith('/') ? [f.relation] : [f.relation, `/${f.relation}`]) {
    const type = await cameraType(conn, f.key, topic);
    if (!type) continue;
    const samples = await readCameraSamples(conn, f.key, topic, type, startNs, endNs);
    return { kind: 'camera', times: samples.times, samples };
  }
  throw new DatasetError(
    `feature ${f.key}: the lakehouse has no messages on ${f.relation} (a feature without columns is a camera topic: auraison-edge query "SELECT DISTINCT topic, type FROM messages" lists what there is)`,
  );
}

/** Where the export reads the lakehouse's relations: `query`'s views, or a DuckDB file attached as `own`. */
export interface OpenedLakehouse {
  /** The prefix relations are read with: `""` (temporary views) or `own.`. */
  schema: string;
  /**
   * The lakehouse's views, each made when asked for (define): their `files` (what a retention pass may
   * delete under the export) and `warnings` (parquet files left out, unreadable) grow as they are made.
   * Absent for a DuckDB file that is not a daemon's catalog.
   */
  views?: LazyViews;
}

/**
 * Makes the lakehouse's relations readable on `conn`: the views `query` defines, made only when asked for,
 * or, for a DuckDB file that is not a daemon's catalog, the file itself attached as `own`.
 */
export async function openLakehouse(conn: DuckDBConnection, database: string): Promise<OpenedLakehouse> {
  try {
    return {
      schema: '',
      views: await openViews(conn, { catalog: database, tables: join(dirname(database), 'tables') }),
    };
  } catch (error) {
    // Another process holding the catalog: its message says which and what to do.
    if (error instanceof CatalogLockedError) throw new DatasetError(error.message);
    // Any other failure (a damaged file) is the user's to see.
    if (!/Table with name (bags|projections|event_files) does not exist/.test(errorText(error)))
      throw new DatasetError(`lakehouse catalog ${database}: ${errorText(error).split('\n')[0]}`);
  }
  await conn.run('DETACH DATABASE IF EXISTS catalog');
  await conn.run(`ATTACH ${sqlString(database)} AS own (READ_ONLY)`);
  return { schema: 'own.' };
}

/** The names a feature's relation may have: as given, without its leading `/`, and with `_` for `/`. */
export function relationNames(relation: string): string[] {
  return [...new Set([relation, relation.replace(/^\//, ''), relation.replace(/^\//, '').replaceAll('/', '_')])];
}

/** How many of the lakehouse's topics an error about a missing one lists. */
const TOPICS_LISTED = 12;

async function readNumericSeries(
  conn: DuckDBConnection,
  opened: OpenedLakehouse,
  f: FeatureMapping,
  startNs: bigint,
  endNs: bigint,
): Promise<NumericSeries> {
  const { schema } = opened;
  const candidates = relationNames(f.relation);
  let relation: string | undefined;
  let described: Record<string, unknown>[] = [];
  for (const c of candidates) {
    try {
      described = await queryRows(conn, `DESCRIBE ${schema}${sqlIdent(c)}`);
      relation = c;
      break;
    } catch (error) {
      // Not this name: try the next spelling. Anything else (a file of the view deleted under it) is thrown.
      if (!/does not exist/.test(errorText(error))) throw error;
    }
  }
  if (!relation) {
    const topics = (opened.views?.names ?? []).filter((name) => name.startsWith('/')).sort();
    // A lakehouse of imported test bags holds a hundred topics: name a few, and where to list them all.
    const listed =
      topics.length > TOPICS_LISTED
        ? `${topics.slice(0, TOPICS_LISTED).join(', ')} and ${topics.length - TOPICS_LISTED} more: auraison-edge query 'SELECT DISTINCT topic FROM messages'`
        : topics.join(', ');
    const known =
      schema === '' ? ` (its topics: ${topics.length > 0 ? listed : 'none yet; record or import a bag first'})` : '';
    throw new DatasetError(
      `feature ${f.key}: the lakehouse has no table or view ${candidates.map((c) => JSON.stringify(c)).join(' or ')}${known}`,
    );
  }
  const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
  const timeType = types.get('log_time');
  if (!timeType) throw new DatasetError(`feature ${f.key}: ${relation} has no log_time column`);
  for (const c of f.columns) {
    const t = types.get(c);
    if (!t)
      throw new DatasetError(
        `feature ${f.key}: ${relation} has no column "${c}" (columns: ${[...types.keys()].join(', ')})`,
      );
    const base = t.replace(/\[\d*\]$/, '');
    if (!NUMERIC.test(base)) {
      throw new DatasetError(
        `feature ${f.key}: column "${c}" of ${relation} is ${t}; only numbers and lists of numbers become features (a camera topic becomes a video: give it without columns, KEY=${f.relation})`,
      );
    }
  }
  if (f.joints) checkJointColumns(f, relation, types);
  const time = timeType.startsWith('TIMESTAMP') ? `epoch_ns(log_time)` : `CAST(log_time AS BIGINT)`;
  const selected = [...f.columns, ...(f.joints ? ['name'] : [])];
  const rows = await queryRows(
    conn,
    `SELECT ${time} AS t, ${selected.map((c) => sqlIdent(c)).join(', ')} FROM ${schema}${sqlIdent(relation)} WHERE ${time} BETWEEN ${startNs} AND ${endNs} ORDER BY t`,
  );
  const byName = f.joints ? jointPicker(f, f.joints, relation) : undefined;
  const times: bigint[] = [];
  const values: Float32Array[] = [];
  let dim = -1;
  let nulls: NumericSeries['nulls'] = null;
  for (const r of rows) {
    // Number(null) is 0: a NULL sample would be exported as a command of 0. Skip the row, and say so.
    const nullColumn = selected.find(
      (c) =>
        r[c] === null || r[c] === undefined || (Array.isArray(r[c]) && (r[c] as unknown[]).some((x) => x === null)),
    );
    if (nullColumn !== undefined) {
      if (nulls) nulls.rows++;
      else nulls = { rows: 1, column: nullColumn, firstNs: BigInt(r.t as bigint | number) };
      continue;
    }
    const flat = byName
      ? byName(r)
      : f.columns.flatMap((c) => {
          const v = r[c];
          return Array.isArray(v) ? v.map(Number) : [Number(v)];
        });
    if (flat === undefined) {
      // a JointState may leave velocity or effort empty: no value for the joint, as a NULL
      const column = f.columns.find((c) => (r[c] as unknown[]).length !== (r.name as unknown[]).length)!;
      if (nulls) nulls.rows++;
      else nulls = { rows: 1, column, firstNs: BigInt(r.t as bigint | number) };
      continue;
    }
    if (dim === -1) dim = flat.length;
    if (flat.length !== dim)
      throw new DatasetError(
        `feature ${f.key}: ${relation} rows have ${dim} and then ${flat.length} values; a feature has a fixed length`,
      );
    times.push(BigInt(r.t as bigint | number));
    values.push(Float32Array.from(flat));
  }
  if (rows.length === 0) {
    // Window times are hard to guess (log time is wall time, a sped-up sim packs minutes into seconds): say where the
    // data is.
    const [span] = await queryRows(
      conn,
      `SELECT min(${time}) AS first, max(${time}) AS last FROM ${schema}${sqlIdent(relation)}`,
    );
    const has =
      span?.first === null || span?.first === undefined
        ? `${relation} has no rows at all`
        : `its rows run from ${nsText(BigInt(span.first as bigint))} to ${nsText(BigInt(span.last as bigint))}`;
    throw new DatasetError(
      `feature ${f.key}: ${relation} has no rows between ${nsText(startNs)} and ${nsText(endNs)}; ${has}: give a window inside that`,
    );
  }
  if (times.length === 0)
    throw new DatasetError(
      `feature ${f.key}: every row of ${relation} between ${startNs} and ${endNs} has column "${nulls!.column}" NULL`,
    );
  return { kind: 'numeric', times, values, dim, nulls };
}

/** A feature read by joint name needs the relation's `name` list and list columns beside it. */
function checkJointColumns(f: FeatureMapping, relation: string, types: Map<string, string>): void {
  if (!types.get('name')?.endsWith('[]'))
    throw new DatasetError(
      `feature ${f.key}: --joints reads ${relation}'s list columns by joint name, and it has no list column "name" (a sensor_msgs/msg/JointState has one)`,
    );
  const single = f.columns.find((c) => !types.get(c)!.endsWith('[]'));
  if (single !== undefined)
    throw new DatasetError(
      `feature ${f.key}: --joints picks joints from list columns, and "${single}" of ${relation} is one value a row`,
    );
}

/**
 * Reads a row's list columns by joint name: each column's values of `joints`, in that order, column after column.
 * Undefined for a row whose list of a column is not one value per name (a JointState's empty velocity); a message
 * without one of the joints is an error naming it, as a feature cannot leave a joint out.
 */
function jointPicker(f: FeatureMapping, joints: string[], relation: string) {
  return (row: Record<string, unknown>): number[] | undefined => {
    const names = row.name as string[];
    const at = joints.map((joint) => {
      const i = names.indexOf(joint);
      if (i === -1)
        throw new DatasetError(
          `feature ${f.key}: the message of ${relation} at ${nsText(BigInt(row.t as bigint | number))} has no joint "${joint}" (its joints: ${names.join(', ')})`,
        );
      return i;
    });
    if (f.columns.some((c) => (row[c] as unknown[]).length !== names.length)) return undefined;
    return f.columns.flatMap((c) => at.map((i) => Number((row[c] as unknown[])[i])));
  };
}
