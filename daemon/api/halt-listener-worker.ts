import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { OffLoopTake, OffLoopZero, OffLoopZeroSender, HaltRequest } from '../contract/index.ts';
import { applyThreadScheduling, FloodGuard, within, errorText } from '../util/index.ts';
import { jsonBodyText, jsonValue } from './body-text.ts';
import { clientErrorHandler } from './client-error.ts';
import { apiPageOrigin, crossSiteRefusal, jsonTypeRefusal } from './cross-site.ts';
import { pageCors, pagePreflight } from './halt-listener-page.ts';
import { gateRefusal } from './gate.ts';
import { apiErrorReply, HttpError } from './http-error.ts';
import { readBody } from './halt-listener-body.ts';
import { HaltListenerMcp } from './halt-listener-mcp.ts';
import type { FromListener, HaltListenerData, ToListener } from './halt-listener-messages.ts';
import { HaltLine } from '../halt/index.ts';

// The stop listener's thread (see HaltListener): POST /stop served off the daemon's event loop. A stop counts on
// the stop line at once (the control loops' threads and the sim hold from their next tick), goes to the main
// thread as a message, and sends the off-loop zero commands (the Zenoh graph's, on a session of this thread's
// own), then answers. MCP's /mcp is relayed to the API's, its stop calls taken the same way first (HaltListenerMcp).
// It holds no latch and releases nothing: the main thread's HaltLatch is the one latch.
// It loads only what a stop needs (the gate's functions, the line): from the TypeScript sources every module a thread
// loads is compiled anew, and the contract's schemas and the config's took seconds of CPU per daemon start.
const data = workerData as HaltListenerData;
const port = parentPort!;
const post = (m: FromListener): void => port.postMessage(m);
const log = pino(
  { level: data.logLevel, base: { component: 'stop-listener' }, timestamp: false },
  { write: (line: string) => post({ type: 'log', line }) },
);
const line = new HaltLine(data.line);
const { gate } = data;
/** A stop's body is a name and a reason: anything larger is not one, and is not read on. */
const MAX_BODY_BYTES = 4096;
/** A request must arrive whole within this: a client trickling its headers or body holds a socket this long at most. */
const REQUEST_TIMEOUT_MS = 2000;
/** How long an answer waits for the zero commands: one that has not answered by then is named as such. */
const ZERO_WAIT_MS = 250;
/**
 * How long a stop asked with `?report=full` waits for the main thread's report: past it the answer is this thread's
 * own (202), within the CLI's 5 s and the page's 10 s for an answer.
 */
const REPORT_WAIT_MS = 3000;
/** The API's port: its status page, at it, is the one page whose stops this thread takes (by CORS). */
const apiPort = new URL(data.apiUrl).port;

/** The off-loop zero commands, by name: each opened once in this thread, kept until set otherwise. */
const zeros = new Map<string, { spec: string; sender: Promise<OffLoopZeroSender> }>();
let nextHalt = 1;
/** The main thread's report of a stop: the status and body to answer with. */
interface Report {
  status: number;
  body: unknown;
}
/** The stops whose answer waits for the main thread's report, by id. */
const reports = new Map<number, (report: Report) => void>();

/** Loads an off-loop zero's module: TypeScript through the require hook this thread was started with. */
async function load(zero: OffLoopZero): Promise<OffLoopZeroSender> {
  const path = zero.module.startsWith('file:') ? fileURLToPath(zero.module) : zero.module;
  const mod = (path.endsWith('.ts') ? createRequire(path)(path) : await import(zero.module)) as {
    openOffLoopZero?: (options: unknown, log: pino.Logger, take: OffLoopTake) => Promise<OffLoopZeroSender>;
  };
  if (typeof mod.openOffLoopZero !== 'function')
    throw new Error(`${zero.module} has no openOffLoopZero(options, log, take): it is not an off-loop zero command`);
  return mod.openOffLoopZero(zero.options, log, take);
}

function setZeros(given: [string, OffLoopZero][]): void {
  const wanted = new Map(given);
  for (const [name, held] of zeros) {
    const zero = wanted.get(name);
    if (zero && spec(zero) === held.spec) continue;
    zeros.delete(name);
    void held.sender.then((s) => s.close()).catch(() => undefined); // a sender that never opened has nothing to close
  }
  for (const [name, zero] of wanted) {
    if (zeros.has(name)) continue;
    const sender = load(zero);
    sender.catch((error: Error) =>
      log.error({ zero: name, err: error.message }, `stop listener: the off-loop zero command ${name} could not start`),
    );
    zeros.set(name, { spec: spec(zero), sender });
  }
}

