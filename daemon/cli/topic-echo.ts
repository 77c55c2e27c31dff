import type { Channel } from '@foxglove/ws-protocol';
import { BagTypeResolver } from '../bags/index.ts';
import { DefinitionsRegistry } from '../bus/index.ts';
import { UsageError, type CommandIO } from './command.ts';
import { checkFieldPath, pickField, type FieldStep } from './topic-field.ts';
import { MessageLayout, toJsonLine, toYaml, type FormatOptions, type Shape } from './topic-format.ts';
import { followTopic, type FollowOptions } from './topic-follow.ts';
import { findChannel, onStop, type TopicSession } from './topic-session.ts';

export interface EchoOptions extends FormatOptions {
  /** Messages to print before exiting 0; undefined: until Ctrl-C. */
  count: number | undefined;
  json: boolean;
  /** `--field` as given, and as steps (parseFieldPath). */
  field: { text: string; steps: FieldStep[] } | undefined;
  /** Exit 1 when no message is printed for this long (the first, or the next); undefined: wait forever. */
  timeoutS: number | undefined;
}

/**
 * Decodes a channel's messages: CDR with the ros2msg schema the server sent (the registry's when it fails), JSON as
 * JSON.
 */
interface ChannelDecoder {
  layout: MessageLayout | undefined;
  decode(data: ArrayBufferView): unknown;
}

function channelDecoder(channel: Channel): ChannelDecoder | { error: string } {
  if (channel.encoding === 'json') return { layout: undefined, decode: (data) => JSON.parse(new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) as unknown };
  if (channel.encoding !== 'cdr') return { error: `${channel.topic} is encoded as ${channel.encoding}: topic echo decodes cdr (ROS 2) and json` };
  const resolver = new BagTypeResolver(new DefinitionsRegistry());
  const schema = channel.schemaEncoding ? { encoding: channel.schemaEncoding, text: channel.schema } : undefined;
  const resolved = resolver.resolve(channel.schemaName, schema);
  if ('error' in resolved) return { error: `cannot decode ${channel.topic} (${channel.schemaName}): ${resolved.error}` };
  const reader = resolver.reader(channel.schemaName, schema)!;
  return { layout: new MessageLayout(resolved.definitions), decode: (data) => reader.readMessage(data) };
}

/**
 * `topic echo`: each message of the topic decoded, as YAML documents each followed by `---` (as
 * `ros2 topic echo` prints them) or as JSON lines, until `count` messages, Ctrl-C (exit 0) or `timeoutS`
 * without a message (exit 1). When the daemon goes away it reconnects (`reopen`) and goes on; without
 * `reopen` (--no-reconnect) a lost connection ends it (exit 1).
 */
export async function echo(session: TopicSession, topic: string, options: EchoOptions, io: CommandIO, reopen?: FollowOptions['reopen']): Promise<number> {
  const { conn } = session;
  const fail = (message: string) => {
    conn.close();
    io.stderr(`auraison-edge topic echo: ${message}\n`);
    return 1;
  };
  const channel = findChannel(session, topic);
  if (typeof channel === 'string') return fail(channel);
  const first = printerFor(channel, options);
  if ('usage' in first) {
    conn.close();
    throw new UsageError(first.usage);
  }
  if ('error' in first) return fail(first.error);
  const steps = options.field?.steps ?? [];

  return new Promise<number>((resolve) => {
    let printer: Printer = first;
    let printed = 0;
    let skipped = 0;
    let idle: NodeJS.Timeout | undefined;
    const told = new Set<string>();
    const finish = (code: number, message?: string) => {
      clearTimeout(idle);
      removeStopHandlers();
      unfollow();
      if (message) io.stderr(`auraison-edge topic echo: ${message}\n`);
      resolve(code);
    };
    const removeStopHandlers = onStop(() => finish(0));
    const armIdle = () => {
      if (options.timeoutS === undefined) return;
      clearTimeout(idle);
      const s = options.timeoutS;
      idle = setTimeout(() => {
        const why = skipped > 0 ? `${skipped} skipped (see above)` : 'is anything publishing it? (`auraison-edge status` shows each topic\'s rate)';
        finish(1, `no message printed from ${topic} within ${s} s${printed > 0 ? ` of the last one (${printed} printed)` : ''}: ${why}`);
      }, s * 1000);
    };
    // Each distinct problem once: a topic whose every message fails to decode must not flood stderr.
    const tell = (line: string) => {
      if (told.has(line)) return;
      told.add(line);
      io.stderr(`auraison-edge topic echo: ${line}\n`);
    };
    const onMessage = (data: ArrayBufferView) => {
      let value: unknown;
      try {
        value = printer.decode(data);
      } catch (error) {
        skipped++;
        tell(`a message on ${topic} (${data.byteLength} bytes) does not decode as ${printer.type}, skipped: ${(error as Error).message}`);
        return;
      }
      const picked = pickField(value, steps);
      if (!picked.found) {
        skipped++;
        tell(`skipped a message: ${picked.why}`);
        return;
      }
      let text: string;
      try {
        text = printer.format(picked.value);
      } catch (error) {
        // A fault of this command's, not of the message: said, rather than lost in the socket's event handler.
        finish(1, `cannot print a message on ${topic}: ${(error as Error).message}`);
        return;
      }
      io.stdout(text);
      printed++;
      armIdle();
      if (options.count !== undefined && printed >= options.count) finish(0);
    };
    conn.subscribe(channel, (message) => onMessage(message.data));
    const unfollow = followTopic(session, topic, {
      verb: 'echo',
      io,
      reopen,
      // The daemon that came back may carry the topic with another type: its messages are decoded as that.
      attach(next, nextChannel) {
        const made = printerFor(nextChannel, options);
        if ('usage' in made) return made.usage;
        if ('error' in made) return made.error;
        printer = made;
        next.conn.subscribe(nextChannel, (message) => onMessage(message.data));
        return undefined;
      },
      lost: (why) => finish(1, `${why}; ${printed} message(s) printed. Is the daemon still running? (\`auraison-edge status\`)`),
      fail: (message) => finish(1, message),
    });
    armIdle();
  });
}

/** How one channel's messages are decoded and printed. */
interface Printer {
  type: string;
  decode(data: ArrayBufferView): unknown;
  format(value: unknown): string;
}

/** A channel's printer; `usage` when --field names what its type does not have (bad usage, exit 2). */
function printerFor(channel: Channel, options: EchoOptions): Printer | { error: string } | { usage: string } {
  const decoder = channelDecoder(channel);
  if ('error' in decoder) return decoder;
  let shape: Shape | undefined = decoder.layout?.root;
  if (options.field && decoder.layout) {
    const checked = checkFieldPath(options.field.steps, decoder.layout);
    if ('error' in checked) return { usage: `--field ${options.field.text}: ${channel.topic} is ${channel.schemaName}: ${checked.error}` };
    shape = checked.shape;
  }
  const { layout } = decoder;
  return {
    type: channel.schemaName,
    decode: decoder.decode,
    format: (value) => (options.json ? `${toJsonLine(value, shape, layout, options)}\n` : `${toYaml(value, shape, layout, options)}---\n`),
  };
}
