import { SERVICE_NAMES } from '../contract/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import type { ComponentHealth } from '../lifecycle/index.ts';
import { errorText } from '../util/index.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface ReadinessCheck {
  name: string;
  status: CheckStatus;
  reason: string;
  /** Informational checks are reported but never make the daemon unready (the central link: offline is normal). */
  informational?: boolean;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** Components with a check of their own name; every other component gets a `component:<name>` check. */
const NAMED: Record<string, { check: string; absent: string; informational?: boolean; degradedFails: boolean }> = {
  [SERVICE_NAMES.llm]: {
    check: 'model_endpoint',
    absent: 'no model endpoint configured (llm.endpoints): skill intents only',
    degradedFails: true,
  },
  [SERVICE_NAMES.control]: { check: 'control_loops', absent: 'no control loops configured', degradedFails: true },
  central: { check: 'central_link', absent: 'no central link configured', informational: true, degradedFails: true },
};
const ADAPTER = /^(ros|zenoh)/;

export interface ReadinessOptions {
  status: DaemonStatus;
  dataDir: string;
  /** The data dir's free bytes (statfs, shared by the requests of a second: see Sampled). */
  freeBytes: () => Promise<number>;
  minFreeBytes: number;
  /** Whether any model endpoint is configured (llm.endpoints): with none, `llm` runs degraded by design. */
  modelConfigured: boolean;
}

/**
 * The daemon's readiness as named checks: the bus, each configured adapter, the model endpoint, free disk,
 * the control loops, every other component, and the central link (informational). Ready when no
 * non-informational check fails.
 */
export async function checkReadiness(options: ReadinessOptions): Promise<Readiness> {
  const { status, dataDir, freeBytes, minFreeBytes, modelConfigured } = options;
  const checks: ReadinessCheck[] = [
    {
      name: 'bus',
      status: 'pass',
      reason: `${status.topics.length} topics, ${status.subscribers.length} subscribers, ${status.queryables.length} queryables`,
    },
    await diskCheck(dataDir, freeBytes, minFreeBytes),
  ];
  for (const [component, named] of Object.entries(NAMED)) {
    const health = component === SERVICE_NAMES.llm && !modelConfigured ? undefined : status.components[component];
    if (!health)
      checks.push({
        name: named.check,
        status: 'skip',
        reason: named.absent,
        ...(named.informational ? { informational: true } : {}),
      });
    else
      checks.push({
        name: named.check,
        ...fromHealth(component, health, named.degradedFails),
        ...(named.informational ? { informational: true } : {}),
      });
  }
  for (const [component, health] of Object.entries(status.components)) {
    if (component in NAMED) continue;
    const adapter = ADAPTER.test(component);
    checks.push({
      name: adapter ? `adapter:${component}` : `component:${component}`,
      ...fromHealth(component, health, adapter),
    });
  }
  return { ready: !checks.some((c) => c.status === 'fail' && !c.informational), checks };
}

function fromHealth(
  name: string,
  health: ComponentHealth,
  degradedFails: boolean,
): { status: CheckStatus; reason: string } {
  const why = health.reason ? `: ${health.reason}` : '';
  switch (health.state) {
    case 'running':
      return { status: 'pass', reason: `${name} running` };
    case 'degraded':
      return { status: degradedFails ? 'fail' : 'warn', reason: `${name} degraded${why}` };
    default:
      return { status: 'fail', reason: `${name} ${health.state}${why}` };
  }
}

/**
 * Readiness in one line, as systemd's STATUS and the journal say it: `ready`, or `not ready: ` and each failed check's
 * reason (a blind control loop names its input and topic).
 */
export function readinessLine(readiness: Readiness): string {
  const failed = readiness.checks.filter((c) => c.status === 'fail' && !c.informational).map((c) => c.reason);
  return failed.length === 0 ? 'ready' : `not ready: ${failed.join('; ')}`;
}

async function diskCheck(
  dataDir: string,
  freeBytes: () => Promise<number>,
  minFreeBytes: number,
): Promise<ReadinessCheck> {
  try {
    const free = await freeBytes();
    const mb = (n: number): string => `${Math.round(n / 1024 / 1024)} MiB`;
    return free >= minFreeBytes
      ? { name: 'disk', status: 'pass', reason: `${mb(free)} free in ${dataDir}` }
      : {
          name: 'disk',
          status: 'fail',
          reason: `${mb(free)} free in ${dataDir}, below api.ready.min_free_bytes (${mb(minFreeBytes)}): free space or lower the retention limits`,
        };
  } catch (error) {
    return { name: 'disk', status: 'fail', reason: `cannot stat ${dataDir}: ${errorText(error)}` };
  }
}