function spec(zero: OffLoopZero): string {
  return JSON.stringify(zero, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/** Every off-loop zero command at once; each answers what it zeroed, or why it could not, within the wait. */
async function sendZeros(): Promise<{ zeroed: string[]; failed: Record<string, string> }> {
  // The line is the first: the control loops' threads and the sim read it on their next tick.
  const zeroed = ['line'];
  const failed: Record<string, string> = {};
  await Promise.all(
    [...zeros].map(async ([name, { sender }]) => {
      try {
        const topics = await within(
          sender.then((s) => s.zero()),
          ZERO_WAIT_MS,
          'late' as const,
        );
        if (topics === 'late') failed[name] = `no answer within ${ZERO_WAIT_MS} ms`;
        else zeroed.push(...topics.map((t) => `${name} ${t}`));
      } catch (error) {
        failed[name] = errorText(error);
      }
    }),
  );
  return { zeroed, failed };
}

function answer(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/**
 * A CORS preflight (OPTIONS with Access-Control-Request-Method): granted to the API's own page alone (pagePreflight).
 * It carries no token (a browser never sends one), so only the Host rule is held.
 */
function preflight(req: IncomingMessage, res: ServerResponse, path: string): void {
  const refused = gateRefusal(
    { ...gate, expected: undefined },
    { url: path, httpVersion: req.httpVersion, headers: req.headers },
  );
  if (refused) return refuse(res, refused);
  const granted = pagePreflight(req.headers, path, apiPort);
  if (granted instanceof HttpError) return refuse(res, granted);
  res.writeHead(204, granted);
  res.end();
}

/** `?report=full` (wait for the daemon's report) or nothing; anything else is a 400. */
function wantsReport(url: string): boolean {
  const query = new URLSearchParams(url.split('?')[1] ?? '');
  for (const key of query.keys())
    if (key !== 'report')
      throw new HttpError('bad_request', `querystring.${key}: unknown (POST /stop takes ?report=full or nothing)`);
  const report = query.getAll('report');
  if (report.length === 0) return false;
  if (report.length === 1 && report[0] === 'full') return true;
  throw new HttpError('bad_request', "querystring.report: expected full (the daemon's report), or no report at all");
}

/** The main thread's report of the stop `id`, or undefined when it has not come within REPORT_WAIT_MS. */
async function reportOf(id: number): Promise<Report | undefined> {
  try {
    return await within(new Promise<Report>((resolve) => reports.set(id, resolve)), REPORT_WAIT_MS);
  } finally {
    reports.delete(id);
  }
}

function refuse(res: ServerResponse, error: HttpError): void {
  if (error.statusCode === 401) res.setHeader('www-authenticate', 'Bearer realm="auraison-edge"');
  // As the API's gate: the body the route will never take is not read on.
  const { code, message, issues } = error;
  answer(res, error.statusCode, { error: code, message, ...(issues ? { issues } : {}) }, true);
}

const tooLarge = () => new HttpError('payload_too_large', `a stop's body is at most ${MAX_BODY_BYTES} bytes`);

/**
 * The body, whole, or an HttpError: too large (413), not JSON as UTF-8 (415, 400, as the API's parser: body-text.ts)
 * or not a stop request (400). A body that says it is too large is refused before a byte of it is read.
 */
async function readOrder(req: IncomingMessage): Promise<HaltRequest> {
  return haltOrder(req, await readBody(req, MAX_BODY_BYTES, tooLarge));
}

/** A stop's body as the API's parser reads it; no body, or only blanks, is a stop with no name or reason. */
function haltOrder(req: IncomingMessage, bytes: Buffer): HaltRequest {
  if (bytes.length === 0) return {};
  const text = jsonBodyText(req.headers, bytes);
  if (text.trim() === '') return {};
  const value = jsonValue(text);
  const problem = haltRequestProblem(value);
  if (problem) throw new HttpError('bad_request', `body${problem}; send {"by"?, "reason"?} or nothing`);
  return value as HaltRequest;
}

/**
 * What is wrong with a stop's body, or undefined: the contract's HaltRequest (`{by?: 1-128 characters, reason?: up to
 * 1024}`, nothing else), checked by hand so this thread does not load the contract's schemas (see above).
 */
function haltRequestProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ': expected an object';
  for (const [key, v] of Object.entries(value)) {
    if (key === 'by') {
      if (typeof v !== 'string' || v.length < 1 || v.length > 128) return '.by: expected 1 to 128 characters';
    } else if (key === 'reason') {
      if (typeof v !== 'string' || v.length > 1024) return '.reason: expected a string of at most 1024 characters';
    } else return `.${key}: unknown key (a stop takes by and reason)`;
  }
  return undefined;
}

/**
 * Takes a stop on this thread: on the line at once (the threads that read it stop commanding before the main thread
 * hears of it), then told to the main thread, then the off-loop zero commands; `zeroes` resolves with what they did,
 * once the main thread is told that too.
 */
function takeHalt(stop: Omit<Extract<FromListener, { type: 'stop' }>, 'type' | 'id' | 'at'>): {
  id: number;
  at: string;
  zeroes: Promise<{ zeroed: string[]; failed: Record<string, string> }>;
} {
  const at = (BigInt(Date.now()) * 1_000_000n).toString();
  const id = nextHalt++;
  line.haltedOffLoop();
  post({ type: 'stop', id, at, ...stop });
  const zeroes = sendZeros().then((done) => {
    post({ type: 'zeroed', id, ...done });
    return done;
  });
  return { id, at, zeroes };
}

/** The stop as a door an off-loop zero's module serves takes it (the Zenoh graph's agent/stop): no report asked. */
const take: OffLoopTake = async ({ by, reason }) => {
  const { at, zeroes } = takeHalt({ by, reason, report: false });
  return { at, ...(await zeroes) };
};

/** MCP's /mcp, relayed to the API's with its stop calls taken here first (with `mcp.enabled`). */
const mcp =
  data.mcp &&
  new HaltListenerMcp({
    ...data.mcp,
    apiUrl: data.apiUrl,
    gate,
    take: (call, reason) => takeHalt({ by: 'mcp', reason: reason ?? null, report: false, mcp: call }).id,
    refuse,
  });

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined)
    return preflight(req, res, path);
  if (path === '/mcp' && mcp) return mcp.serve(req, res);
  // The API's own page may read every answer, a refusal included (its 401 asks the operator for the token).
  const page = apiPageOrigin(req.headers, apiPort);
  for (const [name, value] of Object.entries(pageCors(page))) res.setHeader(name, value);
  const refused = gateRefusal(gate, { url, httpVersion: req.httpVersion, headers: req.headers });
  if (refused) return refuse(res, refused);
  if (path !== '/stop') {
    const error = new HttpError(
      'not_found',
      `the stop listener takes POST /stop${mcp ? " and MCP's /mcp" : ''} and nothing else; ${req.method} ${path} (releasing the latch included) is the API's, at ${data.apiUrl}`,
    );
    return refuse(res, error);
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return refuse(res, new HttpError('method_not_allowed', `${req.method} /stop: this route takes POST`));
  }
  // The API's page is on another port of this host (same-site to the browser), and let in as the API lets it in.
  const crossSite = page
    ? jsonTypeRefusal('POST', 'POST /stop', req.headers)
    : crossSiteRefusal('POST', 'POST /stop', req.headers);
  if (crossSite) return refuse(res, crossSite.error);
  let order: HaltRequest;
  let report: boolean;
  try {
    report = wantsReport(url);
    order = await readOrder(req);
  } catch (error) {
    return refuse(res, error instanceof HttpError ? error : new HttpError('bad_request', String(error)));
  }
  const by = order.by ?? 'api';
  const reason = order.reason ?? null;
  const { id, at, zeroes } = takeHalt({ by, reason, report });
  const reported = report ? reportOf(id) : undefined;
  const { zeroed, failed } = await zeroes;
  const own = { stopped: true, by, reason, at, zeroed, not_zeroed: failed };
  if (!reported)
    return answer(res, 200, {
      ...own,
      taken_by_daemon:
        'the daemon ends what drives the robot, sends the zero Twist to every bridge, latches (motion.stop.latch) and journals this stop; GET /status shows it',
    });
  // The daemon's report, as the API's POST /stop answers it; a main thread that has not given it in time gets this
  // thread's own answer, saying what is still to come.
  const full = await reported;
  if (full) return answer(res, full.status, full.body);
  answer(res, 202, {
    ...own,
    report: null,
    taken_by_daemon: `not within ${REPORT_WAIT_MS / 1000} s: the daemon's main thread has not taken this stop yet; it ends what drives the robot, sends the zero Twist to every bridge (ROS 2 included), latches and journals it once it runs; GET /status shows it`,
  });
}

