import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { McpSettings, McpToolName } from '../config/index.ts';
import type { ExternalRuns, MetricFamily, OffLoopHalt, RobotHaltOutcome } from '../contract/index.ts';
import { ApiCallError, ApiCaller, type Inject } from './api-caller.ts';
import { CallWindow } from './call-window.ts';
import { gatewayMetrics } from './gateway-metrics.ts';
import { registerResources } from './resources.ts';
import { SessionRun, type RefusalReason } from './session-run.ts';
import { registerTools, TOOLS } from './tools.ts';
import { guardUnexposed } from './unexposed-guard.ts';
import { HALT_TAKEN_HEADER, haltCalls } from '../halt/index.ts';

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  window: CallWindow;
  /** The session's calls no run of their own records (reads, refusals), as runs: one per minute of them. */
  record: SessionRun;
  /** The Authorization header of the session's latest request: the tools call the API with it. */
  authorization: string | undefined;
  /** The stops taken as their requests were read, by JSON-RPC id, until the stop tool's call takes each. */
  stops: Map<string | number, Promise<RobotHaltOutcome>>;
}

/** The longest actor name the contract takes (PolicyContext.actor). */
const MAX_ACTOR = 128;
/** The rate's window (max_calls_per_minute), and a session run's. */
const MINUTE_MS = 60_000;
/** Stops taken whose tool call has not come: a client that sends stops the SDK never runs keeps no more. */
const MAX_UNCLAIMED_HALTS = 64;

/** The daemon's one stop, as the gateway is given it (RobotHaltAuthority.halt). */
type Halt = (by: string, reason?: string, offLoop?: OffLoopHalt) => Promise<RobotHaltOutcome>;

/** A stop tool call the stop listener's thread took off the loop: its session, JSON-RPC id and reason. */
export interface ListenerHaltCall {
  session: string;
  call: string | number;
  reason: string | undefined;
}

/**
 * The stop listener's part in MCP (its thread takes POST /mcp too, and relays it to the API's): `pass`, what its thread
 * sends in STOP_TAKEN_HEADER with a body whose stop calls it took, and `take`, the main thread's half of such a call.
 */
export interface ListenerHalts {
  pass: string;
  take(call: ListenerHaltCall, offLoop: OffLoopHalt): Promise<RobotHaltOutcome>;
}

/**
 * The MCP gateway: one McpServer per MCP session (streamable HTTP), whose tools call the local API as the
 * client's own requests. Callers must have passed the API's auth gate before `handle`: the gateway adds
 * no authority of its own, and the tools can do only what the API and the agent's frames allow.
 */
export class McpGateway {
  #sessions = new Map<string, Session>();
  #settings: McpSettings;
  #inject: Inject;
  #log: Logger;
  #runs: () => ExternalRuns | undefined;
  #halt: Halt;
  /** What the stop listener's thread sends in STOP_TAKEN_HEADER: made here at random, given to that thread alone. */
  readonly #listenerPass = randomBytes(32).toString('base64url');
  #exposed: ReadonlySet<McpToolName>;
  /** Every session's calls together, for max_calls_per_minute_total: more sessions buy no more calls. */
  #window: CallWindow;
  #calls = new Map<string, number>();
  #refused = new Map<string, number>();

  /**
   * `runs`: where a session's reads and refusals become runs (the agent's store, resolved at each window); `halt`: the
   * daemon's one stop (RobotHaltAuthority.halt), which a stop tool call takes as its request is read.
   */
  constructor({
    settings,
    inject,
    log,
    runs,
    halt,
  }: {
    settings: McpSettings;
    inject: Inject;
    log: Logger;
    runs: () => ExternalRuns | undefined;
    halt: Halt;
  }) {
    this.#settings = settings;
    this.#inject = inject;
    this.#log = log;
    this.#runs = runs;
    this.#halt = halt;
    this.#exposed = new Set<McpToolName>([...settings.tools, 'stop']);
    this.#window = new CallWindow({ limit: settings.max_calls_per_minute_total, windowMs: MINUTE_MS });
  }

