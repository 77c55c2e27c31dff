import type { Logger } from 'pino';
import { withSuppressed } from '../../util/index.ts';
import type { LoopWorkerMessage } from './loop-protocol.ts';

/**
 * Logs what a loop thread reports (LoopReports already held repeats back: `suppressed` counts them). Commands
 * and the lifecycle messages are the ControlLoop's own and are not logged here.
 */
export function logWorkerReport(log: Logger, name: string, m: LoopWorkerMessage): void {
  switch (m.kind) {
    case 'stale':
      log.warn(
        withSuppressed({ loop: name, topic: m.topic, age_ms: m.ageMs, limit_ms: m.limitMs }, m.suppressed ?? 0),
        m.ageMs === null ? 'no observation yet: sending the safe action' : 'observation stale: sending the safe action',
      );
      break;
    case 'fresh':
      log.info(withSuppressed({ loop: name, topic: m.topic }, m.suppressed ?? 0), 'observation fresh again');
      break;
    case 'error':
      log.error(
        withSuppressed({ loop: name, count: m.count, err: m.message }, m.suppressed ?? 0),
        'control loop tick failed: sent the safe action',
      );
      break;
    case 'non_finite':
      log.error(
        withSuppressed({ loop: name, count: m.count, action: m.values.map(String) }, m.suppressed ?? 0),
        'policy action not finite: sent the safe action',
      );
      break;
    case 'inference_overdue':
      log.warn(
        withSuppressed({ loop: name, count: m.count, waited_ms: m.waitedMs, limit_ms: m.limitMs }, m.suppressed ?? 0),
        'inference overdue: no chunk within chunking.inference_timeout_ms; the loop sends its on_underrun action meanwhile',
      );
      break;
    case 'joint_limit':
      log.warn(
        withSuppressed({ loop: name, count: m.count, violation: m.violation }, m.suppressed ?? 0),
        m.refused
          ? 'joint command outside motion.joints: refused, the safe command sent in its place'
          : 'joint command outside motion.joints: clamped into the limits',
      );
      break;
    case 'hold_unmeasured':
      log.warn(
        withSuppressed({ loop: name, count: m.count, topic: m.topic, joints: m.joints }, m.suppressed ?? 0),
        'no fresh measured position of the joints (to hold them, or to bound a step): sent nothing, the controller keeps its last target',
      );
      break;
    case 'inference_late':
      log.info({ loop: name, took_ms: m.tookMs }, 'overdue inference came back');
      break;
    default:
      break;
  }
}
