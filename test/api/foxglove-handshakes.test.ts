import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import wsProtocol from '@foxglove/ws-protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { foxgloveTestBed, metricSample, serverHasRead } from './foxglove-harness.ts';

// What a peer can make the Foxglove server hold at the TCP level: sockets of clients it closed that never
// answer the close (ws waits 30 s for them by default), and connections that never finish their handshake
// (slowloris): at most foxglove.max_pending_per_ip per address, each for at most foxglove.handshake_timeout_ms.

const { FoxgloveClient } = wsProtocol;
const { start, connectReady, cleanups } = foxgloveTestBed();

/**
 * ws waits 30 s for a close handshake by default: a wait well short of it fails without the bound, and is far
 * more than the bound (2 s) needs. A condition wait, not a timing threshold.
 */
const WELL_BELOW_30_S = 10_000;

type Line = { msg: string; held_back?: number; key?: string; client?: string; pending?: number };

function captureLog(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

/** A TCP connection to the server at `url`, from `localAddress` (any address of 127.0.0.0/8 is this machine). */
function tcp(url: string, localAddress = '127.0.0.1') {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), localAddress });
  cleanups.push(() => void socket.destroy());
  const state = { received: '', closed: false };
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString('latin1')));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  return { socket, state };
}

/**
 * A WebSocket client done by hand that reads what the server sends and never answers a close frame (nor closes
 * its side): a peer that does not finish the close handshake. `closed` turns true when the server destroys
 * the socket.
 */
function silentPeer(url: string) {
  const { socket, state } = tcp(url);
  const { host } = new URL(url);
  socket.write(
    [
      'GET / HTTP/1.1',
      `Host: ${host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Protocol: ${FoxgloveClient.SUPPORTED_SUBPROTOCOL}`,
      '',
      '',
    ].join('\r\n'),
  );
  return {
    socket,
    state,
    /** The ops of the server's text frames. */
    ops: () =>
      serverFrames(state.received).flatMap((f) =>
        f.opcode === 1 ? [(JSON.parse(f.payload.toString()) as { op: string }).op] : [],
      ),
    /** The code of the server's close frame, once it came. */
    closeCode: () =>
      serverFrames(state.received)
        .find((f) => f.opcode === 8)
        ?.payload.readUInt16BE(0),
  };
}

