import type { Channel } from '@foxglove/ws-protocol';
import { BagTypeResolver } from '../bags/index.ts';
import { DefinitionsRegistry } from '../bus/index.ts';
import { UsageError, type CommandIO } from '../cli-kit/index.ts';
import { checkFieldPath, pickField, type FieldStep } from './topic-field.ts';
import { MessageLayout, toJsonLine, toYaml, type FormatOptions, type Shape } from './topic-format.ts';
import { followTopic, type FollowOptions } from './topic-follow.ts';
import { findChannel, onHalt, type TopicSession } from './topic-session.ts';
import { errorText } from '../util/index.ts';

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
  if (channel.encoding === 'json')
    return {
      layout: undefined,
      decode: (data) =>
        JSON.parse(new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) as unknown,
    };
  if (channel.encoding !== 'cdr')
    return { error: `${channel.topic} is encoded as ${channel.encoding}: topic echo decodes cdr (ROS 2) and json` };
  const resolver = new BagTypeResolver(new DefinitionsRegistry());
  const schema = channel.schemaEncoding ? { encoding: channel.schemaEncoding, text: channel.schema } : undefined;
  const resolved = resolver.resolve(channel.schemaName, schema);
  if ('error' in resolved)
    return { error: `cannot decode ${channel.topic} (${channel.schemaName}): ${resolved.error}` };
  const reader = resolver.reader(channel.schemaName, schema)!;
  return { layout: new MessageLayout(resolved.definitions), decode: (data) => reader.readMessage(data) };
}

/**
 * `topic echo`: each message of the topic decoded, as YAML documents each followed by `---` (as
 * `ros2 topic echo` prints them) or as JSON lines, until `count` messages, Ctrl-C (exit 0) or `timeoutS`
 * without a message (exit 1). When the daemon goes away it reconnects (`reopen`) and goes on; without
 * `reopen` (--no-reconnect) a lost connection ends it (exit 1).
 */
export async function echo(
  session: TopicSession,
  topic: string,
  options: EchoOptions,
  io: CommandIO,
  reopen?: FollowOptions['reopen'],
): Promise<number> {
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
  return new Echo(topic, options, io, first).run(session, channel, reopen);
}

/**
 * One `topic echo`: prints each message until `count`, Ctrl-C, `timeoutS` without one, or a lost daemon;
 * a daemon that came back is followed with the printer of its type. `run` once.
 */
class Echo {
  readonly #topic: string;
  readonly #count: number | undefined;
  readonly #timeoutS: number | undefined;
  readonly #steps: NonNullable<EchoOptions['field']>['steps'];
  /** How messages are printed: printerFor takes them whole, for the printer of a daemon that came back. */
  readonly #format: EchoOptions;
  readonly #io: CommandIO;
  #printer: Printer;
  #printed = 0;
  #skipped = 0;
  #idle: NodeJS.Timeout | undefined;
  /** Problems said already: each distinct one once, so a topic whose every message fails does not flood stderr. */
  readonly #told = new Set<string>();
  #removeStopHandlers: () => void = () => undefined;
  #unfollow: () => void = () => undefined;
  #resolve: (code: number) => void = () => undefined;

  constructor(topic: string, options: EchoOptions, io: CommandIO, printer: Printer) {
    this.#topic = topic;
    this.#count = options.count;
    this.#timeoutS = options.timeoutS;
    this.#steps = options.field?.steps ?? [];
    this.#format = options;
    this.#io = io;
    this.#printer = printer;
  }

  run(session: TopicSession, channel: Channel, reopen: FollowOptions['reopen']): Promise<number> {
    return new Promise<number>((resolve) => {
      this.#resolve = resolve;
      this.#removeStopHandlers = onHalt(() => this.#finish(0));
      session.conn.subscribe(channel, (message) => this.#onMessage(message.data));
      this.#unfollow = followTopic(session, this.#topic, {
        verb: 'echo',
        io: this.#io,
        reopen,
        // The daemon that came back may carry the topic with another type: its messages are decoded as that.
        attach: (next, nextChannel) => {
          const made = printerFor(nextChannel, this.#format);
          if ('usage' in made) return made.usage;
          if ('error' in made) return made.error;
          this.#printer = made;
          next.conn.subscribe(nextChannel, (message) => this.#onMessage(message.data));
          return undefined;
        },
        lost: (why) =>
          this.#finish(
            1,
            `${why}; ${this.#printed} message(s) printed. Is the daemon still running? (\`auraison-edge status\`)`,
          ),
        fail: (message) => this.#finish(1, message),
      });
      this.#armIdle();
    });
  }

  #finish(code: number, message?: string): void {
    clearTimeout(this.#idle);
    this.#removeStopHandlers();
    this.#unfollow();
    if (message) this.#io.stderr(`auraison-edge topic echo: ${message}\n`);
    this.#resolve(code);
  }

  /** (Re)starts the wait for the next message printed, when --timeout is given. */
  #armIdle(): void {
    if (this.#timeoutS === undefined) return;
    clearTimeout(this.#idle);
    const s = this.#timeoutS;
    this.#idle = setTimeout(() => {
      const why =
        this.#skipped > 0
          ? `${this.#skipped} skipped (see above)`
          : "is anything publishing it? (`auraison-edge status` shows each topic's rate)";
      const printed = this.#printed;
      this.#finish(
        1,
        `no message printed from ${this.#topic} within ${s} s${printed > 0 ? ` of the last one (${printed} printed)` : ''}: ${why}`,
      );
    }, s * 1000);
  }

  #tell(line: string): void {
    if (this.#told.has(line)) return;
    this.#told.add(line);
    this.#io.stderr(`auraison-edge topic echo: ${line}\n`);
  }

  /** Decodes, picks the field asked and prints a message; one that does not decode or lacks the field is skipped. */
  #onMessage(data: ArrayBufferView): void {
    const printer = this.#printer;
    let value: unknown;
    try {
      value = printer.decode(data);
    } catch (error) {
      this.#skipped++;
      this.#tell(
        `a message on ${this.#topic} (${data.byteLength} bytes) does not decode as ${printer.type}, skipped: ${errorText(error)}`,
      );
      return;
    }
    const picked = pickField(value, this.#steps);
    if (!picked.found) {
      this.#skipped++;
      this.#tell(`skipped a message: ${picked.why}`);
      return;
    }
    let text: string;
    try {
      text = printer.format(picked.value);
    } catch (error) {
      // A fault of this command's, not of the message: said, rather than lost in the socket's event handler.
      this.#finish(1, `cannot print a message on ${this.#topic}: ${errorText(error)}`);
      return;
    }
    this.#io.stdout(text);
    this.#printed++;
    this.#armIdle();
    if (this.#count !== undefined && this.#printed >= this.#count) this.#finish(0);
  }
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
    if ('error' in checked)
      return { usage: `--field ${options.field.text}: ${channel.topic} is ${channel.schemaName}: ${checked.error}` };
    shape = checked.shape;
  }
  const { layout } = decoder;
  return {
    type: channel.schemaName,
    decode: decoder.decode,
    format: (value) =>
      options.json ? `${toJsonLine(value, shape, layout, options)}\n` : `${toYaml(value, shape, layout, options)}---\n`,
  };
}
