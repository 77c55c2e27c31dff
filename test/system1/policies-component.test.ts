import { afterAll, describe, expect, it } from 'vitest';
import { PoliciesComponent } from '../../daemon/system1/policies-component.ts';
import { tempDir } from '../helpers/cli.ts';
import { componentContext } from '../helpers/component-context.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the policies component', () => {
  it('a start stopped while its models load (a start timeout) leaves no thread or query behind, so the retry starts', async () => {
    const model = writeLinearModel(tmp.path, 'p', [1, 0, 0, 1], [0, 0]);
    const ctx = componentContext({ policies: { p: { model } } }, { dataDir: tmp.path });
    const { bus } = ctx;
    const policies = new PoliciesComponent(ctx);
    try {
      const starting = policies.start();
      await policies.close(); // as the supervisor does when start_timeout_s passes
      await expect(starting).rejects.toThrow('policy p: stopped while loading');
      expect(bus.queryables()).toEqual([]);
      await policies.start();
      expect(bus.queryables()).toEqual(['ai/inference/vla/p']);
      expect(policies.health().state).toBe('running');
    } finally {
      await policies.close();
      bus.close();
    }
  });
});
