import type { MqttClient } from 'mqtt';

/**
 * Turns Nagle's algorithm off on the client's TCP (or TLS) socket. mqtt.js leaves it on, and a few QoS 1
 * publishes in flight then meet the peer's delayed ACK: with 4 batches of 40 kB outstanding, 500 of them took
 * 2 s on loopback instead of 0.06 s (bench/sync-drain.bench.ts). Small packets (PUBACKs, heartbeats) go at
 * once too. A WebSocket stream has no such switch and is left as it is.
 */
export function noDelay(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (on: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}
