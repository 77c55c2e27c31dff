import { ReasonCodes, type IPublishPacket } from 'mqtt';
import { connackRefusal } from './link-settings.ts';

/**
 * An upper bound of a PUBLISH packet's size (MQTT 5, 3.3): fixed header, topic, packet id, the properties
 * this link sets (content type, correlation data, response topic) and the payload.
 */
export function publishPacketBytes(
  topic: string,
  payload: Buffer | string,
  properties: IPublishPacket['properties'] = {},
): number {
  const text = (value: string | undefined) => (value === undefined ? 0 : 3 + Buffer.byteLength(value));
  const props =
    text(properties.contentType) +
    text(properties.responseTopic) +
    (properties.correlationData ? 3 + properties.correlationData.length : 0) +
    16;
  return 1 + 4 + 2 + Buffer.byteLength(topic) + 2 + 4 + props + Buffer.byteLength(payload);
}

/** An mqtt.js error in words an operator can act on: the CONNACK reason, or the socket error. */
export function describeError(error: Error & { code?: unknown }): string {
  if (typeof error.code === 'number')
    return connackRefusal(error.code, ReasonCodes[error.code as keyof typeof ReasonCodes] ?? 'reason');
  return error.message;
}
