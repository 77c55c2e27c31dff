import { errorText } from '../util/index.ts';
/**
 * Words for what was wrong with a client's frame, for the status the client gets and the daemon's log. The
 * protocol server (@foxglove/ws-protocol) reports a bad frame only as an Error, often a JavaScript one
 * ("message.subscriptions is not iterable"); these say which field of which op, as the protocol names them.
 */

/** Binary client opcodes and the header each starts with (ws-protocol's ClientBinaryOpcode). */
const MESSAGE_DATA = 1;
const SERVICE_CALL_REQUEST = 2;
const BINARY_HEADERS = new Map([
  [MESSAGE_DATA, { name: 'message data', bytes: 5, layout: 'opcode, channel id' }],
  [
    SERVICE_CALL_REQUEST,
    { name: 'service call request', bytes: 13, layout: 'opcode, service id, call id, encoding length' },
  ],
]);

/** The list each op carries, and what its items must be. */
const OP_LISTS: Record<string, { key: string; items: string; ok: (item: unknown) => boolean }> = {
  subscribe: {
    key: 'subscriptions',
    items: '{id, channelId} objects',
    ok: (s) => isObject(s) && typeof s.id === 'number' && typeof s.channelId === 'number',
  },
  unsubscribe: { key: 'subscriptionIds', items: 'subscription ids (numbers)', ok: (id) => typeof id === 'number' },
  advertise: { key: 'channels', items: '{id, topic, encoding, schemaName} objects', ok: isObject },
  unadvertise: { key: 'channelIds', items: 'channel ids (numbers)', ok: (id) => typeof id === 'number' },
};

/** The text ops this server handles itself. */
const HANDLED_OPS = new Set<unknown>(['subscribe', 'unsubscribe']);
/** Ops the protocol defines that need a capability; the server ignores them silently when it lacks it. */
const PUBLISH_OPS = new Set<unknown>(['advertise', 'unadvertise', MESSAGE_DATA]);
const UNOFFERED_OPS = new Set<unknown>([
  'getParameters',
  'setParameters',
  'subscribeParameterUpdates',
  'unsubscribeParameterUpdates',
  'subscribeConnectionGraph',
  'unsubscribeConnectionGraph',
  'fetchAsset',
  SERVICE_CALL_REQUEST,
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function quote(text: string): string {
  const shown = JSON.stringify(text);
  return shown.length > 40 ? `${shown.slice(0, 37)}..."` : shown;
}

/** The opcode of a binary frame; undefined for text or an empty frame. */
export function binaryOpcode(data: unknown): number | undefined {
  return bytesOf(data)?.[0];
}

/**
 * Why a parsed text frame must not reach the protocol server, or undefined. The server answers each item of
 * an op's list on its own (a status per unknown subscription id, per subscription it refuses) and takes a
 * string as a list of its characters: one 1 MB frame would make it send a million statuses and hold the
 * daemon for seconds. So a list must be a JSON array of at most `maxItems` (a client never needs more than
 * one subscription per channel); anything else that is not a list the server throws on, as before.
 */
export function oversizedList(message: unknown, maxItems: number): string | undefined {
  if (!isObject(message) || typeof message.op !== 'string' || !Object.hasOwn(OP_LISTS, message.op)) return undefined;
  const { op } = message;
  const list = OP_LISTS[op]!;
  const items = message[list.key];
  if (typeof items === 'string') return `${op}: "${list.key}" must be a list of ${list.items}, got a string`;
  if (Array.isArray(items) && items.length > maxItems)
    return `${op}: ${items.length} ${list.key} in one frame, more than the ${maxItems} this server takes in one (send them in several frames)`;
  return undefined;
}

/** What was wrong with a frame the protocol server threw on, given the frame and what it threw. */
export function describeBadFrame(data: unknown, error: Error): string {
  if (typeof data === 'string') return describeText(data, error);
  const bytes = bytesOf(data);
  if (!bytes) return error.message;
  if (bytes.byteLength === 0) return 'empty binary frame';
  const op = bytes[0]!;
  const header = BINARY_HEADERS.get(op);
  if (!header)
    return `binary frame with opcode ${op}, which the protocol does not define for clients (${MESSAGE_DATA} is message data)`;
  if (bytes.byteLength < header.bytes)
    return `${header.name} frame of ${bytes.byteLength} bytes is shorter than its ${header.bytes}-byte header (${header.layout})`;
  const unknownChannel = /^Client sent message data for unknown channel (\d+)$/.exec(error.message);
  if (unknownChannel)
    return `message data on channel ${unknownChannel[1]}, which this client has not advertised (advertise it first)`;
  return `${header.name}: ${error.message}`;
}

function describeText(text: string, error: Error): string {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (parseError) {
    return `text frame is not JSON: ${errorText(parseError)}`;
  }
  if (!isObject(message))
    return `text frame is not a JSON object with an "op", got ${message === null ? 'null' : Array.isArray(message) ? 'an array' : typeof message}`;
  const { op } = message;
  if (typeof op !== 'string') return 'text frame has no "op" (a string)';
  const list = OP_LISTS[op];
  if (list) {
    const items = message[list.key];
    if (!Array.isArray(items)) return `${op}: "${list.key}" must be a list of ${list.items}`;
    const bad = items.findIndex((item) => !list.ok(item));
    if (bad >= 0) return `${op}: ${list.key}[${bad}] must be one of ${list.items}`;
    return `${op}: ${error.message}`;
  }
  if (PUBLISH_OPS.has(op) || UNOFFERED_OPS.has(op)) return `${op}: ${error.message}`;
  return unknownOp(op);
}

function unknownOp(op: string): string {
  return `unknown op ${quote(op)} (this server takes subscribe, unsubscribe, advertise, unadvertise)`;
}

/**
 * Why the server ignored an op (a text op, or a binary opcode) of a frame it did not throw on, or undefined
 * when it handled the op. The protocol server drops these without a word; the client should hear why. Besides
 * the ops it does not offer, it drops an unknown op named like a property of every object (`toString`,
 * `constructor`): it looks up each op's capability in a plain object.
 */
export function ignoredOp(op: unknown, capabilities: readonly string[]): string | undefined {
  const name = typeof op === 'number' ? BINARY_HEADERS.get(op)?.name : op;
  if (PUBLISH_OPS.has(op))
    return capabilities.includes('clientPublish')
      ? undefined
      : `${name}: client publishing is off on this daemon (foxglove.client_publish.enabled)`;
  if (UNOFFERED_OPS.has(op)) return `${name} is not supported by this daemon`;
  if (typeof op === 'string' && !HANDLED_OPS.has(op)) return unknownOp(op);
  return undefined;
}
