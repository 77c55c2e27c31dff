import { createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { applyThreadScheduling, type SchedulingRequest } from '../../util/index.ts';
import { HaltLine } from '../../halt/index.ts';

/** What the stop relay gets at start. */
export interface HaltRelayData {
  /** The daemon's stop line (HaltLine's buffer). */
  haltLine: SharedArrayBuffer;
  /** The Unix socket to listen on, in a folder only the daemon's user can enter. */
  path: string;
  /** The loop's scheduling: the relay is on the stop's way to the loop, so no lower. */
  scheduling: SchedulingRequest;
}

/** How long the relay sleeps on the line between looks at the latch's word, which a release changes unnotified. */
const LOOK_MS = 10;

/**
 * A loop process's ear on the daemon's stop line, in the daemon's process. The line is shared memory, so it cannot
 * reach another process; this thread sleeps on it and writes its words to the loop process's socket the moment they
 * change: a stop from the stop listener's thread, the main thread's latch and its release. Neither the main thread nor
 * the listener knows of it, so a loop process hears every stop that holds a thread's loop, however busy the main
 * thread is. One client only: the loop process, which connects before its loop starts.
 */
const { haltLine, path, scheduling } = workerData as HaltRelayData;
const line = new HaltLine(haltLine);
applyThreadScheduling(scheduling);
let client: Socket | undefined;
let closing = false;

const server = createServer((socket) => {
  if (client) return void socket.destroy();
  client = socket;
  socket.on('error', () => undefined); // the loop process died: its exit is the daemon's to see, not this thread's
  void relay(socket);
});
server.listen(path, () => parentPort!.postMessage('listening'));
parentPort!.on('message', () => {
  closing = true;
  client?.destroy();
  server.close();
});

async function relay(socket: Socket): Promise<void> {
  let sent = line.words();
  socket.write(new Uint8Array(sent.buffer));
  while (!closing && !socket.destroyed) {
    line.waitForHalt(sent[0]!, LOOK_MS);
    const now = line.words();
    // A write on an idle socket goes out at once (libuv writes before it queues), blocked event loop or not.
    if (now.some((w, i) => w !== sent[i])) socket.write(new Uint8Array(now.buffer));
    sent = now;
    // The socket's and the port's events, between sleeps.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