// The thread's own priority (motion.stop.scheduling): by default real time (SCHED_FIFO above the control loops), so a
// stop is read within a few ms however busy the cores are; else the normal scheduler at motion.stop.nice. A real-time
// thread that a flood keeps runnable would hold its core against the rest of the robot (a test that flooded one
// without end held both cores at 95%), so past FLOOD_PER_S connections and requests in a second it goes back to the
// normal scheduler at its niceness, and returns to real time after FLOOD_QUIET_MS without a flood.
const FLOOD_PER_S = 50;
const FLOOD_QUIET_MS = 5000;
let scheduling = applyThreadScheduling(data.scheduling);
const realTime = data.scheduling.policy !== 'other';
const flood = new FloodGuard(FLOOD_PER_S, FLOOD_QUIET_MS);
const monotonicMs = () => performance.now();

function reschedule(demoted: boolean): void {
  const { policy, rtPriority, nice } = data.scheduling;
  scheduling = applyThreadScheduling(demoted ? { policy: 'other', rtPriority, nice } : { policy, rtPriority, nice });
  const summary = demoted
    ? `${scheduling.summary} (left ${policy === 'fifo' ? 'SCHED_FIFO' : 'SCHED_RR'} ${rtPriority} for a flood of over ${FLOOD_PER_S} connections and requests a second)`
    : scheduling.summary;
  post({ type: 'scheduling', scheduling: summary, demoted, demotions: flood.demotions });
  if (demoted)
    log.warn(
      { scheduling: summary },
      `stop listener: over ${FLOOD_PER_S} connections and requests a second; its thread leaves real time until ${FLOOD_QUIET_MS / 1000} s pass without it (stops are still taken)`,
    );
  else log.info({ scheduling: summary }, 'stop listener: no flood for a while; its thread is back to real time');
}

