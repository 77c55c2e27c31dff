import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

/**
 * Blocks this thread, its event loop included (no timer, I/O callback, promise or worker message runs here), until
 * `until()` holds or `timeoutMs` passes, checking it every few ms; returns whether it held. Whatever changed
 * meanwhile was changed by another thread or process: how a test shows that something does not wait for the
 * daemon's event loop, which a test's in-process daemon shares with it.
 */
export function blockThisLoopUntil(until: () => boolean, timeoutMs: number): boolean {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (until()) return true;
    if (performance.now() > deadline) return false;
    Atomics.wait(sleeper, 0, 0, 5);
  }
}

/** What a request from another thread got: its status and body, or the error it failed with. */
export type ThreadReply = { status: number; body: string } | { error: string };

// CommonJS for a worker of its own: one request, its answer posted on the port it is given.
const REQUEST_THREAD = `
const { workerData } = require('node:worker_threads');
const { request } = require('node:http');
const { url, method, headers, body, port } = workerData;
const req = request(url, { method, headers, agent: false }, (res) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (text += d));
  res.on('end', () => port.postMessage({ status: res.statusCode, body: text }));
});
req.on('error', (error) => port.postMessage({ error: error.message }));
req.end(body);
`;

/**
 * An HTTP request sent from a thread of its own, as an operator's client in another process would: it goes out and
 * is answered while this thread is blocked. `reply()` reads its answer without this thread's event loop (undefined
 * until it came), so a blocked test can wait for it (blockThisLoopUntil).
 */
export function requestFromThread(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): { reply: () => ThreadReply | undefined; done: Promise<void> } {
  const { method = 'POST', headers = { 'content-type': 'application/json' }, body } = options;
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(REQUEST_THREAD, {
    eval: true,
    workerData: { url, method, headers, body, port: port2 },
    transferList: [port2],
  });
  let got: ThreadReply | undefined;
  const reply = () => (got ??= receiveMessageOnPort(port1)?.message as ThreadReply | undefined);
  // The answer is read before the port closes: the thread exits right after posting it, and a message still queued
  // on a closed port is lost (a test polling reply() every few ms missed it that way).
  const done = new Promise<void>((resolve) => worker.once('exit', () => resolve())).then(() => {
    reply();
    port1.close();
  });
  return { reply, done };
}
