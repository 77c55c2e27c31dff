// A frame decoder's process (see FrameDecoder): decodes the frames it is sent, one at a time, with sharp, and exits
// when the daemon closes the channel or goes away.
import { errorText } from '../../util/index.ts';
import type { FromDecoder, ToDecoder } from './frame-decoder.ts';
import { decodeFrame, ImageError } from './image-decode.ts';

// With a callback, a send after the daemon went away fails quietly; without one, its 'error' would end this process.
const send = (message: FromDecoder) => process.connected && process.send!(message, undefined, {}, () => {});

process.on('message', ({ id, message, target }: ToDecoder) => {
  decodeFrame(message, target).then(
    (frame) => send({ op: 'frame', id, frame }),
    (error: unknown) =>
      send({ op: 'error', id, code: error instanceof ImageError ? error.code : undefined, message: errorText(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ op: 'ready' });
