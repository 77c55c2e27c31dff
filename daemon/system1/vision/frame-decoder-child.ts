// A decode process (see DecodeProcess): decodes the frames it is sent, one at a time, with sharp, each frame's bytes
// read from its memory file (INPUT_FD) on this process's own libuv threads; exits when the daemon closes the channel
// or goes away.
import { ftruncate, read } from 'node:fs';
import { promisify } from 'node:util';
import { errorText } from '../../util/index.ts';
import { INPUT_FD, type FromDecoder, type ToDecoder } from './decode-process.ts';
import { decodeFrame, ImageError } from './image-decode.ts';

/** A file holding more than this after a frame gives its pages back: a big frame's memory is not kept for the next. */
const KEEP_BYTES = 1 << 20;

const readAt = promisify(read);
const truncate = promisify(ftruncate);

// With a callback, a send after the daemon went away fails quietly; without one, its 'error' would end this process.
const send = (message: FromDecoder) => process.connected && process.send!(message, undefined, {}, () => {});

async function decode({ header, length, target }: ToDecoder) {
  const data = Buffer.allocUnsafe(length);
  const { bytesRead } = await readAt(INPUT_FD, data, 0, length, 0);
  if (bytesRead !== length) throw new Error(`read ${bytesRead} of the frame's ${length} bytes from its file`);
  if (length > KEEP_BYTES) await truncate(INPUT_FD, 0);
  return decodeFrame({ ...header, data }, target);
}

process.on('message', (job: ToDecoder) => {
  decode(job).then(
    (frame) => send({ op: 'frame', id: job.id, frame, rss: process.memoryUsage.rss() }),
    (error: unknown) =>
      send({
        op: 'error',
        id: job.id,
        code: error instanceof ImageError ? error.code : undefined,
        message: errorText(error),
        rss: process.memoryUsage.rss(),
      }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ op: 'ready' });
