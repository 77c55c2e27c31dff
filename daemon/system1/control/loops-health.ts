import type { ComponentHealth } from '../../lifecycle/index.ts';
import type { ComponentLoopStats } from './control-loop-types.ts';
import { histogramPercentile } from './latency-histogram.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';
import type { StatusFigures } from '../../contract/index.ts';

const ms = (us: number) => (Number.isFinite(us) ? Math.round(us) / 1000 : null);

/**
 * The control component's health while it runs, from its loops' figures. `stoppedBy`: why the autostart loops
 * are not running (an operator's stop with no latch to hold them), or undefined.
 */
export function loopsHealth(stats: ComponentLoopStats[], stoppedBy: string | undefined): ComponentHealth {
  const dead = stats.filter((s) => !s.alive && !s.starting).map((s) => s.name);
  const details = Object.fromEntries(
    stats.map((s) => [
      s.name,
      {
        alive: s.alive,
        starting: s.starting,
        mode: s.mode,
        scheduling: s.scheduling,
        ticks: s.ticks,
        missed_deadlines: s.missedDeadlines,
        stale_ticks: s.staleTicks,
        observation_errors: s.observationErrors,
        decodes_abandoned: s.decodesAbandoned,
        latency_p50_ms: ms(histogramPercentile(s.latency, 50)),
        latency_p99_ms: ms(histogramPercentile(s.latency, 99)),
        underruns: s.underruns,
        late_actions: s.lateActions,
        errors: s.errors,
        non_finite_actions: s.nonFinite,
        held_actions: s.held,
        episodes_begun: s.episodes,
        clamped_commands: s.clamped,
        inference_overdue: s.inferenceOverdue,
        restarts: s.restarts,
        crashes: s.crashes,
        ...(s.blind ? { blind: s.blind } : {}),
        ...(s.unheard ? { unheard: s.unheard } : {}),
        ...(s.waiting ? { waiting: s.waiting } : {}),
        observations: s.observations,
        ...(s.fault ? { fault: s.fault } : {}),
        ...(s.lastCrash ? { last_crash: s.lastCrash } : {}),
        ...(s.remote ? { remote: remoteDetails(s.remote) } : {}),
      },
    ]),
  );
  // `alive` gates the systemd watchdog (daemon/lifecycle/systemd-notify.ts): a stalled loop stops the pings.
  if (dead.length > 0)
    return { state: 'degraded', alive: false, reason: `control loop(s) ${dead.join(', ')} stopped ticking`, details };
  // A loop that ticks but whose inference died (it sends the safe action until restarted) or is overdue:
  // degraded, yet alive, since the loop frame still works and the watchdog has nothing to restart.
  const faults = stats.filter((s) => s.fault && !s.starting).map((s) => `${s.name}: ${s.fault}`);
  if (faults.length > 0)
    return { state: 'degraded', alive: true, reason: `control loop ${faults.join('; ')}`, details };
  // A loop that ticks on stale, missing or refused observations only sends its safe action: it is not ready.
  const blind = stats.filter((s) => s.blind && !s.starting).map((s) => `${s.name} is blind (${s.blind})`);
  if (blind.length > 0)
    return {
      state: 'degraded',
      alive: true,
      reason: `control loop ${blind.join('; ')}: it sends only its safe action`,
      details,
    };
  // A loop whose commands no node takes (its controller not loaded) moves nothing: not ready either.
  const unheard = stats.filter((s) => s.unheard && !s.starting).map((s) => `${s.name}: ${s.unheard}`);
  if (unheard.length > 0)
    return { state: 'degraded', alive: true, reason: `control loop ${unheard.join('; ')}`, details };
  if (stoppedBy) return { state: 'degraded', alive: true, reason: `control loops ${stoppedBy}`, details };
  return { state: 'running', alive: true, details };
}

/** A remote policy's link as status shows it: where, its state and why, round trips, failures by reason. */
function remoteDetails(r: RemoteStatus): StatusFigures {
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    endpoint: r.endpoint,
    state: r.state,
    ...(r.reason ? { reason: r.reason } : {}),
    rtt_p50_ms: round(r.rttP50Ms),
    rtt_p99_ms: round(r.rttP99Ms),
    server_ms: round(r.serverMs),
    requests: r.requests,
    chunks: r.chunks,
    failures: r.failures,
    connects: r.connects,
    last_error: r.lastError,
    last_error_at: r.lastErrorAtMs === null ? null : new Date(r.lastErrorAtMs).toISOString(),
  };
}
