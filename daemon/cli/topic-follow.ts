import type { Channel } from '@foxglove/ws-protocol';
import type { CommandIO } from '../cli-kit/index.ts';
import { findChannel, type TopicSession } from './topic-session.ts';

/** How often a lost daemon is looked for again. */
export const RECONNECT_EVERY_MS = 1000;

export interface FollowOptions {
  /** `echo` or `hz`: the command its messages name. */
  verb: string;
  io: CommandIO;
  /**
   * Finds the daemon and connects again (its ports may have changed: it is looked up as at the start), or
   * undefined when it cannot yet. Undefined (--no-reconnect): a lost connection ends the command.
   */
  reopen: (() => Promise<TopicSession | undefined>) | undefined;
  /** Subscribes on a (new) connection; returns why the topic cannot be followed there (ends the command with 1). */
  attach(session: TopicSession, channel: Channel): string | undefined;
  /** The connection was lost and will not be made again (--no-reconnect): the command ends. */
  lost(why: string): void;
  /** The command ends with exit 1 and this message. */
  fail(message: string): void;
  /** Reconnected and subscribed again (hz forgets the last arrival: the gap is no interval). */
  resumed?(): void;
}

/**
 * Follows one topic across the daemon going away, as `ros2 topic echo` keeps waiting for a publisher
 * that left: when the connection is lost (a restart, a reload that restarts the Foxglove server, a
 * crash), it says so once, then looks for the daemon every second and, once connected, subscribes again
 * as soon as the topic is advertised (a restarted daemon advertises a topic when it is first published).
 * `first` is subscribed already. Returns the function that stops following (and closes the connection).
 */
export function followTopic(first: TopicSession, topic: string, o: FollowOptions): () => void {
  let session = first;
  let stopped = false;
  /** The session subscribed on: a topic advertised again on it is not subscribed twice. */
  let attached: TopicSession = first;
  let retry: NodeJS.Timeout | undefined;
  const say = (line: string) => o.io.stderr(`auraison-edge topic ${o.verb}: ${line}\n`);

  const watch = (s: TopicSession) =>
    s.conn.onClose((why) => {
      if (stopped) return;
      if (!o.reopen) return o.lost(why);
      say(`${why}; reconnecting every ${RECONNECT_EVERY_MS / 1000} s (Ctrl-C to stop)`);
      retry = setTimeout(reconnect, RECONNECT_EVERY_MS);
    });

  const subscribe = (s: TopicSession, channel: Channel) => {
    if (attached === s) return;
    attached = s;
    const problem = o.attach(s, channel);
    if (problem) return o.fail(problem);
    say(`reconnected to ${s.conn.url}`);
    o.resumed?.();
  };

  const reconnect = async () => {
    retry = undefined;
    const next = await o.reopen!().catch(() => undefined);
    if (stopped) return next?.conn.close();
    if (!next) {
      retry = setTimeout(reconnect, RECONNECT_EVERY_MS);
      return;
    }
    session = next;
    watch(next);
    const channel = findChannel(next, topic);
    if (typeof channel !== 'string') return subscribe(next, channel);
    // Not advertised yet: a restarted daemon advertises the topic once something publishes it.
    next.conn.onAdvertise((channels) => {
      const found = channels.find((c) => c.topic === topic);
      if (found && !stopped && session === next) subscribe(next, found);
    });
  };

  watch(first);
  return () => {
    stopped = true;
    clearTimeout(retry);
    session.conn.close();
  };
}
