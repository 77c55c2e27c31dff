import { afterAll, beforeAll } from 'vitest';
import { writeTestModel, type ChatTemplate } from './model-servers.ts';

/**
 * The tests' made model for a whole test file (or describe block): written before its first test, removed after its
 * last. `path` is where it lies, once written.
 */
export function madeModel(template?: ChatTemplate): { readonly path: string } {
  let written: { path: string; cleanup: () => void } | undefined;
  beforeAll(async () => {
    written = await writeTestModel(template);
  }, 60_000);
  afterAll(() => written?.cleanup());
  return {
    get path(): string {
      if (!written) throw new Error('the made model is not written yet: read its path in a test or a hook');
      return written.path;
    },
  };
}
