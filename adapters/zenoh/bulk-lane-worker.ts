import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { errorText } from '../../daemon/util/index.ts';
import type { Sample } from '@eclipse-zenoh/zenoh-ts';
import type { BulkLaneWorkerData, FromLane, ToLane } from './bulk-lane-messages.ts';
import { stampOf } from './inbound-topic.ts';
import { ZenohLink, type Handle, type LinkPublisher } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';

// The bulk lane's thread (see BulkLane): one ZenohLink, with its reconnects and keepalive, whose large puts are
// encoded and large samples decoded here, never on the daemon's event loop. It owns no policy: the daemon's thread
// counts drops and oversize samples; this one reports each put's outcome, each sample (its bytes in shared memory),
// the link's state and counters, and its log lines.
const data = workerData as BulkLaneWorkerData;
const port = parentPort!;
const post = (m: FromLane): void => port.postMessage(m);
const log = pino(
  { level: data.logLevel, base: undefined, timestamp: false },
  { write: (line: string) => post({ type: 'log', line }) },
);

// zenoh-ts prints to the console (a socket's close, a sample for a subscriber gone): here, the daemon's log.
console.log = console.warn = (...args: unknown[]) => log.debug({ zenoh_ts: args.map(String).join(' ') }, 'zenoh-ts');

// zenoh-ts 1.10.1 rejects a request at its response timeout before it attaches its handler when the send waited
// on a full socket buffer: the daemon's run command logs such a rejection and goes on, and so does this thread.
let unhandled = 0;
process.on('unhandledRejection', (error) => {
  unhandled++;
  log.error({ err: errorText(error) }, 'zenoh bulk lane: unhandled rejection');
});

// No top-level await: workers load their entry as CommonJS (see daemon/util/spawn-worker.ts).
async function main(): Promise<void> {
  const zenoh = await loadZenoh();
  // Asks the bridge nothing while samples come in (as the receive lane): a request on the socket makes Linux delay
  // its ACKs, behind which the bridge holds what comes next. A lane that only puts hears nothing, and asks as before.
  const link = new ZenohLink({
    ...data.link,
    keepaliveWhenQuiet: true,
    log,
    onState: (state, reason) => post({ type: 'state', state, reason }),
  });
  const publishers = new Map<number, LinkPublisher>();
  const subscribers = new Map<number, Handle>();
  const report = () => post({ type: 'details', details: link.details(), counters: { ...link.counters }, unhandled });
  link.onUp(() => (report(), post({ type: 'up' })));
  const reporting = setInterval(report, data.link.keepaliveMs ?? 1000);
  port.on('message', (m: ToLane) => {
    switch (m.type) {
      case 'declare':
        publishers.set(m.id, link.declarePublisher(m.key, m.options));
        return;
      case 'undeclare':
        void publishers.get(m.id)?.close();
        publishers.delete(m.id);
        return;
      case 'put': {
        const publisher = publishers.get(m.id);
        const { timestamp } = m;
        const stamp = timestamp && new zenoh.Timestamp(new zenoh.ZenohId(timestamp.zid), timestamp.ntp64);
        const put = publisher ? publisher.put(m.payload, m.attachment, stamp) : Promise.resolve(false);
        void put.then((ok) => post({ type: 'put', seq: m.seq, ok }));
        return;
      }
      case 'subscribe':
        subscribers.set(
          m.id,
          link.declareSubscriber(m.key, (sample) => receive(m.id, m.maxBytes, sample)),
        );
        return;
      case 'unsubscribe':
        void subscribers.get(m.id)?.close();
        subscribers.delete(m.id);
        return;
      case 'close':
        clearInterval(reporting);
        void link.close().finally(() => {
          report();
          post({ type: 'closed' });
          process.exit(0);
        });
    }
  });
  link.start();
}

/**
 * Posts a sample to the daemon's thread: its bytes copied once, here, into shared memory that the daemon's thread
 * passes on by reference (to the bus, another lane's put). A sample over `maxBytes` goes as a notice only.
 */
function receive(id: number, maxBytes: number, sample: Sample): void {
  const payload = sample.payload();
  const size = payload.len();
  // A copy of its own: a view into the frame it came in would take the whole frame along with it.
  const attachment = sample.attachment()?.toBytes().slice();
  const stamp = stampOf(sample);
  const notice: FromLane = {
    type: 'sample',
    id,
    size,
    ...(attachment ? { attachment } : {}),
    ...(stamp ? { stamp } : {}),
  };
  if (size > maxBytes) return post(notice);
  const shared = new Uint8Array(new SharedArrayBuffer(size));
  shared.set(payload.toBytes());
  post({ ...notice, payload: shared });
}

void main();