/** Counts a connection or a request; a real-time thread leaves real time on a flood's first. */
function counted(): void {
  if (realTime && flood.hit(monotonicMs())) reschedule(true);
}

if (realTime)
  setInterval(() => {
    if (flood.quiet(monotonicMs())) reschedule(false);
  }, 1000).unref();

const server = createServer(
  {
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 5000,
    connectionsCheckingInterval: 250,
    requireHostHeader: false, // answered by the gate, in the API's error shape
  },
  (req, res) => {
    counted();
    serve(req, res).catch((error: Error) => {
      log.error({ err: error.message }, 'stop listener: a request failed');
      if (!res.headersSent) {
        const { status, body } = apiErrorReply('internal', error.message);
        answer(res, status, body, true);
      }
    });
  },
);
server.on('connection', counted);
// As the API answers them: 408 for a request that did not arrive in time, 431 for headers too large, else 400.
server.on('clientError', (error: Error & { code?: string }, socket) =>
  clientErrorHandler(error, socket, `${REQUEST_TIMEOUT_MS / 1000} s (the stop listener's own limit)`),
);
server.once('error', (error: NodeJS.ErrnoException) =>
  post({ type: 'failed', message: error.message, code: error.code }),
);
server.listen({ host: data.host, port: data.port }, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') return;
  post({
    type: 'listening',
    address: address.address,
    family: address.family,
    port: address.port,
    scheduling: scheduling.summary,
    refused: scheduling.summary.includes('refused'),
    tid: scheduling.tid,
  });
});
setZeros(data.zeros);

port.on('message', (m: ToListener) => {
  if (m.type === 'zeros') return setZeros(m.zeros);
  if (m.type === 'report') return reports.get(m.id)?.({ status: m.status, body: m.body });
  if (m.type === 'taken') return mcp?.taken(m.id);
  server.close();
  server.closeAllConnections();
  void Promise.all([...zeros.values()].map(({ sender }) => sender.then((s) => s.close()).catch(() => undefined))).then(
    () => {
      post({ type: 'closed' });
      process.exit(0);
    },
  );
});
