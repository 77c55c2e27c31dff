import wsProtocol, { type StatusMessage } from '@foxglove/ws-protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';
import { foxgloveTestBed, metricSample } from './foxglove-harness.ts';

// What connections the bridge takes: at most foxglove.max_clients at once (a lab of laptops, or a client's
// reconnect loop, must not make the robot stream /scan and /map to hundreds of sockets), only the Foxglove
// subprotocol, and what a stream of faulty connections makes the daemon log.

const { FoxgloveClient } = wsProtocol;
const { start, connectReady, cleanups } = foxgloveTestBed();

type Line = { msg: string; held_back?: number; suppressed?: number; key?: string; err?: string };

/** A logger whose lines the test reads. */
function captureLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

/** A connection as any Foxglove client opens it, recording what it is told until it is closed. */
function rawClient(url: string, protocols: string[] = [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) {
  const ws = new WebSocket(url, protocols);
  cleanups.push(() => ws.terminate());
  const seen = {
    ops: [] as string[],
    statuses: [] as StatusMessage[],
    close: undefined as { code: number; reason: string } | undefined,
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as { op: string };
    seen.ops.push(message.op);
    if (message.op === 'status') seen.statuses.push(message as unknown as StatusMessage);
  });
  ws.on('close', (code, reason) => (seen.close = { code, reason: reason.toString() }));
  ws.on('error', () => {});
  return { ws, seen };
}

describe('foxglove.max_clients', () => {
  it('refuses a client past the limit with a status and close 1013 naming the key, counts it, logs once per burst, and takes one once a slot is free', async () => {
    let now = 0;
    const { log, lines } = captureLog();
    const { bridge } = await start({ foxglove: { max_clients: 2 } }, { now: () => now }, { log });
    const a = await connectReady(bridge.url!);
    await connectReady(bridge.url!);
    const refusedLines = () => lines.filter((l) => l.msg.startsWith('foxglove: refused a client'));

    const extra = Array.from({ length: 5 }, () => rawClient(bridge.url!));
    await waitFor(() => extra.every((c) => c.seen.close !== undefined), 'the extra clients closed');
    for (const { seen } of extra) {
      expect(seen.close).toEqual({ code: 1013, reason: 'server full: foxglove.max_clients is 2' });
      // Told why, and never served: no serverInfo, no advertisement of /scan or /map.
      expect(seen.ops).toEqual(['status']);
      expect(seen.statuses[0]).toMatchObject({
        level: wsProtocol.StatusLevel.ERROR,
        message:
          'this daemon serves at most 2 Foxglove clients at once and 2 are connected: close one, or raise foxglove.max_clients',
      });
    }
    expect(metricSample(bridge, 'auraison_foxglove_refused_clients_total', 'reason', 'max_clients')).toBe(5);
    expect(bridge.metrics().find((f) => f.name === 'auraison_foxglove_clients')!.samples[0]!.value).toBe(2);
    expect(refusedLines()).toHaveLength(1);
    expect(refusedLines()[0]).toMatchObject({ key: 'foxglove.max_clients', held_back: 0 });

    // The next burst gets a line again, with the count of the ones not logged.
    now += 10_000;
    const late = rawClient(bridge.url!);
    await waitFor(() => late.seen.close !== undefined, 'the late client closed');
    expect(refusedLines()).toHaveLength(2);
    expect(refusedLines()[1]).toMatchObject({ held_back: 4 });

    // A client that leaves frees its slot.
    a.ws.close();
    await waitFor(() => bridge.health().details?.clients === 1, 'the first client gone');
    const next = await connectReady(bridge.url!);
    expect(next.statuses).toEqual([]);
    expect(bridge.health().details).toMatchObject({ clients: 2, max_clients: 2 });
  });
});

describe('the Foxglove handshake', () => {
  it('refuses a client that offers only other subprotocols with 400 saying what the server speaks, and serves one that offers none', async () => {
    const { log, lines } = captureLog();
    const { bridge } = await start({}, {}, { log });
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(bridge.url!, ['ros1']);
      cleanups.push(() => ws.terminate());
      ws.once('open', () => reject(new Error('the handshake was taken')));
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
    });
    expect(refused).toEqual({
      status: 400,
      body: 'this is a Foxglove WebSocket server: it speaks subprotocol foxglove.websocket.v1, and the client offered only ros1',
    });
    expect(metricSample(bridge, 'auraison_foxglove_refused_clients_total', 'reason', 'subprotocol')).toBe(1);
    expect(
      lines.filter((l) => l.msg.startsWith('foxglove: refused a WebSocket: this is a Foxglove WebSocket server')),
    ).toHaveLength(1);
    expect(bridge.health().details?.clients).toBe(0);

    // A script that offers no subprotocol is served, as before.
    const script = rawClient(bridge.url!, []);
    await waitFor(() => script.seen.ops.includes('serverInfo'), 'server info for a client with no subprotocol');
  });

  it('logs connection errors (frames over foxglove.max_message_bytes) at most once per 10 s, whoever sends them', async () => {
    let now = 0;
    const { log, lines } = captureLog();
    const { bridge } = await start({ foxglove: { max_message_bytes: 4096 } }, { now: () => now }, { log });
    const errorLines = () => lines.filter((l) => l.msg === 'foxglove client connection error; closed');
    const oversized = async (count: number) => {
      const clients = await Promise.all(Array.from({ length: count }, () => connectReady(bridge.url!)));
      const closes = clients.map((c) => new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code))));
      for (const c of clients) c.ws.send('x'.repeat(8192));
      return Promise.all(closes);
    };
    expect(await oversized(5)).toEqual([1009, 1009, 1009, 1009, 1009]);
    expect(errorLines()).toHaveLength(1);
    now += 10_000;
    await oversized(1);
    expect(errorLines()).toHaveLength(2);
    expect(errorLines()[1]).toMatchObject({ suppressed: 4, err: expect.stringMatching(/Max payload size exceeded/) });
  });
});
