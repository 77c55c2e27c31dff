import { describe, expect, it } from 'vitest';
import { ambiguousPublishers } from './robot-sources.ts';

const UNKNOWN = '_NODE_NAMESPACE_UNKNOWN_/_NODE_NAME_UNKNOWN_';
const graphOf = (publishers: { node: string; id: string }[]) => ({
  endpoints: () => publishers.map((p) => ({ ...p, local: false })),
});

describe('ambiguousPublishers', () => {
  it('counts two publishers the graph cannot name as two sources, not one node', () => {
    const graph = graphOf([
      { node: UNKNOWN, id: 'publisher:a' },
      { node: UNKNOWN, id: 'publisher:b' },
    ]) as unknown as Parameters<typeof ambiguousPublishers>[0];
    expect(ambiguousPublishers(graph, '/joint_states', [], 'motion.joints.publishers')).toMatch(
      /^2 nodes publish \/joint_states/,
    );
    const one = graphOf([{ node: '/arm', id: 'publisher:a' }]) as unknown as Parameters<typeof ambiguousPublishers>[0];
    expect(ambiguousPublishers(one, '/joint_states', [], 'motion.joints.publishers')).toBeUndefined();
  });
});