/** The frames in what the server sent after its 101 answer (server frames are not masked). */
function serverFrames(received: string): { opcode: number; payload: Buffer }[] {
  const head = received.indexOf('\r\n\r\n');
  if (head < 0) return [];
  const bytes = Buffer.from(received.slice(head + 4), 'latin1');
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > bytes.length) break;
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) break;
    frames.push({ opcode: bytes[at]! & 0x0f, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** The header of a masked text frame of `length` bytes, no payload after it (ws refuses it on the length alone). */
function textFrameHeader(length: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = 0x81; // FIN, text
  header[1] = 0x80 | 126; // masked, 16-bit length
  header.writeUInt16BE(length, 2);
  return header; // the last 4 bytes: a mask key of zeros
}

describe('a client the Foxglove server closes', () => {
  it('is destroyed shortly when it never answers the close: a refused client (max_clients) and one that broke the protocol (an oversized frame)', async () => {
    const { bridge } = await start({ foxglove: { max_clients: 2, max_message_bytes: 4096 } });
    const kept = await connectReady(bridge.url!);
    const misbehaving = silentPeer(bridge.url!);
    await waitFor(() => misbehaving.ops().includes('serverInfo'), 'the hand-made client served');
    const refused = silentPeer(bridge.url!);
    await waitFor(() => refused.closeCode() !== undefined, 'the close frame to the client past max_clients');
    expect(refused.closeCode()).toBe(1013);
    misbehaving.socket.write(textFrameHeader(8192));
    await waitFor(
      () => misbehaving.closeCode() !== undefined,
      'the close frame to the client that sent an oversized frame',
    );
    expect(misbehaving.closeCode()).toBe(1009);

    // Neither answers; the server destroys both sockets (the peer sees the connection end).
    await waitFor(() => refused.state.closed && misbehaving.state.closed, 'both silent peers cut off', WELL_BELOW_30_S);
    await waitFor(() => bridge.health().details?.clients === 1, 'the misbehaving client gone from the count');
    await serverHasRead(kept);
  });
});

describe('connections that never finish their WebSocket handshake', () => {
  it('are held at most foxglove.max_pending_per_ip per address; one more is closed at once, counted and logged, while other addresses connect', async () => {
    const { log, lines } = captureLog();
    // A long handshake timeout: what closes the extra connection here is the per-address bound.
    const { bridge } = await start({ foxglove: { max_pending_per_ip: 3, handshake_timeout_ms: 60_000 } }, {}, { log });
    const slow = Array.from({ length: 3 }, () => tcp(bridge.url!, '127.0.0.2'));
    for (const { socket } of slow) socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and never the rest
    await waitFor(() => bridge.pendingHandshakes === 3, 'three unfinished handshakes counted');

    const extra = tcp(bridge.url!, '127.0.0.2');
    await waitFor(() => extra.state.closed, 'the fourth connection from 127.0.0.2 closed', WELL_BELOW_30_S);
    expect(metricSample(bridge, 'auraison_foxglove_refused_clients_total', 'reason', 'pending_per_ip')).toBe(1);
    const refusedLines = lines.filter((l) => l.msg.startsWith('foxglove: refused a connection from 127.0.0.2'));
    expect(refusedLines).toEqual([
      expect.objectContaining({
        msg: 'foxglove: refused a connection from 127.0.0.2: it has 3 connections that have not finished their WebSocket handshake, foxglove.max_pending_per_ip is 3',
        key: 'foxglove.max_pending_per_ip',
        pending: 3,
        held_back: 0,
      }),
    ]);

    // Another address is served meanwhile; the slow ones are still open (nothing but the bound cut any).
    const other = await connectReady(bridge.url!);
    expect(slow.every((s) => !s.state.closed)).toBe(true);
    expect(bridge.pendingHandshakes).toBe(3);

    // One slow connection goes: 127.0.0.2 may finish a handshake again, and a finished one holds no slot.
    slow[0]!.socket.destroy();
    await waitFor(() => bridge.pendingHandshakes === 2, 'the closed connection no longer counted');
    const fromSlowAddress = await connectReady(bridge.url!, { localAddress: '127.0.0.2' });
    expect(bridge.pendingHandshakes).toBe(2);
    expect(bridge.health().details?.clients).toBe(2);
    for (const { socket } of slow) socket.destroy();
    await waitFor(() => bridge.pendingHandshakes === 0, 'nothing counted once the slow connections are gone');
    await serverHasRead(other);
    await serverHasRead(fromSlowAddress);
  });

  it('get 408 and are closed after foxglove.handshake_timeout_ms, also one that sends nothing; an open WebSocket is not cut', async () => {
    const { log, lines } = captureLog();
    const { bridge } = await start({ foxglove: { handshake_timeout_ms: 1000 } }, {}, { log });
    // Connected before the slow ones: once they are cut off, it has been open longer than the timeout too.
    const kept = await connectReady(bridge.url!);
    const silent = tcp(bridge.url!);
    const partial = tcp(bridge.url!);
    partial.socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'); // and never the blank line

    await waitFor(() => silent.state.closed && partial.state.closed, 'both slow connections closed', WELL_BELOW_30_S);
    expect(silent.state.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(partial.state.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(metricSample(bridge, 'auraison_foxglove_refused_clients_total', 'reason', 'handshake_timeout')).toBe(2);
    // Logged once per burst.
    expect(lines.filter((l) => l.key === 'foxglove.handshake_timeout_ms')).toEqual([
      expect.objectContaining({
        msg: 'foxglove: closed a connection that did not send its whole WebSocket handshake within foxglove.handshake_timeout_ms (1000 ms)',
        held_back: 0,
      }),
    ]);
    expect(bridge.pendingHandshakes).toBe(0);
    await serverHasRead(kept);
    expect(bridge.health().details?.clients).toBe(1);
  });

  it('answers a plain HTTP request with 426 and closes it', async () => {
    const { bridge } = await start();
    const plain = tcp(bridge.url!);
    plain.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => plain.state.closed, 'the plain request answered and closed');
    expect(plain.state.received).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n[\s\S]*Connection: close\r\n/i);
    expect(bridge.pendingHandshakes).toBe(0);
  });

  it('are closed when the bridge stops, which does not wait for them', async () => {
    const { bridge } = await start({ foxglove: { handshake_timeout_ms: 60_000 } });
    const partial = tcp(bridge.url!);
    partial.socket.write('GET / HTTP/1.1\r\n');
    await waitFor(() => bridge.pendingHandshakes === 1, 'the unfinished handshake counted');
    let stopped = false;
    void bridge.close().then(() => (stopped = true));
    await waitFor(
      () => stopped && partial.state.closed,
      'the bridge stopped, the unfinished handshake closed',
      WELL_BELOW_30_S,
    );
  });
});
