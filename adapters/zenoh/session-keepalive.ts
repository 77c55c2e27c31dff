import type { Session } from '@eclipse-zenoh/zenoh-ts';
import { errorText } from '../../daemon/util/index.ts';
import type { SessionSocket } from './session-socket.ts';

export interface KeepaliveOptions {
  session: Session;
  socket: SessionSocket;
  intervalMs: number;
  /** Skips a turn when callbacks ran since the last one (ZenohLinkOptions.keepaliveWhenQuiet). */
  whenQuiet: boolean;
  /** Callbacks run so far: a count that moves while samples come in. */
  heard: () => number;
  /** A keepalive request is sent. */
  onAsk: () => void;
  /** The bridge answered: the routers its session sees. */
  onRouters: (routers: number) => void;
  /** No answer and nothing read meanwhile: the link is dead, for this reason. */
  onLost: (reason: string) => void;
}

/** Asks the bridge for its session info every interval; a request left unanswered on a silent socket loses the link. */
export function startKeepalive(options: KeepaliveOptions): { close(): void } {
  const { session, socket, intervalMs, whenQuiet, heard, onAsk, onRouters, onLost } = options;
  let heardAtLastTick = heard();
  const timer = setInterval(() => {
    const heardNow = heard();
    if (whenQuiet && heardNow !== heardAtLastTick) {
      heardAtLastTick = heardNow;
      return;
    }
    onAsk();
    const readBefore = socket.bytesRead();
    session.info().then(
      (info) => onRouters(info.routersZid().length),
      (error: unknown) =>
        // zenoh-ts's timer says so first on the loop's turn after a stall (a long callback, a starved CPU), before
        // the socket is read: what came in meanwhile is read (the poll phase) before the link is judged.
        setImmediate(() => {
          // Bytes came in since it asked: its answer, or a message ahead of it still coming in (a sample of many
          // MiB takes seconds). The link is busy, not dead, and the next keepalive asks again.
          const read = socket.bytesRead();
          if (read !== undefined && readBefore !== undefined && read > readBefore) return;
          onLost(`no answer to a keepalive: ${errorText(error)}`);
        }),
    );
  }, intervalMs);
  return { close: () => clearInterval(timer) };
}