  /** Calls and refusals per tool (`<tool>:<reason>`), since the daemon started. */
  counters(): { sessions: number; calls: Record<string, number>; refused: Record<string, number> } {
    return {
      sessions: this.#sessions.size,
      calls: Object.fromEntries(this.#calls),
      refused: Object.fromEntries(this.#refused),
    };
  }

  metrics(): MetricFamily[] {
    return gatewayMetrics(this.counters());
  }

  /** Answers one HTTP request on /mcp (POST, GET for the server's stream, DELETE to end a session). */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = req.headers['mcp-session-id'];
    const authorization = req.headers.authorization;
    let session = typeof id === 'string' ? this.#sessions.get(id) : undefined;
    if (typeof id === 'string' && !session)
      return rpcError(
        res,
        404,
        `MCP session ${id} is not open here (the daemon restarted, or it ended): initialize again`,
      );
    if (!session) {
      if (req.method !== 'POST' || !isInitializeRequest(body))
        return rpcError(res, 400, 'no mcp-session-id header: start with an initialize request');
      if (this.#sessions.size >= this.#settings.max_sessions) await this.#evictOldest();
      session = await this.#open();
    }
    // Map order is recency: a session used now moves to the end, so the first is the one idle longest.
    if (session.transport.sessionId) {
      this.#sessions.delete(session.transport.sessionId);
      this.#sessions.set(session.transport.sessionId, session);
    }
    session.authorization = authorization;
    this.#haltFirst(session, body, this.#fromListener(req.headers[HALT_TAKEN_HEADER]));
    await session.transport.handleRequest(req, res, body);
  }

  /**
   * The operator's stop, in the tick its request is read: the robot stops (the stop line, the hooks, the zero commands
   * and the latch) before the SDK parses the call and the tool's turn comes, each an await the event loop may fill
   * with other work. The stop tool's call then answers with this stop's report, as POST /stop's. A session's client has
   * passed the API's gate (its token, Host and origin), the same authority as POST /stop.
   */
  #haltFirst(session: Session, body: unknown, takenByListener: boolean): void {
    for (const { id, reason } of haltCalls(body)) {
      // The listener's thread took it, and its main-thread half (takeListenerStop) kept it, before relaying this body.
      if (takenByListener && session.stops.has(id)) continue;
      void this.#keep(session, id, this.#halt(this.#actor(session.server), reason));
    }
  }

  /**
   * The stop listener's part (ListenerStops); its `take` is the daemon's one stop, by the session's client, kept for
   * the call's answer so the relayed body does not stop again.
   */
  get listenerStops(): ListenerHalts {
    return { pass: this.#listenerPass, take: (call, offLoop) => this.#takeListenerHalt(call, offLoop) };
  }

  #takeListenerHalt({ session: id, call, reason }: ListenerHaltCall, offLoop: OffLoopHalt): Promise<RobotHaltOutcome> {
    const session = this.#sessions.get(id);
    // A session not open here (the daemon restarted) is answered 404 when its body comes; the stop holds all the same.
    const taken = this.#halt(session ? this.#actor(session.server) : 'mcp', reason, offLoop);
    if (!session) return taken;
    return this.#keep(session, call, taken);
  }

  /** Keeps a stop taken for the call `id`, for the tool's answer (#stopTaken). */
  #keep(session: Session, id: string | number, halted: Promise<RobotHaltOutcome>): Promise<RobotHaltOutcome> {
    if (session.stops.size >= MAX_UNCLAIMED_HALTS) session.stops.delete(session.stops.keys().next().value!);
    const taken = halted.catch((error: Error) => {
      // As the tool's POST /stop would fail: RobotNotStoppedError is the API's 500 not_stopped.
      const { statusCode = 500, code = 'internal' } = error as { statusCode?: number; code?: string };
      throw new ApiCallError(statusCode, code, `POST /stop: ${statusCode} ${error.message}`);
    });
    taken.catch(() => {}); // the tool's call reports it
    session.stops.set(id, taken);
    return taken;
  }

  /**
   * Whether a request's STOP_TAKEN_HEADER is the stop listener's: any other value is a client's, and is logged and
   * passed over (its body's stops are taken here), so no client can keep its own stop from being taken.
   */
  #fromListener(header: string | string[] | undefined): boolean {
    if (header === undefined) return false;
    const given = Buffer.from(String(header));
    const pass = Buffer.from(this.#listenerPass);
    if (given.length === pass.length && timingSafeEqual(given, pass)) return true;
    this.#log.warn(`MCP: a request's ${HALT_TAKEN_HEADER} is not the stop listener's; its stop calls are taken here`);
    return false;
  }

