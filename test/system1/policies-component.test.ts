import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PoliciesComponent } from '../../adapters/lerobot/policies-component.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RobotGraph } from '../../daemon/bus/graph.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import type { ComponentContext } from '../../daemon/lifecycle/component.ts';
import { tempDir } from '../helpers/cli.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the policies component', () => {
  it('a start stopped while its models load (a start timeout) leaves no thread or query behind, so the retry starts', async () => {
    const model = writeLinearModel(tmp.path, 'p', [1, 0, 0, 1], [0, 0]);
    const config = parseConfigText(JSON.stringify({ policies: { p: { model } } }), 'test.yaml');
    const bus = new Bus();
    const journal = { append: async () => ({ seq: 0, ts: '0', kind: '', data: null }), read: () => [], subscribe: () => () => {}, lastSeq: 0 } as Journal;
    const ctx: ComponentContext = { config, bus, definitions: new DefinitionsRegistry(), graph: new RobotGraph(), log: pino({ level: 'silent' }), dataDir: tmp.path, journal, daemonStatus: () => { throw new Error('unused'); }, components: new Map() };
    const policies = new PoliciesComponent(ctx);
    try {
      const starting = policies.start();
      await policies.stop(); // as the supervisor does when start_timeout_s passes
      await expect(starting).rejects.toThrow('policy p: stopped while loading');
      expect(bus.queryables()).toEqual([]);
      await policies.start();
      expect(bus.queryables()).toEqual(['ai/inference/vla/p']);
      expect(policies.health().state).toBe('running');
    } finally {
      await policies.stop();
      bus.close();
    }
  });
});
