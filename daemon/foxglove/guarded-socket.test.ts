import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { GuardedSocket } from './guarded-socket.ts';

/** TEST ONLY. The part of a `ws` socket GuardedSocket uses, with a send buffer the test sets. */
class FakeWs {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: (string | Uint8Array)[] = [];
  onmessage: ((event: { data: unknown }) => void) | null = null;
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  on(): void {}
}

describe('GuardedSocket', () => {
  it('drops message data and status messages past the buffer limit, never advertisements', () => {
    const ws = new FakeWs();
    let dropped = 0;
    const socket = new GuardedSocket(ws as unknown as WebSocket, { maxBufferedBytes: 100, onDrop: () => dropped++ });
    const data = Uint8Array.of(1, 0, 0, 0, 0);
    const status = JSON.stringify({ op: 'status', level: 1, message: 'denied' });
    const advertise = JSON.stringify({ op: 'advertise', channels: [] });
    for (const frame of [data, status, advertise]) socket.send(frame);
    expect(ws.sent).toHaveLength(3);
    ws.bufferedAmount = 101;
    for (let i = 0; i < 50; i++) for (const frame of [data, status]) socket.send(frame);
    socket.send(advertise);
    expect(ws.sent).toEqual([data, status, advertise, advertise]);
    expect(dropped).toBe(100);
  });

  it('shows each client frame to beforeMessage and afterMessage, also when the protocol server throws on it', () => {
    const ws = new FakeWs();
    const seen: string[] = [];
    const socket = new GuardedSocket(ws as unknown as WebSocket, {
      maxBufferedBytes: 100,
      onDrop: () => {},
      beforeMessage: (data) => seen.push(`before ${String(data)}`),
      afterMessage: (data) => seen.push(`after ${String(data)}`),
    });
    socket.onmessage = (event) => {
      seen.push(`handle ${String(event.data)}`);
      if (event.data === 'bad') throw new Error('bad frame');
    };
    ws.onmessage!({ data: 'good' });
    expect(() => ws.onmessage!({ data: 'bad' })).toThrow('bad frame');
    expect(seen).toEqual(['before good', 'handle good', 'after good', 'before bad', 'handle bad', 'after bad']);
  });

  it('gives the protocol server no frame that admit refuses, and sends each status as passStatus says (or none)', () => {
    const ws = new FakeWs();
    const seen: string[] = [];
    const socket = new GuardedSocket(ws as unknown as WebSocket, {
      maxBufferedBytes: 100,
      onDrop: () => {},
      admit: (data) => data !== 'refused',
      beforeMessage: (data) => seen.push(`before ${String(data)}`),
      afterMessage: (data) => seen.push(`after ${String(data)}`),
      passStatus: (frame) => (frame.includes('"held"') ? undefined : frame.replace('first', 'first (and more)')),
    });
    socket.onmessage = (event) => void seen.push(`handle ${String(event.data)}`);
    ws.onmessage!({ data: 'refused' });
    ws.onmessage!({ data: 'taken' });
    expect(seen).toEqual(['before taken', 'handle taken', 'after taken']);
    const advertise = JSON.stringify({ op: 'advertise', channels: [], note: 'held' });
    for (const message of ['first', 'held']) socket.send(JSON.stringify({ op: 'status', level: 1, message }));
    socket.send(advertise);
    expect(ws.sent).toEqual([JSON.stringify({ op: 'status', level: 1, message: 'first (and more)' }), advertise]);
  });
});
