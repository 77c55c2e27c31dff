import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import './missing.ts';

/**
 * Ends the run with the tests that were skipped for want of a peer (test/peers/missing.ts): each reason, with the
 * command that installs the peer, and the files it skipped tests in. Vitest's own summary only counts skips.
 */
export class PeerSkipSummary implements Reporter {
  #root: string;

  constructor({ root = process.cwd() }: { root?: string } = {}) {
    this.#root = root;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const files = new Map<string, string[]>();
    for (const module of modules)
      for (const note of new Set(module.meta().peerSkips ?? []))
        files.set(note, [...(files.get(note) ?? []), relative(this.#root, module.moduleId)]);
    if (files.size === 0) return;
    const count = new Set([...files.values()].flat()).size;
    const lines = [`Skipped for want of a peer, in ${count} test file${count === 1 ? '' : 's'} (CI fails instead):`];
    for (const [note, paths] of files) lines.push(`  ${note}`, `    in ${paths.sort().join(', ')}`);
    process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
