import type { Logger } from 'pino';
import {
  fillResponse,
  UnknownTypeError,
  type Bus,
  type MessageCodec,
  type QueryPayload,
} from '../../daemon/bus/index.ts';
import type { RosSettings } from '../../daemon/config/index.ts';
import { entityErrorText, type BridgeReport } from './bridge-report.ts';
import { errorText } from '../../daemon/util/index.ts';
import { typeClass, type RosClient, type RosNode, type RosServiceResponse } from './rcl-api.ts';
import type { RosGraphSnapshot } from './ros-graph.ts';

type Served = RosSettings['services']['serve'][number];

/** A ROS service served on the bus: its client, the bus query's end, and the calls in flight. */
interface Called {
  client: RosClient;
  unserve: () => void;
  calls: Set<AbortController>;
}

const JSON_ENCODING = 'application/json';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON of a message as rclnodejs gives it: int64 fields come as bigint, arrays of numbers as typed arrays. */
/** What an action's hidden services and topics have in their names (rcl_action). */
export const ACTION_PART = '/_action/';

export function messageJson(message: unknown): string {
  return JSON.stringify(message, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (ArrayBuffer.isView(value) && !(value instanceof DataView))
      return Array.from(value as unknown as ArrayLike<number>);
    return value;
  });
}

