import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RobotGraph } from '../../daemon/bus/graph.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import type { Component, ComponentContext } from '../../daemon/lifecycle/component.ts';
import { stringify } from 'yaml';
import { MemoryJournal } from './memory-journal.ts';

const definitions = new DefinitionsRegistry({ distro: 'jazzy', dirs: [] });

export interface TestContext extends ComponentContext {
  readonly journal: Journal;
  readonly components: Map<string, Component>;
  readonly codec: MessageCodec;
}

const dataDirs: string[] = [];
process.once('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A component context for agent tests: config from an object (validated like a file), a fresh bus, and a
 * data dir of its own (where the stop latch is kept), which a restarted agent on the same context reads again.
 */
export function agentContext(config: Record<string, unknown> = {}, options: { journal?: Journal; bus?: Bus } = {}): TestContext {
  const { journal = new MemoryJournal(), bus = new Bus() } = options;
  const parsed = parseConfigText(stringify(config), 'test.yaml', {});
  return {
    config: parsed,
    bus,
    definitions,
    graph: new RobotGraph(),
    log: pino({ level: 'silent' }),
    dataDir: newDataDir(),
    journal,
    daemonStatus: () => {
      throw new Error('not in tests');
    },
    components: new Map(),
    codec: new MessageCodec(definitions),
  };
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export { waitFor } from '../helpers/wait.ts';

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ctx-'));
  dataDirs.push(dir);
  return dir;
}
