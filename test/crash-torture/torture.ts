// Crash torture: runs the real daemon (sim, recorder with small splits, lakehouse, retention, agent intents
// over HTTP) on one data dir, SIGKILLs it at seeded random moments, starts it again, and checks invariants.
//
//   npx tsx test/crash-torture/torture.ts --seed 1 --rounds 20 [--fsync always|interval|never]
//     [--retention on|off] [--bag-max-splits N] [--max-delay-ms 6000] [--dir DIR] [--speed 10]
//
// Prints one line per round and a summary; writes each daemon's log to DIR/logs/round-N.log.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { main } from '../../daemon/cli/main.ts';
import { seededRandom } from '../../daemon/util/seeded-random.ts';
import { within } from '../../daemon/util/timeout.ts';
import { generateMaze, DEFAULT_MAZE_SEED } from '../../sim/turtlebot-maze/maze.ts';
import { BIN } from '../helpers/cli.ts';
import { catalogSnapshot, deadStaging, diskBags, journalProblems, RECORDING, type CatalogSnapshot } from './checks.ts';
import { errorText } from '../../daemon/util/index.ts';

const { values: opt } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '10' },
    fsync: { type: 'string', default: 'always' },
    retention: { type: 'string', default: 'on' },
    'bag-max-splits': { type: 'string', default: '1000' },
    'max-delay-ms': { type: 'string', default: '6000' },
    'split-bytes': { type: 'string', default: '300000' },
    speed: { type: 'string', default: '10' },
    'compact-after-s': { type: 'string', default: '3600' },
    dir: { type: 'string' },
    'stop-on-failure': { type: 'boolean', default: false },
    // Kill points: `time` (uniform delay), or a file event it waits for, then 0-30 ms (see TRIGGERS).
    triggers: { type: 'string', default: 'time,staging,tables,bags,wal,journal' },
  },
});

const seed = Number(opt.seed);
const rounds = Number(opt.rounds);
const maxDelay = Number(opt['max-delay-ms']);
const retentionOn = opt.retention === 'on';

const random = seededRandom(seed); // seeded, so a failing round can be run again
const intentRandom = seededRandom(seed ^ 0x9e3779b9);

const work = opt.dir ?? mkdtempSync(join(tmpdir(), `crash-torture-${seed}-`));
mkdirSync(join(work, 'logs'), { recursive: true });
const dataDir = join(work, 'data');
const configPath = join(work, 'edge.yaml');
writeFileSync(
  configPath,
  stringify({
    data_dir: './data',
    log: { level: 'info' },
    sim: { enabled: true, speed: Number(opt.speed) },
    journal: { fsync: opt.fsync },
    recorder: {
      enabled: true,
      split_max_bytes: Number(opt['split-bytes']),
      flush_interval_ms: 200,
      bag_max_splits: Number(opt['bag-max-splits']),
      min_free_bytes: 0,
    },
    lakehouse: { events_flush_s: 0.5, compact_after_s: Number(opt['compact-after-s']) },
    retention: { enabled: retentionOn, max_bytes: 4 * 1024 * 1024, check_interval_s: 1 },
    api: { port: 0 },
    foxglove: { enabled: false },
  }),
);
const poses = Object.entries(generateMaze({ seed: DEFAULT_MAZE_SEED }).namedPoses).filter(
  ([name]) => name !== 'closet',
);

console.log(
  `crash torture: seed ${seed}, ${rounds} rounds, fsync ${opt.fsync}, retention ${opt.retention}, bag_max_splits ${opt['bag-max-splits']}, compact_after_s ${opt['compact-after-s']}, triggers ${opt.triggers}, dir ${work}`,
);

