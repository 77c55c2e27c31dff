import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectionTable } from '../../daemon/lakehouse/index.ts';
import { ROOT } from '../helpers/cli.ts';

describe("central's README on the fleet tables", () => {
  it('names a topic table as the robots upload it, topic_odom for /odom, not by its topic', () => {
    const readme = readFileSync(join(ROOT, 'central', 'README.md'), 'utf8');
    const tables = readme.slice(readme.indexOf('## Tables'));
    const odom = projectionTable('/odom', 'nav_msgs/msg/Odometry', new Map());
    expect(tables).toContain(`\`${odom}\` for \`/odom\``);
    // A quoted topic as a table name is what a robot's own lakehouse reads, not central's.
    expect(tables).not.toMatch(/`"\/\w+"`/);
  });
});
