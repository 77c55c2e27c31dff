import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { MqttConnectionOptions } from './mqtt-connection.ts';

/** How long a stop waits for a socket to close after its DISCONNECT before destroying it. */
const DISCONNECT_MS = 250;

/**
 * The mqtt.js client's options for the link: MQTT 5, a persistent session (Clean Start off, a session expiry), a
 * retained last will, reconnects left to the caller, and every QoS 1 and 2 message acknowledged by `acknowledge`.
 */
export function clientOptions(
  o: MqttConnectionOptions,
  acknowledge: (
    topic: string,
    message: Buffer,
    packet: IPublishPacket,
    done: (error: Error | number, code?: number) => void,
  ) => void,
): IClientOptions {
  return {
    protocolVersion: 5,
    clientId: o.clientId,
    clean: false,
    keepalive: o.keepaliveS,
    connectTimeout: o.connectTimeoutMs,
    // Reconnects are ours (backoff with jitter); mqtt.js's own would retry at a fixed period.
    reconnectPeriod: 0,
    properties: {
      sessionExpiryInterval: o.sessionExpiryS,
      maximumPacketSize: o.maximumPacketSize,
      receiveMaximum: 32,
    },
    will: {
      topic: o.will.topic,
      payload: o.will.payload,
      qos: 1,
      retain: true,
      properties: { contentType: 'application/json' },
    },
    customHandleAcks: (topic, message, packet, done) => acknowledge(topic, message, packet as IPublishPacket, done),
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.cert ? { cert: o.cert } : {}),
    ...(o.key ? { key: o.key } : {}),
  };
}

/** Resolves once nothing the client sent waits for the broker's answer, the link closed, or `ms` passed. */
export function drained(client: MqttClient, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('packetreceive', onPacket);
      client.off('close', done);
      resolve();
    };
    // An ack is taken off `outgoing` after 'packetreceive' is emitted for it.
    const onPacket = (): void => void setImmediate(check);
    const check = (): void => {
      if (!client.connected || Object.keys(client.outgoing).length === 0) done();
    };
    const timer = setTimeout(done, ms);
    client.on('packetreceive', onPacket);
    client.on('close', done);
    check();
  });
}

/**
 * Ends the client: a clean DISCONNECT (reason 0) when `clean`, else the socket is closed under it. Resolves once it
 * closed.
 */
export async function endClient(client: MqttClient, clean: boolean): Promise<void> {
  // mqtt.js's end(false) waits, with no limit, for what is in flight, and for a socket able to take the
  // DISCONNECT; a later end(true) then does nothing. So end(false) only once nothing is in flight, and a
  // socket that still does not close is destroyed: its 'close' completes the end.
  await new Promise<void>((resolve) => {
    const backstop = setTimeout(() => client.stream?.destroy(), DISCONNECT_MS);
    client.end(!clean, clean ? { reasonCode: 0 } : {}, () => {
      clearTimeout(backstop);
      resolve();
    });
  });
}
