import Type from 'typebox';
import { Section } from '../section.ts';

/** Config section `cameras`: the decode processes every loop's cameras and every served policy's images share. */
export const CamerasConfig = Section(
  {
    decode_processes: Type.Integer({
      minimum: 1,
      default: 2,
      description:
        "Decode processes every loop's cameras and every served policy's image inputs share; cameras whose frames cost (over budget, or half of it) decode only in one more, at nice 19, started when one does.",
    }),
    decode_memory_mb: Type.Integer({
      minimum: 128,
      default: 512,
      description:
        'Memory for all of them: each is restarted after a decode that leaves it past its share (this / (decode_processes + 1); a fresh one takes about 70 MB).',
    }),
  },
  "Decoding camera frames (JPEG, PNG, raw resizing) in processes of their own, off the daemon's threads.",
);