type Log = Record<string, unknown>;
class Daemon {
  logs: Log[] = [];
  child: ChildProcess;
  exited: Promise<void>;
  constructor(round: number) {
    this.child = spawn(process.execPath, [BIN, 'run', '--config', configPath], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const file = join(work, 'logs', `round-${round}.log`);
    let buf = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      appendFileSync(file, d);
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        try {
          this.logs.push(JSON.parse(l) as Log);
        } catch {
          this.logs.push({ msg: l, level: 60 });
        }
      }
    });
    this.exited = new Promise((r) => this.child.on('exit', () => r()));
  }
  async kill() {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

// Crash torture (not in the suite): kills at random moments are the point.
// eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline)
      throw new Error(`timed out (${timeoutMs} ms) waiting for ${what}${last ? `: ${errorText(last)}` : ''}`);
    await sleep(200);
  }
}

function apiUrl(pid: number): string | undefined {
  try {
    const f = JSON.parse(readFileSync(join(dataDir, 'run', 'api.json'), 'utf8')) as { url: string; pid: number };
    return f.pid === pid ? f.url : undefined;
  } catch {
    return undefined;
  }
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args[0] === 'bag' ? args : [...args, '--config', configPath], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: process.env,
    cwd: work,
  });
  return { code, stdout, stderr };
}

// Allowed reasons for a degraded component that are not a crash's leftovers.
const ALLOWED_DEGRADED = [/no model endpoint|no endpoint|System 2 unavailable|llm/i];

interface Acked {
  intent_id: string;
  run_id: string;
  round: number;
}

let acked: Acked[] = [];
let prev: CatalogSnapshot | undefined;
const failures: string[] = [];
const reported = new Set<string>();
const suspicious = new Map<string, number>();
let checkedRounds = 0;
let retentionDeletedSegments = 0;

async function currentBag(url: string): Promise<string | undefined> {
  const s = (await (await fetch(`${url}/status`)).json()) as {
    components: { recorder?: { details?: { bag?: string } } };
  };
  return s.components.recorder?.details?.bag ?? undefined;
}

