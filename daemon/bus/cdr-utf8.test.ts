import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import { describe, expect, it } from 'vitest';
import { MessageCodec } from './codec.ts';
import { DefinitionsRegistry } from './definitions.ts';

const registry = new DefinitionsRegistry({ distro: 'jazzy', dirs: [] });
registry.addMessageText('utf8_msgs/msg/Named', 'string name\nuint32 after\nfloat64 value\n', 'test');
registry.addMessageText(
  'utf8_msgs/msg/Texts',
  'string plain\nstring[] list\nstring<=40 bounded\nstring<=12[<=3] bounded_list\nutf8_msgs/Named one\nutf8_msgs/Named[] many\nfloat64 last\n',
  'test',
);
const codec = new MessageCodec(registry);

const samples = {
  latin1: 'héllo wörld, ça va?',
  cjk: '日本語テキスト',
  emoji: 'robot 🤖 at 🏁', // surrogate pairs: 4 UTF-8 bytes for 2 UTF-16 units
  mixed: 'é日🤖a',
  one: 'é',
};

/** CDR of a std_msgs/String written by hand: header, uint32 LE length with the NUL, the UTF-8 bytes, NUL. */
function stringMessageBytes(text: string): Uint8Array {
  const utf8 = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(utf8.length + 1);
  return new Uint8Array(Buffer.concat([Buffer.from([0, 1, 0, 0]), length, utf8, Buffer.from([0])]));
}

describe('non-ASCII strings in CDR', () => {
  it.each(Object.entries(samples))(
    'writes a %s std_msgs/String as the UTF-8 bytes a ROS 2 reader expects',
    (_, text) => {
      const bytes = codec.encode('std_msgs/msg/String', { data: text });
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(stringMessageBytes(text)).toString('hex'));
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(Buffer.byteLength(text) + 1);
      expect(codec.decode('std_msgs/msg/String', bytes)).toEqual({ data: text });
      // The message fills its ArrayBuffer, as an ASCII one does (a consumer may transfer or wrap .buffer).
      expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    },
  );

  it('round-trips non-ASCII text in plain, sequence, bounded and nested string fields, with the fields after them intact', () => {
    const message = {
      plain: samples.latin1,
      list: [samples.cjk, '', samples.emoji, 'ascii', samples.one],
      bounded: samples.mixed,
      bounded_list: ['ü', '語', '🏁'],
      one: { name: samples.emoji, after: 7, value: 1.5 },
      many: [
        { name: samples.cjk, after: 1, value: -2.25 },
        { name: samples.latin1, after: 2, value: 3.5 },
      ],
      last: 42.125,
    };
    const bytes = codec.encode('utf8_msgs/msg/Texts', message);
    expect(codec.decode('utf8_msgs/msg/Texts', bytes)).toEqual(message);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
  });

  it('reads back what a writer made without the codec (the control loop worker builds its own MessageWriter)', () => {
    const definitions = registry.resolve('utf8_msgs/msg/Named').definitions;
    const bytes = new MessageWriter(definitions).writeMessage({ name: samples.mixed, after: 9, value: 0.5 });
    expect(new MessageReader(definitions).readMessage(bytes)).toEqual({ name: samples.mixed, after: 9, value: 0.5 });
  });

  it('writes a lone surrogate as U+FFFD, with a length that matches its bytes', () => {
    const bytes = codec.encode('std_msgs/msg/String', { data: 'a\ud800b' });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(stringMessageBytes('a\ufffdb')).toString('hex'));
  });
});