  /** The stop taken for the call `id` as its request was read, once. */
  #haltTaken(session: Session, id: string | number): Promise<RobotHaltOutcome> | undefined {
    const taken = session.stops.get(id);
    session.stops.delete(id);
    return taken;
  }

  /**
   * Closes the session idle longest to make room for a new one. Clients rarely end their sessions (the SDK's
   * close() sends no DELETE), so refusing new ones at the limit would lock a restarted desktop agent out
   * for good; a session closed here answers 404 and its client initializes again.
   */
  async #evictOldest(): Promise<void> {
    const [id, oldest] = this.#sessions.entries().next().value ?? [];
    if (id === undefined || oldest === undefined) return;
    this.#sessions.delete(id);
    this.#count(this.#refused, 'session:evicted');
    this.#log.warn({ session: id, max_sessions: this.#settings.max_sessions }, 'MCP session closed for a new one');
    await oldest.server.close();
    await oldest.record.close();
  }

  async close(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.flatMap((s) => [s.server.close(), s.record.close()]));
  }

  async #open(): Promise<Session> {
    const server = new McpServer({ name: 'auraison-edge', version: '1' }, { capabilities: { logging: {} } });
    const session: Session = {
      server,
      window: new CallWindow({ limit: this.#settings.max_calls_per_minute, windowMs: MINUTE_MS }),
      record: new SessionRun({
        runs: this.#runs,
        actor: () => this.#actor(server),
        windowMs: MINUTE_MS,
        log: this.#log,
      }),
      authorization: undefined,
      stops: new Map(),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void this.#sessions.set(id, session),
      }),
    };
    session.transport.onclose = () => {
      if (session.transport.sessionId) this.#sessions.delete(session.transport.sessionId);
      void session.record.close();
    };
    const api = () => new ApiCaller({ inject: this.#inject, authorization: session.authorization });
    registerTools({
      server,
      exposed: this.#exposed,
      env: (requestId) => ({
        api: api(),
        actor: this.#actor(server),
        stopTaken: this.#haltTaken(session, requestId),
      }),
      admit: (tool) => {
        this.#count(this.#calls, tool);
        const refusal = this.#overRate(session, performance.now());
        if (!refusal) return undefined;
        const message = `${tool} refused: ${refusal.what}; wait, or stop (never limited)`;
        this.#count(this.#refused, `${tool}:${refusal.reason}`);
        session.record.refused(tool, refusal.reason, message);
        return message;
      },
      called: (tool, input, result) => session.record.called(tool, input, result),
      refused: (tool, reason) => {
        this.#count(this.#refused, `${tool}:${reason}`);
        this.#log.warn({ tool, reason, actor: this.#actor(server) }, 'MCP tool call refused');
      },
    });
    registerResources({ server, api, gateway: () => this.counters() });
    await server.connect(session.transport);
    guardUnexposed({
      transport: session.transport,
      listed: (tool) => this.#exposed.has(tool as McpToolName),
      refuse: (asked) => {
        // Named as asked only when it is one of the gateway's tools: any other name is the client's text.
        const tool = Object.hasOwn(TOOLS, asked) ? asked : 'unknown';
        const message = unexposedMessage(asked, this.#exposed);
        this.#count(this.#refused, `${tool}:unexposed`);
        session.record.refused(tool, 'unexposed', message);
        return message;
      },
    });
    return session;
  }

  /**
   * Takes a call at `now` in the session's window and the gateway's, or says which is full. Neither is taken
   * unless both fit: a client past its own rate spends none of the others' shared minute, and one refused for
   * the shared minute keeps its own.
   */
  #overRate(session: Session, now: number): { reason: RefusalReason; what: string } | undefined {
    const { max_calls_per_minute: own, max_calls_per_minute_total: total } = this.#settings;
    if (!session.window.fits(now))
      return { reason: 'rate', what: `more than ${own} calls in a minute from this client (mcp.max_calls_per_minute)` };
    if (!this.#window.fits(now))
      return {
        reason: 'rate_total',
        what: `more than ${total} calls in a minute from all MCP clients together (mcp.max_calls_per_minute_total)`,
      };
    session.window.take(now);
    this.#window.take(now);
    return undefined;
  }

  /** Who the runs say asked: the client's own name from its initialize, marked as coming through MCP. */
  #actor(server: McpServer): string {
    const name = server.server.getClientVersion()?.name ?? 'unnamed';
    return `mcp:${name}`.slice(0, MAX_ACTOR);
  }

  #count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}

/** What a client calling a tool it was not offered is told: what it may call, and who decides. */
function unexposedMessage(asked: string, exposed: ReadonlySet<string>): string {
  const what = Object.hasOwn(TOOLS, asked)
    ? `${asked} is not exposed here`
    : `${JSON.stringify(asked.slice(0, 64))} is no tool here`;
  return `${what}: this gateway offers ${[...exposed].join(', ')} (mcp.tools in the daemon's config, which a person edits)`;
}

/** A JSON-RPC error body, as MCP clients read one from a refused HTTP request. */
function rpcError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}
