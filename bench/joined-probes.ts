import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import { cdrPayload, wallNs } from './zenoh-fairness.ts';
import { loadZenoh } from '../adapters/zenoh/index.ts';
import type { Daemon } from '../daemon/daemon.ts';

// What the joined benches measure a topic with: payloads that say which they are, the bus's view of them, their
// arrival at a zenoh-ts subscriber, and a count of a large topic's samples from a process of its own.

/** Distinct payloads, each carrying its index in its last 4 bytes: what ties an arrival to its send time. */
export const DISTINCT = 250; // 50 KB of hex on the publisher's command line (one argument may hold 128 KiB)

export const indexOf = (data: Uint8Array) =>
  new DataView(data.buffer, data.byteOffset).getUint32(data.byteLength - 4, true);

/** DISTINCT CDR payloads of `size` bytes. */
export const payloads = (size: number) =>
  Array.from({ length: DISTINCT }, (_, i) => {
    const data = cdrPayload(size);
    new DataView(data.buffer).setUint32(size - 4, i, true);
    return data;
  });

export interface Lane {
  latencies: number[];
  close(): Promise<void>;
}

/** Latencies at a zenoh-ts subscriber of `key` on `url`, each from the send time the bus saw for its payload. */
export async function arrivals(url: string, key: string, sentAt: Map<number, bigint>): Promise<Lane> {
  const zenoh = await loadZenoh();
  const session = await zenoh.Session.open(new zenoh.Config(url));
  const latencies: number[] = [];
  await session.declareSubscriber(key, {
    handler: (sample: Sample) => {
      const sent = sentAt.get(indexOf(sample.payload().toBytes()));
      if (sent !== undefined) latencies.push(Number(wallNs() - sent) / 1e6);
    },
  });
  return { latencies, close: () => session.close() };
}

/** The bus's view of a topic: each payload's send time (the publisher's source timestamp), and hop 1's latency. */
export function onBus(daemon: Daemon, topic: string) {
  const sentAt = new Map<number, bigint>();
  const latencies: number[] = [];
  const sub = daemon.bus.subscribe({
    name: `bench ${topic}`,
    topic,
    queue: { policy: 'drop-oldest', depth: 10_000 },
    handler: (m) => {
      sentAt.set(indexOf(m.data), m.publishTime);
      latencies.push(Number(wallNs() - m.publishTime) / 1e6);
    },
  });
  return { sentAt, latencies, stop: () => daemon.bus.unsubscribe(sub) };
}

/** A count of the samples of `key` on `url`, heard by a zenoh-ts subscriber in a child process. */
export async function counted(url: string, key: string): Promise<{ count(): number; close(): void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'zenoh-count-child.ts'), url, key],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let count = 0;
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => (line === 'ready' ? resolve() : count++));
    child.once('exit', (code) => reject(new Error(`bench/zenoh-count-child.ts exited (${code}) before it was ready`)));
  });
  return { count: () => count, close: () => child.stdin.end() };
}

export const sorted = (figures: number[]) => Float64Array.from(figures).sort();
