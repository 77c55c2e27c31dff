import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import type { PeerSkip } from './missing.ts';

/**
 * Ends the run with the tests that were skipped for want of a peer (test/peers/missing.ts): each reason, with how to
 * get the peer, and the files it skipped tests in. Those CI would fail on come first; then those skipped wherever the
 * peer is absent, CI included, since no registry installs it (ROS 2, root for a tmpfs). Vitest's summary only counts.
 * A config names it as `new PeerSkipSummary()`; a command line, whose reporters replace the config's (`.ci/run`'s
 * json report), as `--reporter=./test/peers/skip-summary.ts`, the default export.
 */
export class PeerSkipSummary implements Reporter {
  #root: string | undefined;

  /** `root`: what the files are named relative to; by default the run's root. */
  constructor({ root }: { root?: string } = {}) {
    this.#root = root;
  }

  onInit(vitest: Vitest): void {
    this.#root ??= vitest.config.root;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const groups = { ci: new Map<string, string[]>(), everywhere: new Map<string, string[]>() };
    for (const module of modules) {
      const path = relative(this.#root ?? process.cwd(), module.moduleId);
      const skips: PeerSkip[] = module.meta().peerSkips ?? [];
      for (const { note, ciFails } of new Map(skips.map((s) => [s.note, s])).values()) {
        const group = ciFails ? groups.ci : groups.everywhere;
        group.set(note, [...(group.get(note) ?? []), path]);
      }
    }
    const lines = [
      ...section(groups.ci, (files) => `Skipped for want of a peer, in ${files} (CI fails instead):`),
      ...section(
        groups.everywhere,
        (files) => `Skipped for want of what no registry installs, in ${files} (skipped in CI too):`,
      ),
    ];
    if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}

export default PeerSkipSummary;

function section(notes: Map<string, string[]>, heading: (files: string) => string): string[] {
  if (notes.size === 0) return [];
  const count = new Set([...notes.values()].flat()).size;
  const lines = [heading(`${count} test file${count === 1 ? '' : 's'}`)];
  for (const [note, paths] of notes) lines.push(`  ${note}`, `    in ${[...new Set(paths)].sort().join(', ')}`);
  return lines;
}
