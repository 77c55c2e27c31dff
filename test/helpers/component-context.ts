import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { ActionGoals } from '../../daemon/actions/action-goals.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RobotGraph } from '../../daemon/bus/graph.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { EdgeConfig } from '../../daemon/config/index.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import type { RobotHaltAuthority } from '../../daemon/contract/halt.ts';
import { HaltAuthority } from '../../daemon/halt/halt-authority.ts';
import { RobotInputs } from '../../daemon/motion/index.ts';
import type { Component, ComponentContext } from '../../daemon/lifecycle/component.ts';
import { ProvidedPorts } from '../../daemon/lifecycle/wiring.ts';
import { COMPONENTS } from '../../daemon/components/index.ts';
import type { Port, Ports } from '../../daemon/contract/ports.ts';
import { MemoryJournal } from './memory-journal.ts';

/** A component's context in a test, with the codec over its definitions and the components map writable. */
export interface TestContext extends ComponentContext {
  readonly journal: Journal;
  readonly components: Map<string, Component>;
  readonly codec: MessageCodec;
}

export interface TestContextOptions {
  bus?: Bus;
  definitions?: DefinitionsRegistry;
  log?: Logger;
  dataDir?: string;
  journal?: Journal;
  daemonStatus?: ComponentContext['daemonStatus'];
  components?: Map<string, Component>;
  /** The stop of another context on the same bus (a component restarted as a reload restarts it). */
  haltAuthority?: RobotHaltAuthority;
  /** The robot's inputs the context's components share (a new one on the context's bus by default). */
  robot?: RobotInputs;
}

const dataDirs: string[] = [];
process.once('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * The context the daemon gives a component, for a component test: config as an object or YAML text
 * (validated like a file, with no environment to expand), and unless `options` gives them a fresh bus,
 * definitions and graph, a silent log, an in-memory journal, no other components, and a data dir of its own
 * (removed when the process exits), which a component restarted on the same context reads again.
 */
export function componentContext(
  config: Record<string, unknown> | string = {},
  options: TestContextOptions = {},
): TestContext {
  const {
    bus = new Bus(),
    definitions = new DefinitionsRegistry(),
    log = pino({ level: 'silent' }),
    dataDir = newDataDir(),
    journal = new MemoryJournal(),
    daemonStatus = () => {
      throw new Error('no daemon status in a component test');
    },
    components = new Map<string, Component>(),
  } = options;
  const text = typeof config === 'string' ? config : stringify(config);
  const parsed = parseConfigText(text, 'test.yaml', {});
  const codec = new MessageCodec(definitions);
  const actionGoals = new ActionGoals();
  const graph = new RobotGraph();
  return {
    config: parsed,
    bus,
    definitions,
    graph,
    robot: options.robot ?? new RobotInputs({ bus, graph, codec, settings: parsed.motion.joints, log }),
    log,
    dataDir,
    journal,
    actionGoals,
    haltAuthority:
      options.haltAuthority ?? newHaltAuthority({ bus, codec, config: parsed, dataDir, journal, log, actionGoals }),
    daemonStatus,
    components,
    ...testPorts(components),
    codec,
  };
}

/**
 * A test's ports: what the test provided (ctx.provide), then each component in `components` (a double or the real
 * one) under the ports the daemon's spec of its name provides, as the supervisor would have registered it: a double
 * named `agent` stands in for the agent.
 */
function testPorts(components: ReadonlyMap<string, Component>): Pick<ComponentContext, 'ports' | 'provide'> {
  const provided = new ProvidedPorts();
  const standIns = <T>(port: Port<T>): T[] => {
    const names = COMPONENTS.filter((spec) => spec.provides?.includes(port)).map((spec) => spec.name);
    // Typed as the test put it there: a double is as good as the test made it.
    return [...components].filter(([name]) => names.includes(name)).map(([, c]) => c as T);
  };
  const ports: Ports = {
    get: (port) => provided.get(port) ?? standIns(port)[0],
    all: (port) => [...provided.all(port), ...standIns(port)],
  };
  return { ports, provide: provided.provide };
}

/** The stop the daemon builds: its one latch, the zero commands, and the action goals cancelled with it. */
function newHaltAuthority(options: {
  bus: Bus;
  codec: MessageCodec;
  config: EdgeConfig;
  dataDir: string;
  journal: Journal;
  log: Logger;
  actionGoals: ActionGoals;
}): HaltAuthority {
  const { journal, actionGoals, ...rest } = options;
  const stop = new HaltAuthority({ ...rest, journal: () => journal });
  stop.onHalt('action goals', () => actionGoals.onOperatorHalt());
  return stop;
}

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'component-ctx-'));
  dataDirs.push(dir);
  return dir;
}
