import { afterEach } from 'vitest';

/** Undoes one thing a test set up: stops a daemon, closes a server, removes a directory. */
export type Cleanup = () => Promise<void> | void;

/**
 * The stack of what tests set up, undone newest first after each test, or after the file's last test with
 * `cleanupStack(afterAll)` for what the file's tests share. Push the undo right after the step it undoes:
 * a test that fails halfway then leaves nothing running behind it.
 */
export function cleanupStack(after: (hook: () => Promise<void>) => void = afterEach): Cleanup[] {
  const stack: Cleanup[] = [];
  after(() => runCleanups(stack));
  return stack;
}

/** Empties `stack`, newest first; each cleanup runs even when one before it threw, and the first error is thrown. */
export async function runCleanups(stack: Cleanup[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of stack.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}
