import type { DaemonStatus } from '../daemon/lifecycle/index.ts';
import { nowNs } from '../daemon/util/index.ts';
import { authorityProblem } from './command-gate.ts';
import type { CommandSignatureCheck } from './command-signature-check.ts';
import type { RefusalReport } from './link-refusals.ts';
import type { Outbox } from './outbox.ts';
import type { Budget } from './sync/budget.ts';
import { heartbeatSync } from './sync/heartbeat-sync.ts';
import type { SyncManager } from './sync/sync-manager.ts';

/** Heartbeats sent and skipped, kept by the component across the link's restarts. */
export interface HeartbeatCounts {
  sent: number;
  skipped: number;
}

export interface HeartbeatOptions {
  periodS: number;
  counts: HeartbeatCounts;
  /** Connected and subscribed: a heartbeat is for now, so none is queued while offline. */
  online: () => boolean;
  daemonStatus: () => DaemonStatus;
  /** The journal's last record. */
  lastSeq: () => number | undefined;
  outbox: Outbox;
  signatures: CommandSignatureCheck;
  sync: SyncManager | undefined;
  budget: Budget;
  refusals: () => RefusalReport;
  statusPage: () => { status_url?: string };
  publish: (payload: string) => Promise<unknown>;
}

/**
 * The robot's periodic heartbeat to central: the daemon's components and problems, the outbox's progress, what the
 * link refused, central's authority and bulk sync's progress. At most one waits for its PUBACK at a time.
 */
export class Heartbeat {
  readonly #o: Omit<HeartbeatOptions, 'periodS'>;
  readonly #periodMs: number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;

  constructor({ periodS, ...rest }: HeartbeatOptions) {
    this.#periodMs = periodS * 1000;
    this.#o = rest;
  }

  start(): void {
    this.#timer = setInterval(() => this.beat(), this.#periodMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  beat(): void {
    const { counts, online, daemonStatus, lastSeq, outbox, signatures, sync, budget, refusals, statusPage, publish } =
      this.#o;
    if (!online()) return; // a heartbeat is for now: none is queued while offline
    // Nor while the last one waits for its PUBACK: a broker that keeps the link and acknowledges nothing
    // would have the client hold one more each period, for as long as the link holds, and send them all later.
    if (this.#inFlight) {
      counts.skipped++;
      return;
    }
    const status = daemonStatus();
    const problems = Object.entries(status.components)
      .filter(([, h]) => h.state === 'degraded' || h.state === 'failed')
      .map(([component, h]) => ({ component, state: h.state, reason: h.reason ?? '' }));
    const payload = {
      schema: 'auraison.heartbeat/1',
      robot: status.robot.id,
      fleet: status.robot.fleet,
      ts: nowNs().toString(),
      uptime_s: status.uptime_s,
      components: Object.fromEntries(Object.entries(status.components).map(([name, h]) => [name, h.state])),
      problems,
      outbox: {
        journal_id: outbox.journalId,
        acked_seq: outbox.ackedSeq,
        last_seq: lastSeq(),
        backlog: outbox.backlog,
      },
      // Which config from central is in force: after a restart, or a local reload that set it aside.
      config: status.central_config ?? null,
      // A robot under attack shows on the fleet page: what the link refused, and whether central can command it.
      refused: refusals(),
      authority: authorityProblem(signatures) ?? null,
      // Bulk sync's progress, for the fleet page's sync column; null without central.sync.enabled.
      sync: sync ? heartbeatSync(sync.status()) : null,
      ...statusPage(),
    };
    counts.sent++;
    this.#inFlight = true;
    void budget.take(JSON.stringify(payload).length, 'control'); // counted, never waits
    publish(JSON.stringify(payload))
      .catch(() => undefined) // the next one says it all again
      .finally(() => (this.#inFlight = false));
  }
}
