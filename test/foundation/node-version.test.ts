import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, nodeVersionWarning } from '../../systemd/unit.ts';
import { ROOT } from '../helpers/cli.ts';

// Node 24 is the target and 22 the oldest supported (Node 20's end of life was 2026-04-30): the unit names the node
// that ran install-service for good, so an older one is said there, where npm's engines check is long past.
describe('the Node.js a systemd unit would run', () => {
  it('warns about a node older than 22, naming its path, its version and what to do', () => {
    const warning = nodeVersionWarning('/usr/bin/node', 'v20.20.2');
    expect(warning).toContain('/usr/bin/node, Node.js v20.20.2, older than the 22 this daemon needs');
    expect(warning).toContain('run install-service with Node.js 24 (or 22)');
    expect(nodeVersionWarning('/opt/node18/bin/node', 'v18.19.0')).toBeDefined();
  });

  it('says nothing for 22 and 24, nor for a version it cannot read', () => {
    for (const version of ['v22.23.3', 'v24.21.0', 'v25.0.0'])
      expect(nodeVersionWarning('/n', version)).toBeUndefined();
    for (const version of ['', 'node', 'v', 'vX.1.2', '20']) expect(nodeVersionWarning('/n', version)).toBeUndefined();
  });

  it("holds the same oldest major as package.json's engines", () => {
    const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(engines.node).toBe(`>=${MIN_NODE_MAJOR}`);
  });
});
