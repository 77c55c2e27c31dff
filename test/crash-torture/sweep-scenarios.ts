// Scenarios for sweep.ts: a base data dir, the step each scenario runs (in sweep-child.ts, which dies at a
// chosen file-system change), and the "next start" that must cope with what the crash left.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { bagInfo } from '../../daemon/bags/bag-info.ts';
import { formatMetadata, parseMetadata } from '../../daemon/bags/metadata.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LakehouseConfig, RecorderConfig, RetentionConfig } from '../../daemon/config/sections/bags.ts';
import { newId } from '../../daemon/util/ids.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { lakehousePaths } from '../../daemon/lakehouse/catalog.ts';
import { compactLakehouse } from '../../daemon/lakehouse/compaction.ts';
import { indexEvents } from '../../daemon/lakehouse/events-indexer.ts';
import { importBag } from '../../daemon/lakehouse/importer.ts';
import { Lakehouse } from '../../daemon/lakehouse/lakehouse.ts';
import { queryLakehouse } from '../../daemon/lakehouse/query.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { repairBag } from '../../daemon/recorder/repair.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { catalogSnapshot, deadStaging, diskBags, RECORDING } from './checks.ts';
import { errorText } from '../../daemon/util/index.ts';
import { waitFor } from '../helpers/wait.ts';

const registry = new DefinitionsRegistry();
const silent = pino({ level: 'silent' });
const DEAD_PID = 2 ** 22 - 7; // above pid_max's default: never a live process

interface BaseInfo {
  /** max_bytes for the retention scenario: about half the data. */
  retentionBytes: number;
  openBag: string;
  unindexed: string;
}

const info = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'sweep.json'), 'utf8')) as BaseInfo;

async function appendEvents(journal: DurableJournal, n: number): Promise<void> {
  const run = newId();
  for (let i = 0; i < n; i++)
    await journal.append('agent_event', {
      event_id: newId(),
      run_id: run,
      kind: 'tool.call',
      ts: String(BigInt(Date.now()) * 1_000_000n),
      payload: { i },
    });
}

/** Resolves once the wall clock's second has changed. */
async function nextSecond(): Promise<void> {
  const second = Math.floor(Date.now() / 1000);
  await waitFor(() => Math.floor(Date.now() / 1000) > second, 'the next second');
}

/**
 * Three recorded bags: two closed and indexed (but the last split of the second, finished and not indexed),
 * and one left open by a killed recorder (its last split cut short, unlisted, its .recording marker naming
 * a dead pid); a journal with agent events, some indexed; a staging dir of a dead writer.
 */
export async function buildBase(dataDir: string): Promise<void> {
  const a = await recordSmallBag(dataDir, registry, 320);
  await nextSecond(); // a bag directory's name has the second in it
  const b = await recordSmallBag(dataDir, registry, 320);
  await nextSecond();
  const c = await recordSmallBag(dataDir, registry, 240);
  for (const f of a.files)
    await importBag({ path: a.bag, only: [f], dataDir, robot: 'r1', registry, source: 'recorder' });
  for (const f of b.files.slice(0, -1))
    await importBag({ path: b.bag, only: [f], dataDir, robot: 'r1', registry, source: 'recorder' });
  for (const f of c.files.slice(0, -1))
    await importBag({ path: c.bag, only: [f], dataDir, robot: 'r1', registry, source: 'recorder' });
  // Bag c as a recorder killed mid-split leaves it.
  const last = c.files.at(-1)!;
  truncateSync(last, Math.floor(statSync(last).size * 0.7));
  const metaPath = join(c.bag, 'metadata.yaml');
  const meta = parseMetadata(readFileSync(metaPath, 'utf8'), metaPath);
  const name = last.slice(c.bag.length + 1);
  meta.files = meta.files.filter((f) => f.path !== name);
  meta.relativeFilePaths = meta.relativeFilePaths.filter((p) => p !== name);
  writeFileSync(metaPath, formatMetadata(meta));
  writeFileSync(join(c.bag, RECORDING), `${DEAD_PID}\n`);
  const journal = new DurableJournal({ dir: join(dataDir, 'log'), fsync: 'never' });
  await appendEvents(journal, 40);
  await indexEvents({ journal, dataDir, robot: 'r1' });
  await appendEvents(journal, 25);
  await journal.close();
  mkdirSync(join(lakehousePaths(dataDir).staging, `${DEAD_PID}-${newId()}`, 'x'), { recursive: true });
  const bagBytes = diskBags(dataDir)
    .flatMap((d) => d.mcaps)
    .reduce((n, f) => n + statSync(f).size, 0);
  writeFileSync(
    join(dataDir, 'sweep.json'),
    JSON.stringify({
      retentionBytes: Math.floor(bagBytes / 2),
      openBag: c.bag,
      unindexed: b.files.at(-1)!,
    } satisfies BaseInfo),
  );
}