async function checkAfterRestart(
  round: number,
  d: Daemon,
  url: string,
  preBags: ReturnType<typeof diskBags>,
): Promise<string[]> {
  const problems: string[] = [];
  const pid = d.child.pid!;
  // 1. healthy (or degraded only for allowed reasons)
  const status = await until('components running', 60_000, async () => {
    const s = (await (await fetch(`${url}/status`)).json()) as {
      components: Record<string, { state: string; reason?: string }>;
    };
    const bad = Object.entries(s.components).filter(
      ([, h]) =>
        h.state !== 'running' && !(h.state === 'degraded' && ALLOWED_DEGRADED.some((r) => r.test(h.reason ?? ''))),
    );
    return bad.length === 0 ? s : undefined;
  }).catch(async (e: Error) => {
    const s = await (await fetch(`${url}/status`)).json().catch(() => ({}));
    problems.push(`not healthy: ${e.message}: ${JSON.stringify((s as { components?: unknown }).components)}`);
    return undefined;
  });
  const recBag = (status?.components.recorder as { details?: { bag?: string } } | undefined)?.details?.bag ?? undefined;
  // 2. staging of dead pids
  const dead = deadStaging(dataDir);
  if (dead.length > 0) problems.push(`staging dirs of dead writers: ${dead.join(', ')}`);
  // 3. catalog: listed files exist, no orphans (after the lakehouse's start job ran: poll)
  let snap: CatalogSnapshot | undefined;
  try {
    snap = await until('catalog consistent', 30_000, async () => {
      const s = await catalogSnapshot(dataDir);
      return s.problems.length === 0 ? s : undefined;
    });
  } catch (e) {
    problems.push(`catalog: ${errorText(e)}`);
    snap = await catalogSnapshot(dataDir).catch(
      (err: Error) => (problems.push(`catalog does not open: ${err.message}`), undefined),
    );
    if (snap) problems.push(...snap.problems);
  }
  // 4. query works; the count matches the catalog's segments
  const q = await cli('query', 'SELECT count(*) AS n FROM messages', '--json');
  if (q.code !== 0) problems.push(`query failed (${q.code}): ${q.stderr.trim()}`);
  const count = q.code === 0 ? Number((JSON.parse(q.stdout) as { rows: unknown[][] }).rows[0]![0]) : -1;
  // 5. segments that vanished: only with their split gone from disk (retention); messages never go down otherwise
  if (snap && prev) {
    let vanished = 0;
    for (const [path, n] of prev.segments) {
      if (snap.segments.has(path)) continue;
      if (existsSync(path)) {
        // Not necessarily lost: the start may index it again. Checked below (every finished split gets indexed).
        continue;
      }
      if (!retentionOn) problems.push(`segment ${path} (${n} messages) vanished with retention off`);
      vanished += n;
      retentionDeletedSegments++;
    }
    if (count >= 0 && count < prev.messages - vanished) {
      // Splits still on disk and not yet re-indexed are checked below; here count what is gone for good.
      const pending = [...prev.segments]
        .filter(([p]) => !snap!.segments.has(p) && existsSync(p))
        .reduce((a, [, n]) => a + n, 0);
      if (count < prev.messages - vanished - pending)
        problems.push(
          `messages went down: ${prev.messages} -> ${count} (retention deleted ${vanished}, ${pending} waiting to be indexed again)`,
        );
    }
  }
  // 6. every finished split that was on disk before the start is indexed (or deleted by retention)
  const wanted = () => {
    const out: string[] = [];
    for (const b of diskBags(dataDir)) {
      if (!preBags.some((p) => p.dir === b.dir)) continue; // a bag of this process
      if (b.recording) continue;
      for (const s of b.listed ?? []) if (s.messages > 0 && existsSync(s.file)) out.push(s.file);
    }
    return out;
  };
  try {
    await until('every finished split indexed', 60_000, async () => {
      const s = await catalogSnapshot(dataDir);
      const missing = wanted().filter((f) => !s.segments.has(f) && existsSync(f));
      return missing.length === 0 ? true : undefined;
    });
  } catch (e) {
    const s = await catalogSnapshot(dataDir).catch(() => undefined);
    problems.push(
      `${errorText(e)}: not indexed: ${wanted()
        .filter((f) => !s?.segments.has(f))
        .join(', ')}`,
    );
  }
  // The table's rows against the catalog's counts, in one query (one copy of the catalog): retention and
  // indexing change both meanwhile.
  const both = await cli(
    'query',
    'SELECT (SELECT count(*) FROM messages) AS n, (SELECT sum(message_count) FROM bags) AS m',
    '--json',
  );
  if (both.code === 0) {
    const [n, m] = (JSON.parse(both.stdout) as { rows: unknown[][] }).rows[0]!.map(Number);
    if (n !== m) problems.push(`count(*) FROM messages is ${n}, the catalog's message_count sum ${m}`);
  } else problems.push(`query failed (${both.code}): ${both.stderr.trim()}`);
  // 7. bag info on every bag dir but the one being recorded; no .recording marker but on that one
  for (const b of diskBags(dataDir)) {
    if (b.dir === recBag) continue;
    if (b.recording) {
      // A bag being closed after a rotation holds its marker for a moment, and the recorder may have rotated
      // into this one since the status above.
      const t = performance.now();
      let now = await currentBag(url);
      while (b.dir !== now && existsSync(join(b.dir, RECORDING)) && performance.now() - t < 20_000) {
        await sleep(250);
        now = await currentBag(url);
      }
      if (b.dir === now) continue;
      if (existsSync(join(b.dir, RECORDING)))
        problems.push(`.recording marker left on ${b.dir} for 20 s (the recorder writes ${now})`);
      else if (performance.now() - t > 2000)
        console.log(`  (.recording marker of ${b.dir} went after ${Math.round(performance.now() - t)} ms)`);
    }
    let info = await cli('bag', 'info', b.dir);
    // Retention may delete a split between metadata.yaml's read and the file's stat: look again.
    if (info.code !== 0 && /ENOENT/.test(info.stderr)) {
      console.log(`  (bag info raced a deletion: ${info.stderr.trim().slice(0, 300)})`);
      await sleep(500);
      info = await cli('bag', 'info', b.dir);
    }
    if (info.code !== 0 && existsSync(b.dir))
      problems.push(`bag info ${b.dir} exit ${info.code}: ${info.stderr.trim().slice(0, 400)}`);
  }
  // 8. runs acked before the kill are listed, terminal or resumable
  for (const a of acked) {
    const r = await fetch(`${url}/runs/${a.run_id}`);
    if (r.status !== 200) {
      problems.push(`run ${a.run_id} (acked in round ${a.round}) not found: HTTP ${r.status}`);
      continue;
    }
    const { run } = (await r.json()) as { run: { status: string } };
    if (!['succeeded', 'failed', 'cancelled', 'interrupted', 'awaiting_approval'].includes(run.status))
      problems.push(`run ${a.run_id} (acked in round ${a.round}) is ${run.status} after the restart`);
  }
  const listed = await cli('runs', '--json', '--limit', '1000');
  if (listed.code !== 0) problems.push(`runs failed: ${listed.stderr}`);
  else {
    const ids = new Set((JSON.parse(listed.stdout) as { runs: { run_id: string }[] }).runs.map((r) => r.run_id));
    const missing = acked.filter((a) => !ids.has(a.run_id));
    if (missing.length > 0)
      problems.push(`runs does not list ${missing.length} acked run(s): ${missing.map((m) => m.run_id).join(', ')}`);
  }
  // 9. events: no event indexed twice; the catalog's row counts agree with the table and the journal
  const ev = await cli('query', 'SELECT count(*), count(DISTINCT event_id) FROM events', '--json');
  if (ev.code === 0) {
    const [n, distinct] = (JSON.parse(ev.stdout) as { rows: number[][] }).rows[0]!.map(Number);
    if (n !== distinct) problems.push(`events: ${n! - distinct!} event(s) indexed twice`);
  } else if (!/events/.test(ev.stderr) || !/not exist|no such|Catalog Error/i.test(ev.stderr))
    problems.push(`events query failed: ${ev.stderr.trim()}`);
  const j = journalProblems(dataDir);
  if (snap) {
    const journalEvents = j.agentEvents.filter((e) => e.seq <= snap!.eventsLastSeq).length;
    if (journalEvents !== snap.eventRowsAll && !retentionOn)
      problems.push(
        `events: the journal holds ${journalEvents} agent events up to seq ${snap.eventsLastSeq}; event_files rows sum to ${snap.eventRowsAll}`,
      );
  }
  // 10. the start's log: errors
  const errors = new Map<string, number>();
  for (const l of d.logs) {
    if (typeof l.level === 'number' && l.level >= 50) {
      const key = `${String(l.msg).slice(0, 120)}: ${String(l.err ?? '').slice(0, 300)}`;
      suspicious.set(key, (suspicious.get(key) ?? 0) + 1);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  for (const [key, n] of errors) problems.push(`error logged${n > 1 ? ` x${n}` : ''}: ${key}`);
  void pid;
  if (snap) prev = (await catalogSnapshot(dataDir).catch(() => snap)) ?? snap;
  return problems;
}

/** With the daemon killed: `status` says it is not running, and `runs` (from the journal) lists every acked run. */
async function offlineChecks(): Promise<string[]> {
  const problems: string[] = [];
  const status = await cli('status', '--json');
  if (status.code !== 1)
    problems.push(
      `status with the daemon killed: exit ${status.code}: ${status.stdout.slice(0, 300)}${status.stderr.slice(0, 300)}`,
    );
  const runs = await cli('runs', '--json', '--limit', '100000');
  if (runs.code !== 0) problems.push(`runs from the journal: exit ${runs.code}: ${runs.stderr.slice(0, 500)}`);
  else {
    const body = JSON.parse(runs.stdout) as {
      source: string;
      runs: { run_id: string }[];
      skipped?: unknown[];
      unreadable?: unknown[];
    };
    const ids = new Set(body.runs.map((r) => r.run_id));
    const missing = acked.filter((a) => !ids.has(a.run_id));
    if (missing.length > 0)
      problems.push(
        `runs (journal, daemon killed) does not list ${missing.length} acked run(s): ${missing.map((m) => m.run_id).join(', ')}`,
      );
    const unreadable = (body.unreadable ?? []).filter((u) => !/torn record/.test(JSON.stringify(u)));
    if ((body.skipped?.length ?? 0) > 0 || unreadable.length > 0)
      problems.push(
        `runs (journal): skipped ${JSON.stringify(body.skipped).slice(0, 300)} unreadable ${JSON.stringify(body.unreadable).slice(0, 300)}`,
      );
  }
  return problems;
}

/**
 * Submits intents until `done()`; each acknowledged (2xx) one is remembered. Its own RNG: the kill's choices stay
 * reproducible.
 */
async function submitIntents(url: string, round: number, done: () => boolean): Promise<void> {
  while (!done()) {
    const stop = intentRandom() < 0.2;
    const [, pose] = poses[Math.floor(intentRandom() * poses.length)]!;
    const body = stop ? { type: 'stop' } : { type: 'navigate_to', params: { x: pose.x, y: pose.y } };
    try {
      const r = await fetch(`${url}/intents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (r.status >= 300) console.log(`  intent refused: HTTP ${r.status} ${await r.text()}`);
      if (r.status >= 200 && r.status < 300) {
        const { run } = (await r.json()) as { run: { run_id: string; intent_id: string } };
        acked.push({ intent_id: run.intent_id, run_id: run.run_id, round });
      }
    } catch {
      return; // the kill came
    }
    await sleep(150 + intentRandom() * 600);
  }
}

/**
 * File events a kill may follow (then 0-30 ms): a staging dir made (an events flush or an import began), a
 * parquet file moved into tables/ (a commit in progress), a bag file (a split opened or closed, a
 * metadata.yaml rename), the catalog's write-ahead log touched (a catalog write), a journal segment written.
 */
const TRIGGERS: Record<string, { dir: string; recursive: boolean; match: (name: string) => boolean }> = {
  staging: { dir: join(dataDir, 'lakehouse', 'staging'), recursive: false, match: () => true },
  tables: { dir: join(dataDir, 'lakehouse', 'tables'), recursive: true, match: (n) => n.endsWith('.parquet') },
  bags: {
    dir: join(dataDir, 'bags'),
    recursive: true,
    match: (n) => n.endsWith('.mcap') || n.includes('metadata.yaml') || n.includes('.recording'),
  },
  wal: { dir: join(dataDir, 'lakehouse'), recursive: false, match: (n) => n.startsWith('catalog.duckdb') },
  journal: { dir: join(dataDir, 'log'), recursive: false, match: (n) => n.endsWith('.log') },
};
const triggerNames = opt.triggers!.split(',');

/** Resolves at the `nth` event of `trigger` (or after `fallbackMs`); says what it waited for. */
async function waitForTrigger(
  trigger: string,
  nth: number,
  fallbackMs: number,
  exited: Promise<void>,
): Promise<string> {
  const t = TRIGGERS[trigger]!;
  let watcher: FSWatcher | undefined;
  let seen = 0;
  let what = `no ${trigger} event within ${fallbackMs} ms`;
  try {
    const event = new Promise<void>((resolve) => {
      try {
        watcher = watch(t.dir, { recursive: t.recursive }, (event, name) => {
          if (name && t.match(String(name)) && ++seen >= nth) {
            what = `${event} ${name}`;
            resolve();
          }
        });
      } catch {
        // no such dir yet: the fallback delay
      }
    });
    await within(Promise.race([event, exited]), fallbackMs);
  } finally {
    watcher?.close();
  }
  return what;
}

for (let round = 0; round < rounds; round++) {
  const preBags = diskBags(dataDir);
  const preJournal = journalProblems(dataDir);
  const roundProblems: string[] = [...preJournal.problems.map((p) => `journal before restart: ${p}`)];
  if (round > 0) roundProblems.push(...(await offlineChecks()));
  const t0 = performance.now();
  const d = new Daemon(round);
  const startupKill = round > 0 && random() < 0.2;
  const delay = Math.round(startupKill ? 1200 + random() * 4000 : random() * maxDelay);
  let what: string;
  let kill = '';
  if (startupKill) {
    // Half of them at a file event of the start's own work (repairs, the catalog's setup, compaction).
    const trigger = random() < 0.5 ? ['bags', 'tables', 'wal', 'staging'][Math.floor(random() * 4)]! : undefined;
    if (trigger) {
      const nth = 1 + Math.floor(random() * 3);
      const after = Math.round(random() * 20);
      const event = await waitForTrigger(trigger, nth, 8000, d.exited);
      await sleep(after);
      what = `killed ${after} ms after ${trigger} event #${nth} (${event}), ${Math.round(performance.now() - t0)} ms after spawn (startup)`;
    } else {
      await within(d.exited, delay);
      what = `killed ${delay} ms after spawn (startup)`;
    }
    await d.kill();
  } else {
    let url: string | undefined;
    try {
      url = await until('daemon running', 90_000, () =>
        d.logs.some((l) => l.msg === 'daemon running') ? apiUrl(d.child.pid!) : undefined,
      );
    } catch (e) {
      roundProblems.push(
        `start: ${errorText(e)}; log: ${d.logs
          .filter((l) => (l.level as number) >= 40)
          .map((l) => JSON.stringify(l))
          .join('\n')
          .slice(0, 3000)}`,
      );
    }
    const runningMs = Math.round(performance.now() - t0);
    if (url) {
      if (round > 0) {
        roundProblems.push(...(await checkAfterRestart(round, d, url, preBags)));
        checkedRounds++;
      } else {
        prev = await catalogSnapshot(dataDir).catch(() => undefined);
      }
      acked = acked.filter((a) => a.round >= round - 3); // keep recent ones (keep_finished_runs bounds the API)
      const trigger = triggerNames[Math.floor(random() * triggerNames.length)]!;
      const nth = 1 + Math.floor(random() * 8);
      const after = Math.round(random() * 30);
      const loadStart = performance.now();
      let loadDone = false;
      const load = submitIntents(url, round, () => loadDone || d.child.exitCode !== null);
      if (trigger === 'time') {
        await within(d.exited, delay);
        kill = `killed ${delay} ms into the load`;
      } else {
        const event = await waitForTrigger(trigger, nth, maxDelay * 2, d.exited);
        await sleep(after);
        kill = `killed ${after} ms after ${trigger} event #${nth} (${event}), ${Math.round(performance.now() - loadStart)} ms into the load`;
      }
      loadDone = true;
      void load;
    }
    if (d.child.exitCode !== null) roundProblems.push(`daemon exited by itself (code ${d.child.exitCode})`);
    await d.kill();
    what = `running after ${runningMs} ms, ${kill} (${acked.filter((a) => a.round === round).length} intents acked)`;
  }
  const count = prev ? prev.messages : 0;
  // A problem seen in an earlier round (a bag left broken stays broken) is counted, not printed again.
  const fresh = roundProblems.filter((p) => !reported.has(p));
  for (const p of roundProblems) reported.add(p);
  console.log(
    `round ${round} seed ${seed}: ${what}; messages ${count}; ${roundProblems.length === 0 ? 'ok' : `${roundProblems.length} PROBLEM(S)${fresh.length < roundProblems.length ? ` (${roundProblems.length - fresh.length} seen before)` : ''}`}`,
  );
  for (const p of fresh) console.log(`  - ${p}`);
  failures.push(...roundProblems.map((p) => `round ${round}: ${p}`));
  if (roundProblems.length > 0 && opt['stop-on-failure']) break;
}

console.log(
  `\nsummary: seed ${seed}, ${rounds} rounds (${checkedRounds} checked after a restart), ${failures.length} problem(s), ${retentionDeletedSegments} segment(s) deleted by retention; dir ${work}`,
);
for (const [k, n] of suspicious) console.log(`  error line x${n}: ${k}`);
process.exit(failures.length > 0 ? 1 : 0);
