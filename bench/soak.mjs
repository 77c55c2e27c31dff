// Soak: runs the real daemon for SOAK_S seconds (default 1500) with the sim at 10x, the recorder splitting
// small with retention on, the API, Foxglove, the agent (skill intents) and an on-demand control loop with
// the sim's avoid policy, and drives it like a user. Samples process and data figures every SAMPLE_S
// seconds and prints a table; writes samples.json and the daemon log under OUT.
//   node bench/soak.mjs            (SOAK_S=1500 SAMPLE_S=20 SPEED=10 OUT=/tmp/auraison-soak)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const SOAK_S = Number(process.env.SOAK_S ?? 1500);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 20);
const SPEED = Number(process.env.SPEED ?? 10);
const OUT = process.env.OUT ?? '/tmp/auraison-soak';
const API_PORT = Number(process.env.API_PORT ?? 47561);
const FG_PORT = Number(process.env.FG_PORT ?? 47562);
const DATA = path.join(OUT, 'data');
const CFG = path.join(OUT, 'edge.yaml');
const LOG = path.join(OUT, 'daemon.log');
const BASE = `http://127.0.0.1:${API_PORT}`;

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

// Variants SIGHUP cycles through: index 0 is the base; the others change one component's settings.
const variants = [
  {},
  { flush: 500 }, // recorder restart
  { rate: 50 }, // control restart (loop rate)
  {}, // back to base: recorder + control restart again
  { fgbuf: 2097152 }, // foxglove restart
  { hb: 3 }, // api restart
  { quota: 20 }, // policy.* applies without a restart
  { keep: 500 }, // agent restart
];
function writeConfig(v) {
  const yaml = `robot: {id: soak-robot}
data_dir: ${DATA}
log: {level: info}
journal: {segment_mb: 1, max_mb: 3, fsync: interval}
sim: {enabled: true, speed: ${SPEED}}
recorder:
  enabled: true
  split_max_bytes: 2097152
  split_max_duration_s: 60
  bag_max_splits: 5
  flush_interval_ms: ${v.flush ?? 1000}
lakehouse: {enabled: true, events_flush_s: 10}
retention: {enabled: true, max_bytes: 41943040, check_interval_s: 10}
policies:
  avoid:
    model: ${ROOT}/sim/turtlebot-maze/policy/avoid.onnx
    serve: true
    inputs: {scan: {sources: [{topic: /scan, field: ranges, clip: [0, 3.5]}]}}
    outputs: {cmd: {command: {topic: /cmd_vel, type: geometry_msgs/msg/Twist, fields: [linear.x, angular.z]}}}
control:
  loops:
    avoid: {policy: avoid, autostart: false, rate_hz: ${v.rate ?? 100}, max_observation_age_ms: 100, scheduling: other, nice: 0}
agent:
  keep_finished_runs: ${v.keep ?? 1000}
policy:
  quotas: {max_tool_calls: ${v.quota ?? 32}}
api:
  port: ${API_PORT}
  events: {heartbeat_s: ${v.hb ?? 5}}
foxglove: {port: ${FG_PORT}, max_buffered_bytes: ${v.fgbuf ?? 4194304}}
`;
  fs.writeFileSync(CFG, yaml);
}
writeConfig(variants[0]);

