import type { Logger } from 'pino';
import type { OffLoopTake, OffLoopZeroSender, StatusFigures } from '../../daemon/contract/index.ts';
import type { BulkLaneLinkSettings } from './bulk-lane-messages.ts';
import { encodeAttachment } from './rmw-zenoh-keys.ts';
import { serveHaltDoors, type HaltDoorsOptions } from './halt-doors.ts';
import { ZenohLink, type LinkPublisher } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';

/** One velocity topic's zero command as its Zenoh sample: the key, the CDR bytes, and whether to stamp them. */
export interface HaltZeroTarget {
  topic: string;
  key: string;
  /** The zero command's CDR (its 4-byte encapsulation header first), stamped 0 when `stamped`. */
  payload: Uint8Array;
  /** A TwistStamped: its header's stamp (sec, nanosec, little-endian) is written at each stop. */
  stamped: boolean;
}

/** What the Zenoh bridge hands the stop listener's thread (structured-cloned). */
export interface HaltZeroOptions {
  link: BulkLaneLinkSettings;
  targets: HaltZeroTarget[];
  /** rmw_zenoh's attachment (sequence, source timestamp, GID) on each sample. */
  attachments: boolean;
  /** agent/stop served on this session too (halt-doors.ts), while the main thread leaves it to this one. */
  doors?: HaltDoorsOptions;
}

/** The GID of the stop's own publisher: rmw_zenoh's 16 bytes, random per start. */
function randomGid(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

/**
 * The Zenoh graph's zero command from the stop listener's thread (OffLoopZero): a session of that thread's own,
 * opened once and held with its reconnects (a ZenohLink), with a publisher on each governed velocity topic's key
 * that the bridge publishes to. A stop puts the zero command on each at once, at real-time priority and
 * blocking under congestion (a stop is never dropped for a full queue), never waiting for the daemon's event
 * loop or its main session. Resolves with the topics it went to; rejects naming those it could not reach.
 */
export async function openOffLoopZero(
  options: HaltZeroOptions,
  log: Logger,
  take: OffLoopTake,
): Promise<OffLoopZeroSender & { details(): StatusFigures }> {
  const { link: settings, targets, attachments, doors } = options;
  const zenoh = await loadZenoh();
  // Every read acknowledged at once: agent/stop's query is not held by the bridge behind a keepalive's answer.
  const link = new ZenohLink({ ...settings, log, ackEveryRead: true });
  const publisherOptions = {
    congestionControl: zenoh.CongestionControl.BLOCK,
    reliability: zenoh.Reliability.RELIABLE,
    priority: zenoh.Priority.REAL_TIME,
    express: true,
    encoding: zenoh.Encoding.APPLICATION_CDR,
  };
  const publishers = targets.map((t) => ({ target: t, publisher: link.declarePublisher(t.key, publisherOptions) }));
  const gid = randomGid();
  let sequence = 0n;
  const served = doors ? serveHaltDoors(link, doors, take, log) : [];
  link.start();
  return {
    async zero(): Promise<string[]> {
      const ns = BigInt(Date.now()) * 1_000_000n;
      const results = await Promise.all(publishers.map(({ target, publisher }) => put(target, publisher, ns)));
      const failed = targets.filter((_, i) => !results[i]).map((t) => t.topic);
      if (failed.length > 0)
        throw new Error(
          `the zero command could not be put on ${failed.join(', ')}: the stop's Zenoh session to ${settings.endpoint} is ${link.state}${link.reason ? ` (${link.reason})` : ''}`,
        );
      return targets.map((t) => t.topic);
    },
    /** The session's figures (ZenohLink.details). */
    details: () => link.details(),
    close: async () => {
      await Promise.all(served.map((h) => h.close()));
      await link.close();
    },
  };

  function put(target: HaltZeroTarget, publisher: LinkPublisher, ns: bigint): Promise<boolean> {
    const payload = target.stamped ? stampedNow(target.payload, ns) : target.payload;
    const attachment = attachments ? encodeAttachment({ sequence: ++sequence, timestampNs: ns, gid }) : undefined;
    return publisher.put(payload, attachment);
  }
}

/** A TwistStamped's CDR with its header stamped `ns`: sec and nanosec right after the encapsulation header. */
function stampedNow(template: Uint8Array, ns: bigint): Uint8Array {
  const out = template.slice();
  const view = new DataView(out.buffer);
  const little = (out[1]! & 1) === 1;
  view.setInt32(4, Number(ns / 1_000_000_000n), little);
  view.setUint32(8, Number(ns % 1_000_000_000n), little);
  return out;
}
