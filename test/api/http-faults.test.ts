import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { startHarness, type Harness } from './harness.ts';

// Peers that hold the API's sockets: a request the API refuses must not keep its connection open while
// the peer trickles (or never sends) the body it announced.

let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.close();
  h = undefined;
});

/** Sends `head` and one byte of the body it announces, then nothing more; records the answer and the close. */
function stalledRequest(url: string, head: string) {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  sockets.push(socket);
  const state = { answer: '', closed: false };
  socket.on('data', (d) => (state.answer += d.toString()));
  socket.on('close', () => (state.closed = true));
  socket.write(`${head}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
  return state;
}

describe('requests the API refuses before their body', () => {
  it('closes the connection of a request without the token (off loopback), not waiting for its body', async () => {
    h = await startHarness({ api: { host: '0.0.0.0', token: 'secret' } });
    const peers = Array.from({ length: 5 }, () => stalledRequest(h!.url, 'POST /intents HTTP/1.1\r\nHost: robot\r\n'));
    await waitFor(() => peers.every((p) => p.closed), 'the refused connections to close', 15_000);
    for (const p of peers) expect(p.answer).toMatch(/^HTTP\/1.1 401/);
    const open = await new Promise<number>((resolve, reject) =>
      h!.api!.server!.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
    );
    expect(open).toBe(0);
  });

  it('closes the connection of a request with a Host that is not loopback (DNS rebinding)', async () => {
    h = await startHarness();
    const peer = stalledRequest(h.url, 'POST /intents HTTP/1.1\r\nHost: evil.example:7400\r\n');
    await waitFor(() => peer.closed, 'the refused connection to close', 15_000);
    expect(peer.answer).toMatch(/^HTTP\/1.1 403/);
  });
});