const logFd = fs.openSync(LOG, 'w');
const daemon = spawn(process.execPath, ['bin/auraison-edge.js', 'run', '--config', CFG], {
  cwd: ROOT,
  stdio: ['ignore', logFd, logFd],
});
const PID = daemon.pid;
let exited = false;
daemon.on('exit', (code, sig) => {
  exited = true;
  console.log(`daemon exited code=${code} sig=${sig}`);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = {
  intents: 0,
  intentErr: {},
  polls: 0,
  pollErr: 0,
  sseOpen: 0,
  sseEvents: 0,
  fgConn: 0,
  fgMsgs: 0,
  hups: 0,
  queries: 0,
  queryErr: 0,
};
const bump = (o, k) => (o[k] = (o[k] ?? 0) + 1);

async function req(method, url, body, timeoutMs = 10000) {
  const res = await fetch(BASE + url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, text };
}

// Wait for the API.
for (let i = 0; ; i++) {
  if (exited) process.exit(1);
  try {
    const r = await req('GET', '/readyz', undefined, 1000);
    if (r.status === 200) break;
  } catch {
    // not listening yet: asked again below
  }
  if (i > 600) throw new Error('daemon did not become ready');
  await sleep(200);
}
const T0 = Date.now();
const elapsed = () => (Date.now() - T0) / 1000;
let stop = false;
console.log(`daemon pid ${PID} ready; soak ${SOAK_S}s, sample every ${SAMPLE_S}s, out ${OUT}`);

// --- drivers ---
const loops = [];
function every(ms, fn) {
  loops.push(
    (async () => {
      while (!stop) {
        try {
          await fn();
        } catch {
          // a failed request is counted by the daemon's metrics, which the soak reads
        }
        await sleep(ms);
      }
    })(),
  );
}

let lastMetrics = '';
let lastStatus = null;
every(1000, async () => {
  try {
    const s = await req('GET', '/status');
    const m = await req('GET', '/metrics');
    stats.polls++;
    if (s.status === 200) lastStatus = JSON.parse(s.text);
    if (m.status === 200) lastMetrics = m.text;
  } catch {
    stats.pollErr++;
  }
});

every(4000, async () => {
  const r = Math.floor(Math.random() * 8);
  const c = Math.floor(Math.random() * 8);
  const body =
    Math.random() < 0.12
      ? { type: 'run_policy', params: { name: 'avoid', seconds: 2 } }
      : { type: 'navigate_to', params: { x: c + 0.55, y: r + 0.55 } };
  try {
    const res = await req('POST', '/intents', body);
    stats.intents++;
    if (res.status >= 300) bump(stats.intentErr, `${body.type}:${res.status}`);
  } catch (e) {
    bump(stats.intentErr, `${body.type}:${e.name}`);
  }
});

every(30000, async () => {
  const sqls = [
    'SELECT count(*) AS n FROM "/odom"',
    'SELECT count(*) AS n FROM events',
    'SELECT * FROM "/scan" ORDER BY 1 DESC LIMIT 5',
  ];
  const sql = sqls[Math.floor(Math.random() * sqls.length)];
  try {
    const res = await req('POST', '/query', { sql }, 30000);
    stats.queries++;
    if (res.status !== 200) {
      bump(stats, `query_${res.status}`);
      stats.lastQueryErr = `${sql}: ${res.text.slice(0, 200)}`;
    }
  } catch {
    stats.queryErr++;
  }
});

// SSE: /events (reconnect every 45 s) and /live/map (every 60 s); some aborted mid-stream, some at once.
function sse(route, holdMs) {
  every(
    500,
    () =>
      new Promise((resolve) => {
        const r = http.get(BASE + route, (res) => {
          stats.sseOpen++;
          res.on('data', (d) => (stats.sseEvents += String(d).split('\n\n').length - 1));
          res.on('error', () => {});
          res.on('end', resolve);
        });
        r.on('error', resolve);
        setTimeout(() => {
          r.destroy();
          resolve();
        }, holdMs);
      }),
  );
}
sse('/events', 45000);
sse('/events?last_event_id=0', 20000);
sse('/live/map', 60000);

// Foxglove clients: subscribe /scan and /odom, stay 10-25 s, leave (close or terminate), 3 s later again.
function foxglove(idx) {
  every(
    3000,
    () =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${FG_PORT}`, ['foxglove.websocket.v1']);
        let subId = 1;
        const done = () => resolve();
        ws.on('open', () => stats.fgConn++);
        ws.on('message', (data, isBinary) => {
          if (isBinary) {
            stats.fgMsgs++;
            return;
          }
          const msg = JSON.parse(String(data));
          if (msg.op === 'advertise') {
            const subs = msg.channels
              .filter((c) => c.topic === '/scan' || c.topic === '/odom')
              .map((c) => ({ id: subId++, channelId: c.id }));
            if (subs.length) ws.send(JSON.stringify({ op: 'subscribe', subscriptions: subs }));
          }
        });
        ws.on('error', done);
        ws.on('close', done);
        setTimeout(
          () => (Math.random() < 0.5 ? ws.close() : ws.terminate()),
          10000 + Math.random() * 15000 + idx * 1000,
        );
      }),
  );
}
foxglove(0);
foxglove(1);

// SIGHUP every 60 s, through the variants (no change on every other one).
let hupN = 0;
loops.push(
  (async () => {
    while (!stop) {
      await sleep(60000);
      if (stop) break;
      hupN++;
      const v = hupN % 2 === 0 ? variants[(hupN / 2) % variants.length] : null;
      if (v) writeConfig(v);
      process.kill(PID, 'SIGHUP');
      stats.hups++;
    }
  })(),
);

// --- sampling ---
function procStatus() {
  const s = fs.readFileSync(`/proc/${PID}/status`, 'utf8');
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss_mb: get('VmRSS') / 1024, threads: get('Threads') };
}
function fdKinds() {
  const kinds = {};
  for (const fd of fs.readdirSync(`/proc/${PID}/fd`)) {
    let target = '?';
    try {
      target = fs.readlinkSync(`/proc/${PID}/fd/${fd}`);
    } catch {
      // closed since the listing: not open any more
    }
    const k = target.startsWith('socket:')
      ? 'socket'
      : target.startsWith('anon_inode:')
        ? target
        : target.startsWith('pipe:')
          ? 'pipe'
          : target.startsWith('/')
            ? target.startsWith(DATA)
              ? 'data:' + path.relative(DATA, target).split('/')[0]
              : 'file'
            : target;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}
const du = (p) => {
  try {
    return Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  } catch {
    return 0;
  }
};
function metricValue(name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(lastMetrics);
  return m ? Number(m[1]) : NaN;
}
const seriesCount = () => lastMetrics.split('\n').filter((l) => l && !l.startsWith('#')).length;
const warnCount = () => {
  const text = fs.readFileSync(LOG, 'utf8');
  let warn = 0,
    err = 0;
  for (const line of text.split('\n')) {
    if (line.includes('"level":40')) warn++;
    else if (/"level":(50|60)/.test(line)) err++;
    else if (line && !line.startsWith('{')) err++; // anything not JSON (node warnings, stack traces)
  }
  return { warn, err };
};

const samples = [];
const header = [
  't_s',
  'rss_mb',
  'heap_mb',
  'thr',
  'fds',
  'sock',
  'evfd',
  'data_mb',
  'jrnl_mb',
  'lake_mb',
  'bags',
  'topics',
  'series',
  'runs',
  'warn',
  'err',
];
console.log(header.map((h) => h.padStart(8)).join(''));
async function sample() {
  const ps = procStatus();
  const kinds = fdKinds();
  const bagsDir = path.join(DATA, 'bags');
  const row = {
    t_s: Math.round(elapsed()),
    rss_mb: ps.rss_mb,
    heap_mb: metricValue('auraison_process_heap_used_bytes') / 1048576,
    thr: ps.threads,
    fds: Object.values(kinds).reduce((a, b) => a + b, 0),
    sock: kinds.socket ?? 0,
    evfd: Object.entries(kinds)
      .filter(([k]) => k.startsWith('anon_inode'))
      .reduce((a, [, v]) => a + v, 0),
    data_mb: du(DATA),
    jrnl_mb: du(path.join(DATA, 'log')),
    lake_mb: du(path.join(DATA, 'lakehouse')),
    bags: fs.existsSync(bagsDir) ? fs.readdirSync(bagsDir).length : 0,
    topics: lastStatus?.topics?.length ?? NaN,
    series: seriesCount(),
    runs: lastStatus && JSON.stringify(lastStatus).length ? NaN : NaN,
    ...warnCount(),
  };
  row.runs = [...lastMetrics.matchAll(/^auraison_runs\{status="[^"]*"\} (\d+)$/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
  row.kinds = kinds;
  samples.push(row);
  console.log(
    header
      .map((h) =>
        (typeof row[h] === 'number'
          ? Number.isInteger(row[h])
            ? String(row[h])
            : row[h].toFixed(1)
          : String(row[h])
        ).padStart(8),
      )
      .join(''),
  );
  fs.writeFileSync(path.join(OUT, 'samples.json'), JSON.stringify({ samples, stats }, null, 1));
}

while (elapsed() < SOAK_S && !exited) {
  await sleep(SAMPLE_S * 1000);
  if (exited) break;
  try {
    await sample();
  } catch (e) {
    console.log('sample failed', e.message);
  }
}
stop = true;
console.log('stats', JSON.stringify(stats));
console.log(
  'runs:',
  [...lastMetrics.matchAll(/^auraison_runs\{status="([^"]*)"\} (\d+)$/gm)].map((m) => `${m[1]}=${m[2]}`).join(' '),
);
console.log(
  'fd kinds first:',
  JSON.stringify(samples[0]?.kinds),
  '\nfd kinds last: ',
  JSON.stringify(samples.at(-1)?.kinds),
);
if (!exited) {
  daemon.kill('SIGTERM');
  const t = Date.now();
  while (!exited && Date.now() - t < 10000) await sleep(100);
  if (!exited) daemon.kill('SIGKILL');
}
// Log lines at warn and above, by message.
const counts = {};
for (const line of fs.readFileSync(LOG, 'utf8').split('\n')) {
  if (!line) continue;
  let key;
  try {
    const j = JSON.parse(line);
    if (j.level < 40) continue;
    key = `${j.level} ${j.component ?? ''} ${j.msg}`;
  } catch {
    key = 'RAW ' + line.slice(0, 160);
  }
  counts[key] = (counts[key] ?? 0) + 1;
}
console.log('log lines >= warn:');
for (const [k, n] of Object.entries(counts)
  .sort((a, b) => b[1] - a[1])
  .slice(0, 40))
  console.log(String(n).padStart(6), k.slice(0, 220));
process.exit(0);
