/** What the server sends that is not the ws-protocol library's own: the journal's channel, message frames. */

/** The channel that carries the durable journal (runs, agent events) as JSON. */
export const EVENTS_TOPIC = '/auraison/events';
export const JOURNAL_RECORD_SCHEMA = JSON.stringify({
  type: 'object',
  properties: { seq: { type: 'integer' }, ts: { type: 'string' }, kind: { type: 'string' }, data: {} },
  required: ['seq', 'ts', 'kind', 'data'],
});

/** Message-data frame of the ws-protocol: opcode, subscription id, timestamp, payload. */
export function messageFrame(subscriptionId: number, timestamp: bigint, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(13 + data.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, 1);
  view.setUint32(1, subscriptionId, true);
  view.setBigUint64(5, timestamp, true);
  frame.set(data, 13);
  return frame;
}
