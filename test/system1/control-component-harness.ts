import pino from 'pino';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RobotGraph } from '../../daemon/bus/graph.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import type { ComponentContext } from '../../daemon/lifecycle/component.ts';

/**
 * What a ControlComponent is given by the daemon, built by hand on a bus of its own: policy `p` runs `model`
 * (not served) on `inputs` and sends Float64MultiArray commands on `/cmd`; each of `loops` runs `p` with the
 * settings given. Info logs are collected, one JSON line each, in `logs`; the journal is a stub that keeps nothing.
 */
export function controlContext(options: { model: string; inputs: Record<string, unknown>; loops: Record<string, Record<string, unknown>>; dataDir: string }): { ctx: ComponentContext; bus: Bus; logs: string[] } {
  const { model, inputs, loops, dataDir } = options;
  const bus = new Bus();
  const policy = { model, serve: false, inputs, outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } } };
  const config = parseConfigText(JSON.stringify({ policies: { p: policy }, control: { loops: Object.fromEntries(Object.entries(loops).map(([n, l]) => [n, { policy: 'p', ...l }])) } }), 'test.yaml');
  const logs: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const journal = { append: async () => ({ seq: 0, ts: '0', kind: '', data: null }), read: () => [], subscribe: () => () => {}, lastSeq: 0 } as Journal;
  const ctx: ComponentContext = { config, bus, definitions: new DefinitionsRegistry(), graph: new RobotGraph(), log, dataDir, journal, daemonStatus: () => { throw new Error('unused'); }, components: new Map() };
  return { ctx, bus, logs };
}
