import type { RosClient, RosServiceResponse, TypeClass } from '../../../adapters/ros/index.ts';
import type { DoubleNode } from './node.ts';

type Plain = Record<string, unknown>;

/**
 * A message as rclnodejs builds one from a plain object: the type's fields, defaults for those not given; a
 * 64-bit integer field takes only a bigint (its generated setter throws, rosidl_gen/templates).
 */
export function conform(template: Plain, given: unknown): Plain {
  const source = typeof given === 'object' && given !== null ? (given as Plain) : {};
  const out: Plain = {};
  for (const [key, value] of Object.entries(template)) {
    if (!(key in source)) {
      out[key] = value;
      continue;
    }
    if (typeof value === 'bigint' && typeof source[key] !== 'bigint')
      throw new TypeError(`${key} must be type of bigint`);
    out[key] = source[key];
  }
  return out;
}

export type ServiceHandler = (request: Plain, response: DoubleServiceResponse) => unknown;

/** Service#processRequest's Response (lib/service.js). */
export class DoubleServiceResponse implements RosServiceResponse {
  sent = false;

  constructor(
    readonly service: DoubleService,
    readonly reply: (response: Plain) => void,
  ) {}

  get template(): Plain {
    return { ...this.service.templates.response };
  }

  send(response: object): void {
    this.reply(conform(this.service.templates.response, response));
    this.sent = true;
  }
}

export class DoubleService {
  readonly options: object = {};

  constructor(
    readonly node: DoubleNode,
    readonly serviceName: string,
    readonly type: string,
    readonly templates: { request: Plain; response: Plain },
    readonly callback: ServiceHandler,
  ) {}

  /** As lib/service.js: a returned value is the response unless send() was called; a rejection is only logged. */
  processRequest(request: Plain, reply: (response: Plain) => void): void {
    const response = new DoubleServiceResponse(this, reply);
    Promise.resolve(this.callback(conform(this.templates.request, request), response))
      .then((returned) => {
        if (!response.sent && returned) reply(conform(this.templates.response, returned));
      })
      .catch((error: unknown) =>
        this.node.world.logged.push(`Error processing ${this.serviceName} request: ${String(error)}`),
      );
  }
}

/** Client#sendRequestAsync's options (lib/client.js). */
export interface RequestOptions {
  timeout?: number;
  signal?: AbortSignal;
}

export class DoubleClient implements RosClient {
  constructor(
    readonly node: DoubleNode,
    readonly typeClass: TypeClass,
    readonly serviceName: string,
    readonly type: string,
  ) {}

  /** As Client#sendRequest: the Request is built (and refused) in the caller's call. */
  #build(request: object): Plain {
    return conform(this.node.world.serviceTemplates(this.type).request, request);
  }

  /** As lib/client.js: pending until a response, the timeout (TimeoutError) or the signal (AbortError). */
  sendRequestAsync(request: object, options: RequestOptions = {}): Promise<object> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const signals = [
        options.signal,
        options.timeout !== undefined && options.timeout >= 0 ? AbortSignal.timeout(options.timeout) : undefined,
      ];
      const live = signals.filter((s): s is AbortSignal => s !== undefined);
      const fail = () => {
        if (settled) return;
        settled = true;
        const timedOut = options.signal?.aborted !== true && options.timeout !== undefined;
        reject(
          new Error(timedOut ? `Service request timeout after ${options.timeout}ms` : 'Service request was aborted'),
        );
      };
      for (const s of live) {
        if (s.aborted) return fail();
        s.addEventListener('abort', fail, { once: true });
      }
      this.node.world.request(this, this.#build(request), (response) => {
        if (settled) return;
        settled = true;
        resolve(response);
      });
    });
  }

  isServiceServerAvailable(): boolean {
    return this.node.world.serverOf(this) !== undefined;
  }
}
