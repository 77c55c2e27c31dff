import pino from 'pino';
import { Bus } from '../../daemon/bus/bus.ts';
import type { ComponentContext } from '../../daemon/lifecycle/component.ts';
import { componentContext } from '../helpers/component-context.ts';

/**
 * What a ControlComponent is given by the daemon, built by hand on a bus of its own: policy `p` runs `model`
 * (not served) on `inputs` and sends Float64MultiArray commands on `/cmd`; each of `loops` runs `p` with the
 * settings given. Info logs are collected, one JSON line each, in `logs`; the journal is a stub that keeps nothing.
 */
export function controlContext(options: {
  model: string;
  inputs: Record<string, unknown>;
  loops: Record<string, Record<string, unknown>>;
  dataDir: string;
}): { ctx: ComponentContext; bus: Bus; logs: string[] } {
  const { model, inputs, loops, dataDir } = options;
  const bus = new Bus();
  const policy = {
    model,
    serve: false,
    inputs,
    outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
  };
  const config = {
    policies: { p: policy },
    control: { loops: Object.fromEntries(Object.entries(loops).map(([n, l]) => [n, { policy: 'p', ...l }])) },
  };
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const ctx = componentContext(config, { bus, log, dataDir });
  return { ctx, bus, logs };
}
