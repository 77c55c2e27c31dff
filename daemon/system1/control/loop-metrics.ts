import type { MetricFamily } from '../../contract/index.ts';
import type { ComponentLoopStats, ControlLoopStats } from './control-loop-types.ts';
import { LATENCY_BUCKETS_US, type HistogramSnapshot } from './latency-histogram.ts';

/** The control loops' metric families, from their figures; `now` on the loops' monotonic clock. */
export function loopMetrics(stats: ComponentLoopStats[], now: number): MetricFamily[] {
  const counter = (name: string, help: string, value: (s: ComponentLoopStats) => number): MetricFamily => ({
    name,
    help,
    type: 'counter',
    samples: stats.map((s) => ({ labels: { loop: s.name }, value: value(s) })),
  });
  const histogram = (name: string, help: string, pick: (s: ControlLoopStats) => HistogramSnapshot): MetricFamily => ({
    name,
    help,
    type: 'histogram',
    samples: [],
    histograms: stats.map((s) => {
      const h = pick(s);
      let cumulative = 0;
      const buckets = h.counts.map((c, i) => {
        cumulative += c;
        return { le: i < LATENCY_BUCKETS_US.length ? LATENCY_BUCKETS_US[i]! / 1e6 : Infinity, count: cumulative };
      });
      return { labels: { loop: s.name }, buckets, sum: h.sumUs / 1e6, count: h.count };
    }),
  });
  return [
    counter('auraison_control_loop_ticks_total', 'Control loop iterations.', (s) => s.ticks),
    counter(
      'auraison_control_loop_missed_deadlines_total',
      'Iterations that finished after the next tick was due, and ticks skipped.',
      (s) => s.missedDeadlines,
    ),
    counter(
      'auraison_control_loop_stale_ticks_total',
      'Ticks that sent the safe action because an observation was stale or missing.',
      (s) => s.staleTicks,
    ),
    {
      name: 'auraison_control_loop_stale_observations_total',
      help: 'Stale or missing observations per loop and topic.',
      type: 'counter',
      samples: stats.flatMap((s) =>
        s.staleBySource.map((value, i) => ({ labels: { loop: s.name, topic: s.topics[i] ?? String(i) }, value })),
      ),
    },
    counter(
      'auraison_control_loop_underruns_total',
      'Ticks of a chunked policy that found the action queue empty.',
      (s) => s.underruns,
    ),
    counter(
      'auraison_control_loop_late_actions_total',
      "Actions of chunks that came back for timesteps already executed, dropped (an async or remote policy's lag).",
      (s) => s.lateActions,
    ),
    counter(
      'auraison_control_loop_errors_total',
      'Ticks whose inference failed (the safe action was sent).',
      (s) => s.errors,
    ),
    counter(
      'auraison_control_loop_non_finite_actions_total',
      'Policy actions with a NaN or infinite element, replaced by the safe action.',
      (s) => s.nonFinite,
    ),
    counter(
      'auraison_control_loop_held_actions_total',
      "Policy actions replaced by the safe action while the operator's stop was latched.",
      (s) => s.held,
    ),
    counter(
      'auraison_control_loop_clamped_commands_total',
      "Twist commands on the velocity topic clamped to motion.velocity's limits.",
      (s) => s.clamped,
    ),
    counter('auraison_control_loop_restarts_total', 'Restarts of a crashed loop worker.', (s) => s.restarts),
    {
      name: 'auraison_control_loop_crashes_total',
      help: "Deaths of an autostart loop's threads after it was ready, by thread: the loop thread, or an async loop's inference thread.",
      type: 'counter',
      samples: stats.flatMap((s) =>
        (['loop', 'inference'] as const).map((thread) => ({
          labels: { loop: s.name, thread },
          value: s.crashes[thread],
        })),
      ),
    },
    counter(
      'auraison_control_loop_inference_overdue_total',
      'Async chunk requests awaited past chunking.inference_timeout_ms.',
      (s) => s.inferenceOverdue,
    ),
    {
      name: 'auraison_control_loop_inference_wait_seconds',
      help: 'How long the async chunk in flight has been awaited (0: none in flight).',
      type: 'gauge',
      samples: stats.map((s) => ({
        labels: { loop: s.name },
        value: s.inferenceSentMs > 0 ? Math.max(0, now - s.inferenceSentMs) / 1000 : 0,
      })),
    },
    counter(
      'auraison_control_loop_observation_errors_total',
      'Messages that could not become observations.',
      (s) => s.observationErrors,
    ),
    counter(
      'auraison_control_loop_decodes_abandoned_total',
      'Camera frames whose decode ran past image.decode_timeout_ms, abandoned (also observation errors).',
      (s) => s.decodesAbandoned,
    ),
    ...remoteMetrics(stats),
    {
      name: 'auraison_control_loop_alive',
      help: '1 while the loop ticks within its liveness timeout.',
      type: 'gauge',
      samples: stats.map((s) => ({ labels: { loop: s.name }, value: s.alive ? 1 : 0 })),
    },
    histogram(
      'auraison_control_loop_latency_seconds',
      "Time from a tick's scheduled start to its command being sent.",
      (s) => s.latency,
    ),
    histogram(
      'auraison_control_loop_jitter_seconds',
      "Lateness of a tick's start against its schedule.",
      (s) => s.jitter,
    ),
  ];
}

/** A remote policy's failures by reason and its round trips, for the loops whose policy is remote. */
function remoteMetrics(stats: ComponentLoopStats[]): MetricFamily[] {
  const remote = stats.flatMap((s) => (s.remote ? [{ loop: s.name, r: s.remote }] : []));
  if (remote.length === 0) return [];
  return [
    {
      name: 'auraison_control_loop_remote_failures_total',
      help: "Requests to a loop's remote policy that came to nothing, by reason (a hold each, until a chunk comes).",
      type: 'counter',
      samples: remote.flatMap(({ loop, r }) =>
        Object.entries(r.failures).map(([reason, value]) => ({ labels: { loop, reason }, value })),
      ),
    },
    {
      name: 'auraison_control_loop_remote_round_trip_seconds',
      help: "Round trips of a loop's remote policy (observation out to chunk in), over its last 256 chunks.",
      type: 'gauge',
      samples: remote.flatMap(({ loop, r }) =>
        (
          [
            ['0.5', r.rttP50Ms],
            ['0.99', r.rttP99Ms],
          ] as const
        ).flatMap(([quantile, ms]) => (ms === null ? [] : [{ labels: { loop, quantile }, value: ms / 1000 }])),
      ),
    },
    {
      name: 'auraison_control_loop_remote_up',
      help: "1 while a loop's remote policy's link is up.",
      type: 'gauge',
      samples: remote.map(({ loop, r }) => ({ labels: { loop }, value: r.state === 'up' ? 1 : 0 })),
    },
  ];
}
