import wsProtocol, { type Channel, type MessageData, type StatusMessage } from '@foxglove/ws-protocol';
import { afterEach } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import type { Bus } from '../../daemon/bus/bus.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { PolicyHook } from '../../daemon/contract/policy-hook.ts';
import { FoxgloveBridge, type FoxgloveBridgeOptions } from '../../daemon/foxglove/foxglove-bridge.ts';
import type { Component, ComponentContext } from '../../daemon/lifecycle/component.ts';
import { waitFor } from '../helpers/wait.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';

/** What the Foxglove tests share: a bridge on the API harness, Foxglove clients, Twists, the bridge's counters. */

const { FoxgloveClient } = wsProtocol;
type Client = InstanceType<typeof FoxgloveClient>;

export type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };
export const twist = (x: number, z = 0): Twist => ({ linear: { x, y: 0, z: 0 }, angular: { x: 0, y: 0, z } });

/** Every Twist published on /cmd_vel from now on (what the robot's base would get), but those `skip` says to ignore. */
export function cmdVel(bus: Bus, codec: MessageCodec, skip: (m: BusMessage) => boolean = () => false): Twist[] {
  const received: Twist[] = [];
  bus.subscribe({
    name: 'base',
    topic: '/cmd_vel',
    handler: (m) => void (skip(m) || received.push(codec.decode<Twist>(m.type, m.data))),
  });
  return received;
}

/** A running agent, as the bridge finds one: a component with policy hooks. */
export function policyAgent(hooks: () => PolicyHook[]): Component & { policyHooks(): PolicyHook[] } {
  return {
    name: 'agent',
    start: async () => {},
    close: async () => {},
    health: () => ({ state: 'running' }),
    policyHooks: hooks,
  };
}

/** A Foxglove client (ws-protocol's own) that records what it receives. */
export interface TestClient {
  ws: WebSocket;
  client: Client;
  /** Channels advertised to it, by topic. */
  channels: Map<string, Channel>;
  messages: MessageData[];
  statuses: StatusMessage[];
  /** The server's capabilities, once its server info came. */
  info: { capabilities: string[] };
  /** Whether the server info came. */
  ready: () => boolean;
}

export interface StartedBridge {
  h: Harness;
  bridge: FoxgloveBridge;
  codec: MessageCodec;
}

/**
 * Registers an afterEach that closes what a test started (its clients, bridges and harnesses, newest first)
 * and returns the ways to start them. Call it once, at the top of a test file.
 */
export function foxgloveTestBed() {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A bridge on the API harness (no HTTP API); `ctx` changes the context it gets (a logger to read). */
  async function start(
    options: HarnessOptions = {},
    bridgeOptions: FoxgloveBridgeOptions = {},
    ctx: Partial<ComponentContext> = {},
  ): Promise<StartedBridge> {
    const h = await startHarness({ startApi: false, ...options });
    cleanups.push(() => h.close());
    const bridge = new FoxgloveBridge({ ...h.ctx, ...ctx }, h.ctx.config.foxglove, bridgeOptions);
    await bridge.start();
    cleanups.push(() => bridge.close());
    h.components.set('foxglove', bridge);
    return { h, bridge, codec: new MessageCodec(h.definitions) };
  }

  /** A Foxglove client on `url`, terminated after the test. */
  function connect(url: string, options: ClientOptions = {}): TestClient {
    const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], options);
    cleanups.push(() => ws.terminate());
    const client: Client = new FoxgloveClient({
      ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'],
    });
    const channels = new Map<string, Channel>();
    const messages: MessageData[] = [];
    const statuses: StatusMessage[] = [];
    const info: { capabilities: string[] } = { capabilities: [] };
    let ready = false;
    client.on('serverInfo', (s) => {
      info.capabilities = s.capabilities;
      ready = true;
    });
    client.on('advertise', (list) => list.forEach((c) => channels.set(c.topic, c)));
    client.on('message', (m) => messages.push(m));
    client.on('status', (s) => statuses.push(s));
    return { ws, client, channels, messages, statuses, info, ready: () => ready };
  }

  /** A client once the server info came. */
  async function connectReady(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const c = connect(url, options);
    await waitFor(c.ready, 'server info');
    return c;
  }

  return { start, connect, connectReady, cleanups };
}

/**
 * Resolves once the server has handled every frame this client sent before: a WebSocket ping is read after
 * them and answered (pong) only then. What a test waits on instead of a sleep, which a loaded machine outlasts.
 */
export function serverHasRead(c: { ws: WebSocket }): Promise<void> {
  return new Promise((resolve) => {
    c.ws.once('pong', () => resolve());
    c.ws.ping();
  });
}

/** A labelled sample of one of the bridge's metric families (undefined when the family or label is absent). */
export function metricSample(bridge: FoxgloveBridge, family: string, label: string, value: string): number | undefined {
  return bridge
    .metrics()
    .find((f) => f.name === family)
    ?.samples.find((s) => s.labels?.[label] === value)?.value;
}

/** Client publishes by outcome (published, denied, invalid, limited, refused, dropped, rewritten). */
export const publishCount = (bridge: FoxgloveBridge, outcome: string): number | undefined =>
  metricSample(bridge, 'auraison_foxglove_client_publish_total', 'outcome', outcome);

/** Stops the bridge published for a client, by why (disconnected, unadvertised, silent). */
export const teleopStops = (bridge: FoxgloveBridge, reason: string): number | undefined =>
  metricSample(bridge, 'auraison_foxglove_teleop_stops_total', 'reason', reason);

/** Bus publishers and subscribers of a topic (undefined when the bus has not seen it). */
export function topicStats(h: Pick<Harness, 'bus'>, topic: string) {
  return h.bus.stats().find((t) => t.topic === topic);
}