function parseObject(text: string, what: string): Record<string, unknown> {
  const value: unknown = text === '' ? {} : JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

export interface ServiceBridgeOptions {
  node: RosNode;
  bus: Bus;
  /** Checks requests against the definitions registry, where it knows the service type. */
  codec: MessageCodec;
  settings: RosSettings;
  /** ROS services to serve as bus queries (ros.services.call). */
  callable: (service: string) => boolean;
  /** The daemon's node, fully qualified: its own services are never called through the bus. */
  self: string;
  report: BridgeReport;
  log: Logger;
}

/**
 * Services both ways. A ROS service selected by ros.services.call is served on the bus under its own name
 * while a node other than the daemon's serves it (JSON request and reply, as call_service sends); the bus
 * queries named in ros.services.serve are served as ROS services. Requests and replies are messages as
 * rclnodejs gives them (plain objects): rclnodejs has no raw service calls.
 */
export class RosServiceBridge {
  #node: RosNode;
  #bus: Bus;
  #codec: MessageCodec;
  #settings: RosSettings;
  #callable: (service: string) => boolean;
  #self: string;
  #report: BridgeReport;
  #log: Logger;
  #called = new Map<string, Called>();
  #served: string[] = [];

  constructor(options: ServiceBridgeOptions) {
    const { node, bus, codec, settings, callable, self, report, log } = options;
    this.#node = node;
    this.#bus = bus;
    this.#codec = codec;
    this.#settings = settings;
    this.#callable = callable;
    this.#self = self;
    this.#report = report;
    this.#log = log;
  }

  get called(): string[] {
    return [...this.#called.keys()].sort();
  }

  get served(): string[] {
    return [...this.#served];
  }

  /** Creates the ROS services of ros.services.serve. */
  start(): void {
    for (const entry of this.#settings.services.serve) {
      try {
        this.#node.createService(typeClass(entry.type), entry.service, (request, response) => {
          void this.#answer(entry, request, response);
        });
        this.#served.push(entry.service);
        this.#log.info(
          { service: entry.service, type: entry.type, query: entry.query },
          'ros: serving a bus query as a ROS service',
        );
      } catch (error) {
        this.#report.count('auraison_ros_errors_total', { kind: 'service', service: entry.service });
        this.#report.problem(
          `serve ${entry.service}`,
          `cannot serve ${entry.query} as ROS service ${entry.service} (${entry.type}): ${entityErrorText(error, entry.type)}`,
        );
      }
    }
  }

  reconcile(snapshot: RosGraphSnapshot): void {
    for (const [name, { type, servers }] of snapshot.services) {
      if (this.#called.has(name) || !this.#callable(name) || !servers.some((n) => n !== this.#self)) continue;
      // An action's own services go with it (ros.actions), never one by one.
      if (name.includes(ACTION_PART)) continue;
      this.#openCall(name, type);
    }
    for (const [name, called] of [...this.#called]) {
      if (snapshot.services.get(name)?.servers.some((n) => n !== this.#self)) continue;
      called.unserve();
      this.#called.delete(name);
      // A request to a server that left is lost (DDS keeps no request for a server to come): its caller hears so now,
      // not at its timeout.
      const left = new Error(`the server of ROS service ${name} left the graph before it answered`);
      for (const call of called.calls) call.abort(left);
      this.#destroy(() => this.#node.destroyClient(called.client));
      this.#log.info(
        { service: name, calls_ended: called.calls.size },
        'ros: service gone, no longer served on the bus',
      );
    }
  }

  close(): void {
    for (const { client, unserve, calls } of this.#called.values()) {
      unserve();
      for (const call of calls) call.abort(new Error('the ROS bridge stopped'));
      this.#destroy(() => this.#node.destroyClient(client));
    }
    this.#called.clear();
  }

  #openCall(name: string, type: string): void {
    let client: RosClient | undefined;
    try {
      const rosClient = this.#node.createClient(typeClass(type), name);
      client = rosClient;
      const called: Called = { client: rosClient, unserve: () => {}, calls: new Set() };
      called.unserve = this.#bus.serve(name, (request, signal) => this.#call(name, type, called, request, signal));
      this.#called.set(name, called);
      this.#report.resolved(`call ${name}`);
      this.#log.info({ service: name, type }, 'ros: ROS service served as a bus query');
    } catch (error) {
      if (client) this.#destroy(() => this.#node.destroyClient(client!));
      this.#report.count('auraison_ros_errors_total', { kind: 'service', service: name });
      this.#report.problem(
        `call ${name}`,
        `cannot serve ROS service ${name} (${type}) on the bus: ${entityErrorText(error, type)}`,
      );
    }
  }

  async #call(
    name: string,
    type: string,
    { client, calls }: Called,
    request: QueryPayload,
    signal: AbortSignal,
  ): Promise<QueryPayload> {
    const labels = { service: name, direction: 'to_ros' };
    if (request.encoding !== JSON_ENCODING) {
      this.#report.count('auraison_ros_service_calls_total', { ...labels, outcome: 'bad_request' });
      throw new Error(
        `ROS service ${name} takes ${JSON_ENCODING} requests (a message's fields), got ${request.encoding}`,
      );
    }
    const body = this.#checked(
      name,
      type,
      parseObject(decoder.decode(request.payload), `the request to ROS service ${name}`),
    );
    // Ended by the bus (the caller's timeout) or by the bridge (the server left, the bridge stopped).
    const call = new AbortController();
    const onAbort = () => call.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    calls.add(call);
    try {
      const response = await client.sendRequestAsync(body, { signal: call.signal });
      this.#report.count('auraison_ros_service_calls_total', { ...labels, outcome: 'ok' });
      return { encoding: JSON_ENCODING, payload: encoder.encode(messageJson(response)) };
    } catch (error) {
      this.#report.count('auraison_ros_service_calls_total', { ...labels, outcome: 'error' });
      const { reason } = call.signal;
      throw call.signal.aborted && reason instanceof Error ? reason : this.#unconverted(name, type, error);
    } finally {
      calls.delete(call);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * rclnodejs's refusal of a JSON number for an int64 field ("a must be type of bigint"), said with its fix: the
   * daemon converts such fields only for types its definitions registry holds, and a ROS 2 install's share folder
   * holds them all.
   */
  #unconverted(name: string, type: string, error: unknown): unknown {
    if (!/must be type of bigint/.test(errorText(error)) || this.#knows(`${type}_Request`)) return error;
    return new Error(
      `ROS service ${name} (${type}) refused the request: ${errorText(error)}. The daemon has no definition of ` +
        `${type}, so it cannot make 64-bit integer fields the bigints rclnodejs takes: add the share folder of the ` +
        `ROS 2 install (e.g. /opt/ros/jazzy/share) to bus.definitions.dirs`,
    );
  }

  #knows(type: string): boolean {
    try {
      this.#codec.validator(type);
      return true;
    } catch (error) {
      if (error instanceof UnknownTypeError) return false;
      throw error;
    }
  }

  /**
   * The request checked against its type where the definitions registry has it (bus.definitions.dirs): a
   * wrong field is named here, and 64-bit integers, which rclnodejs takes only as bigint, become bigints.
   */
  #checked(name: string, type: string, body: Record<string, unknown>): Record<string, unknown> {
    // Not in the registry: rclnodejs builds the request from the object and says what it refuses.
    const typed = this.#typed(`${type}_Request`, body);
    if (typeof typed === 'string')
      throw new Error(`the request to ROS service ${name} (${type}) is not valid: ${typed}`);
    return typed;
  }

  /** Answers a ROS client from a bus query. Never throws into rclnodejs: every outcome is a response. */
  async #answer(entry: Served, request: object, response: RosServiceResponse): Promise<void> {
    const labels = { service: entry.service, direction: 'from_ros' };
    let reply: unknown;
    let replyText = '';
    let error: string | undefined;
    try {
      const answer = await this.#bus.query(
        entry.query,
        { encoding: JSON_ENCODING, payload: encoder.encode(messageJson(request)) },
        { timeoutMs: this.#settings.services.timeout_ms },
      );
      replyText =
        answer.encoding === JSON_ENCODING
          ? decoder.decode(answer.payload)
          : `${answer.payload.byteLength} bytes of ${answer.encoding}`;
      if (answer.encoding === JSON_ENCODING) reply = JSON.parse(replyText);
    } catch (failure) {
      error = errorText(failure);
    }
    this.#report.count('auraison_ros_service_calls_total', {
      ...labels,
      outcome: error === undefined ? 'ok' : 'error',
    });
    const template = response.template as Record<string, unknown>;
    const typed = this.#typed(`${entry.type}_Response`, fillResponse(template, reply, error, replyText));
    try {
      if (typeof typed === 'string') {
        const unfit = `the reply of ${entry.query} does not fit ${entry.type}: ${typed}`;
        response.send(fillResponse(template, undefined, unfit, ''));
        this.#unanswered(entry, unfit);
      } else {
        response.send(typed);
        this.#report.resolved(`serve ${entry.service}`);
      }
    } catch (failure) {
      this.#unanswered(entry, errorText(failure));
      // The client still gets an answer, the type's defaults (success false and the problem where it has them),
      // rather than waiting for one that never comes.
      try {
        response.send(fillResponse(template, undefined, errorText(failure), ''));
      } catch {
        // Nothing more to send: the problem says why.
      }
    }
  }

  #unanswered(entry: Served, why: string): void {
    this.#report.count('auraison_ros_errors_total', { kind: 'service', service: entry.service });
    this.#report.problem(`serve ${entry.service}`, `cannot answer ROS service ${entry.service}: ${why}`);
  }

  /**
   * A response checked against its type where the definitions registry has it: 64-bit integers (decimal strings in
   * the bus's JSON) become the bigints rclnodejs's setters take. A problem's text where it does not fit.
   */
  #typed(type: string, body: Record<string, unknown>): Record<string, unknown> | string {
    let validator;
    try {
      validator = this.#codec.validator(type);
    } catch (error) {
      if (error instanceof UnknownTypeError) return body;
      throw error;
    }
    const check = validator.check(body);
    return check.ok ? (check.value as Record<string, unknown>) : check.problem;
  }

  #destroy(destroy: () => void): void {
    try {
      destroy();
    } catch (error) {
      this.#log.debug({ err: errorText(error) }, 'ros: destroying a client failed');
    }
  }
}
