import type { Channel } from '@foxglove/ws-protocol';
import { EVENTS_TOPIC } from '../foxglove/index.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { noSuchTopic } from './topic-names.ts';
import { connectTopics, TopicConnectionError, type TopicConnection } from './topic-client.ts';
import { resolveFoxgloveTarget, TopicTargetError, type FoxgloveTarget } from './topic-target.ts';

/** The options every `topic` subcommand takes to find the daemon. */
export interface TargetOptions {
  config?: string;
  url?: string;
  token?: string;
  connectTimeoutS: number;
}

export interface TopicSession {
  conn: TopicConnection;
  target: FoxgloveTarget;
}

/**
 * Finds the daemon's Foxglove server and connects to it; on failure prints why and what to do
 * (`auraison-edge topic <verb>: ...`) and returns exit code 1.
 */
export async function openSession(verb: string, options: TargetOptions, io: CommandIO): Promise<TopicSession | number> {
  let target: FoxgloveTarget;
  try {
    target = await resolveFoxgloveTarget(options, io);
  } catch (error) {
    if (!(error instanceof TopicTargetError)) throw error;
    io.stderr(`auraison-edge topic ${verb}: ${error.message}\n`);
    return 1;
  }
  try {
    return { conn: await connectTopics(target.url, { timeoutMs: options.connectTimeoutS * 1000 }), target };
  } catch (error) {
    if (!(error instanceof TopicConnectionError)) throw error;
    io.stderr(`auraison-edge topic ${verb}: ${error.message} (URL from ${target.from})\n${target.advice}\n`);
    return 1;
  }
}

/** The bus topics the server advertises (not the journal's JSON channel, which is no bus topic). */
export function busChannels(conn: TopicConnection): Channel[] {
  return conn.channels().filter((c) => c.topic !== EVENTS_TOPIC);
}

/**
 * The channel of `topic`, or the error that says it has none: the topics it has, a did-you-mean, and,
 * when the daemon's status was read, whether the topic is on the bus but not advertised (and why).
 */
export function findChannel(session: TopicSession, topic: string): Channel | string {
  const { conn, target } = session;
  const channel = conn.channel(topic);
  if (channel) return channel;
  const topics = busChannels(conn).map((c) => c.topic);
  const onBus = target.status?.topics.find((t) => t.topic === topic);
  if (onBus) {
    const unadvertisable = target.status?.components.foxglove?.details?.unadvertisable;
    const why =
      Array.isArray(unadvertisable) && unadvertisable.includes(topic)
        ? `its type ${onBus.type} has no message definition in the daemon (add its package to bus.definitions.dirs)`
        : 'foxglove.topics leaves it out (include/exclude)';
    return `topic ${topic} is on the daemon's bus, but its Foxglove server does not advertise it: ${why}`;
  }
  return noSuchTopic(topic, `the daemon's Foxglove server (${conn.url})`, topics, [EVENTS_TOPIC]);
}

/**
 * Calls `stop` on Ctrl-C (SIGINT), SIGTERM, or when stdout is a pipe whose reader has gone (`| head`):
 * ending there is what the user asked for. Returns the function that removes the handlers.
 */
export function onHalt(stop: () => void): () => void {
  const onSignal = () => stop();
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onOutputError);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onOutputError);
  };
}
