// A decode process (see DecodeProcess): decodes the frames it is sent, one at a time, with sharp, each frame's bytes
// read from its memory file (INPUT_FD); exits when the daemon closes the channel or goes away.
import { ftruncateSync, readSync } from 'node:fs';
import { errorText, lowerProcess } from '../../util/index.ts';
import { INPUT_FD, LOW_ARG, type FromDecoder, type ToDecoder } from './decode-process.ts';
import { decodeFrame, ImageError } from './image-decode.ts';

/** A file holding more than this after a frame gives its pages back: a big frame's memory is not kept for the next. */
const KEEP_BYTES = 1 << 20;

// With a callback, a send after the daemon went away fails quietly; without one, its 'error' would end this process.
const send = (message: FromDecoder) => process.connected && process.send!(message, undefined, {}, () => {});

async function decode({ header, length, target }: ToDecoder) {
  const data = Buffer.allocUnsafe(length);
  // Read here, not on a libuv thread: this process does one thing at a time, and a thread's hop costs more than the
  // copy.
  const bytesRead = readSync(INPUT_FD, data, 0, length, 0);
  if (bytesRead !== length) throw new Error(`read ${bytesRead} of the frame's ${length} bytes from its file`);
  if (length > KEEP_BYTES) ftruncateSync(INPUT_FD, 0);
  return decodeFrame({ ...header, data }, target);
}

// The pool's process for costly frames (LOW_ARG): every thread at nice 10 as it starts (sharp, imported above, has
// started its threads already).
const low = process.argv.includes(LOW_ARG);
if (low) lowerProcess('nice10');

/** The CPU time this process (sharp's threads too) spent since `from`, ms: what a frame cost, whatever the load. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(from);
  return (spent.user + spent.system) / 1000;
}

process.on('message', (job: ToDecoder) => {
  const cpu = process.cpuUsage();
  decode(job).then(
    (frame) => send({ op: 'frame', id: job.id, frame, rss: process.memoryUsage.rss(), cpuMs: cpuMsSince(cpu) }),
    (error: unknown) =>
      send({
        op: 'error',
        id: job.id,
        code: error instanceof ImageError ? error.code : undefined,
        message: errorText(error),
        rss: process.memoryUsage.rss(),
        cpuMs: cpuMsSince(cpu),
      }),
  );
});
process.on('disconnect', () => process.exit(0));
// Started: every thread to nice 19 before the first frame, and so every thread started after.
if (low) lowerProcess('nice19');
send({ op: 'ready' });