const retentionSettings = (maxBytes: number) => ({
  ...(Value.Default(RetentionConfig, {}) as {
    enabled: boolean;
    max_bytes: number;
    max_age_hours: number;
    allow_unsynced_delete: boolean;
    check_interval_s: number;
  }),
  enabled: true,
  max_bytes: maxBytes,
});

/** The step a scenario runs (in the child that dies at a chosen file-system change). */
export async function runScenario(name: string, dataDir: string): Promise<void> {
  const base = info(dataDir);
  switch (name) {
    case 'retention':
      await applyRetention({ dataDir, settings: retentionSettings(base.retentionBytes), syncRequired: false });
      return;
    case 'import':
      await importBag({
        path: join(base.unindexed, '..'),
        only: [base.unindexed],
        dataDir,
        robot: 'r1',
        registry,
        source: 'recorder',
      });
      return;
    case 'events': {
      const journal = new DurableJournal({ dir: join(dataDir, 'log'), fsync: 'never' });
      await indexEvents({ journal, dataDir, robot: 'r1' });
      await journal.close();
      return;
    }
    case 'compaction':
      await compactLakehouse({ dataDir, afterS: 0, maxBytes: 256 * 1024 * 1024 });
      return;
    case 'repair':
      await repairBag(base.openBag, { ownMetadata: true });
      return;
    case 'record':
      await record(dataDir);
      return;
    case 'start':
      await restart(dataDir, { retention: false });
      return;
    case 'start-retention':
      await restart(dataDir, { retention: true });
      return;
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

/**
 * The daemon's recording path: a lakehouse (retention off) and a recorder with small splits and bags of
 * two splits, which indexes each split as it closes; 400 messages, then both stop.
 */
async function record(dataDir: string): Promise<void> {
  const bus = new Bus();
  const journal = new DurableJournal({ dir: join(dataDir, 'log'), fsync: 'never' });
  const settings = Value.Default(LakehouseConfig, {}) as never;
  const retention = { ...retentionSettings(0), enabled: false } as never;
  let recorder: Recorder | undefined;
  const lakehouse = new Lakehouse({
    dataDir,
    robot: 'r1',
    definitions: registry,
    log: silent,
    journal,
    settings,
    retention,
    syncRequired: false,
    recording: () => recorder?.active() ?? { files: [], bags: [], closing: [] },
  });
  const recSettings = {
    ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
    enabled: true,
    min_free_bytes: 0,
    compression: 'none' as const,
    chunk_size_bytes: 2048,
    split_max_bytes: 20_000,
    bag_max_splits: 2,
  };
  recorder = new Recorder({
    bus,
    definitions: registry,
    log: silent,
    bagsDir: join(dataDir, 'bags'),
    settings: recSettings,
    onSplitClosed: (f, b) => lakehouse.indexRecordedSplit(f, b),
  });
  await lakehouse.start();
  await recorder.start();
  const pub = bus.advertise('/chatter', 'std_msgs/msg/String', { source: 'test' });
  const codec = new MessageCodec(registry);
  for (let i = 0; i < 400; i++) {
    pub.publish(codec.encode('std_msgs/msg/String', { data: `${i} `.padEnd(200, '.') }));
    if (i % 20 === 19) await recorder.flush();
  }
  await recorder.close();
  await lakehouse.idle();
  await lakehouse.close();
  await journal.close();
  bus.close();
}

/**
 * What the daemon's next start does with the bags and the lakehouse: the lakehouse starts (staging swept,
 * orphans deleted, missing files forgotten, unindexed splits indexed, a retention pass, an events flush),
 * the recorder starts (bags left open repaired, their splits indexed) and stops; then both stop.
 */
export async function restart(dataDir: string, options: { retention: boolean }): Promise<void> {
  const bus = new Bus();
  const journal = new DurableJournal({ dir: join(dataDir, 'log'), fsync: 'never' });
  const settings = {
    ...(Value.Default(LakehouseConfig, {}) as never as Record<string, unknown>),
    compact_after_s: 0,
  } as never;
  const retention = { ...retentionSettings(info(dataDir).retentionBytes), enabled: options.retention } as never;
  let recorder: Recorder | undefined;
  const lakehouse = new Lakehouse({
    dataDir,
    robot: 'r1',
    definitions: registry,
    log: silent,
    journal,
    settings,
    retention,
    syncRequired: false,
    recording: () => recorder?.active() ?? { files: [], bags: [], closing: [] },
  });
  const recSettings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
  recorder = new Recorder({
    bus,
    definitions: registry,
    log: silent,
    bagsDir: join(dataDir, 'bags'),
    settings: recSettings,
    onSplitClosed: (f, b) => lakehouse.indexRecordedSplit(f, b),
  });
  await lakehouse.start();
  await recorder.start();
  await lakehouse.idle();
  await recorder.close();
  await lakehouse.idle();
  await lakehouse.close();
  await journal.close();
  bus.close();
}

export interface State {
  segments: string[];
  messages: number;
  eventRows: number;
  eventRowsAll: number;
  bags: string[];
}

/** Invariants of a data dir after a start, and its state (to compare with a run that did not crash). */
export async function check(dataDir: string): Promise<{ problems: string[]; state: State }> {
  const problems: string[] = [];
  const snap = await catalogSnapshot(dataDir);
  problems.push(...snap.problems);
  const dead = deadStaging(dataDir);
  if (dead.length > 0) problems.push(`staging dirs of dead writers: ${dead.join(', ')}`);
  const bags: string[] = [];
  for (const b of diskBags(dataDir)) {
    if (b.recording) problems.push(`${b.dir}: .recording marker left`);
    if (!b.listed) problems.push(`${b.dir}: no readable metadata.yaml`);
    for (const s of b.listed ?? [])
      if (!existsSync(s.file)) problems.push(`${b.dir}: metadata.yaml lists ${s.file}, which is not there`);
    if (b.mcaps.length === 0) problems.push(`${b.dir}: a bag directory with no split`);
    try {
      const i = await bagInfo(b.dir);
      if (i.warnings.length > 0) problems.push(`bag info ${b.dir}: ${i.warnings.join('; ')}`);
      if (i.messageCount > 0) bags.push(`${b.dir.slice(b.dir.lastIndexOf('/') + 1)}: ${i.messageCount}`);
    } catch (error) {
      problems.push(`bag info ${b.dir}: ${errorText(error)}`);
    }
    for (const s of b.listed ?? [])
      if (s.messages > 0 && existsSync(s.file) && !snap.segments.has(s.file))
        problems.push(`${s.file}: finished, not indexed`);
    for (const f of readdirSync(b.dir))
      if (f.endsWith('.tmp') || f.endsWith('.repairing')) problems.push(`${b.dir}: leftover ${f}`);
  }
  const q = await queryLakehouse(
    dataDir,
    'SELECT (SELECT count(*) FROM messages)::BIGINT, (SELECT coalesce(sum(message_count), 0) FROM bags)::BIGINT',
  );
  const [n, m] = q.rows[0]!.map(Number);
  if (n !== m) problems.push(`count(*) FROM messages ${n} != sum(message_count) ${m}`);
  const ev = await queryLakehouse(
    dataDir,
    'SELECT count(*)::BIGINT, count(DISTINCT event_id)::BIGINT FROM events',
  ).catch(() => undefined);
  if (ev && Number(ev.rows[0]![0]) !== Number(ev.rows[0]![1]))
    problems.push(`events indexed twice: ${Number(ev.rows[0]![0]) - Number(ev.rows[0]![1])}`);
  const state: State = {
    segments: [...snap.segments.keys()].map((p) => p.slice(dataDir.length + 1)).sort(),
    messages: n!,
    eventRows: Number(ev?.rows[0]![0] ?? 0),
    eventRowsAll: snap.eventRowsAll,
    bags: bags.sort(),
  };
  return { problems, state };
}
