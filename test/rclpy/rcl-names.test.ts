import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveName, type NameScope } from '../../daemon/names/index.ts';
import { ros2Peer, ROS2_DISTROS } from '../peers/ros2.ts';

/**
 * The daemon's name rules against rcl's own (rclpy's validate_topic_name, expand_topic_name and
 * validate_full_topic_name, from PyPI's ROS 2 wheels): for every spelling, both accept it and expand it to the same
 * fully qualified name, or both refuse it.
 */

const SCOPES: NameScope[] = [
  { namespace: '/', node: 'auraison_edge' },
  { namespace: '/robot1', node: 'edge' },
  { namespace: '/fleet/robot_2', node: 'n' },
];

const SPELLINGS = [
  // what a user writes
  '/cmd_vel',
  'cmd_vel',
  '~/cmd_vel',
  '~',
  '/robot1/cmd_vel',
  'robot1/cmd_vel',
  '/_hidden/x',
  '/a/_action/status',
  '/CMD_VEL',
  '/a_b/c__d',
  '/x1/y2',
  '_x',
  '/tf_static',
  // substitutions
  '{node}',
  '{node}/x',
  '{ns}',
  '{ns}/x',
  '{namespace}/x',
  'x{node}',
  'a/{node}b',
  '/a/{node}',
  '{node}{node}',
  '/a/{foo}',
  '{a}{b}',
  '{1a}',
  '{',
  '}',
  '/a{',
  '/a}',
  '{no de}',
  '{node',
  'node}',
  '{}',
  // what must not pass as a second spelling of a topic
  '/cmd_vel/',
  '//cmd_vel',
  '/a//b',
  '/a///b',
  '/cmd_vel//',
  '/',
  '//',
  '',
  ' ',
  '/cmd_vel ',
  ' /cmd_vel',
  '/cmd vel',
  '/cmd_vel\t',
  '/cmd_vel\n',
  '/./cmd_vel',
  '/a/../cmd_vel',
  '.',
  './cmd_vel',
  '/cmd-vel',
  '/cmd.vel',
  '/cmd_vel*',
  '/cmd_vel?',
  '/**/cmd_vel',
  '/1abc',
  '1abc',
  '/a/1b',
  '/a1/b',
  '~/',
  '~//x',
  '/~',
  '/a/~',
  '/a~b',
  '~~',
  '/\u0441md_vel',
  '/cmd\u2215vel',
  '/cmd_vel\u200b',
  '/\uff43md_vel',
  '/\u00e9',
  '/cmd_vel\u0000',
  // rmw's length limit: 247 characters fully qualified
  `/${'a'.repeat(246)}`,
  `/${'a'.repeat(247)}`,
  'a'.repeat(246),
  'a'.repeat(239),
  'a'.repeat(240),
];

/**
 * Where the daemon refuses what rcl lets through:
 * - a leading `~` not followed by `/`: rcl expands `~a` to the node's name run into `a`, which ROS 2's naming
 *   design forbids;
 * - a NUL: rcl reads a C string and ends the name there (`/cmd_vel\0` is /cmd_vel to it), while the bus would
 *   hold it as another string than the one a C peer sees.
 */
const stricter = (name: string) => /^~[^/]/.test(name) || name.includes('\u0000');

describe('names resolved as rcl resolves them', () => {
  it.each(ROS2_DISTROS)('agree with ROS 2 %s on every spelling, in three namespaces', (distro) => {
    const peer = ros2Peer(distro);
    const cases = SCOPES.flatMap((scope) => SPELLINGS.map((name) => [name, scope.namespace, scope.node] as const));
    const run = spawnSync(peer.python, [join(peer.scripts, 'names.py')], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      env: peer.env(0),
    });
    expect(run.status, run.stderr).toBe(0);
    const rcl = JSON.parse(run.stdout) as ['ok' | 'err', string][];
    expect(rcl).toHaveLength(cases.length);
    let accepted = 0;
    const disagree: string[] = [];
    cases.forEach(([name, namespace, node], i) => {
      const [verdict, text] = rcl[i]!;
      const ours = resolveName(name, { namespace, node });
      if (verdict === 'ok') accepted++;
      if (verdict === 'ok' && !ours.ok && stricter(name)) return;
      const same = verdict === 'ok' ? ours.ok && ours.name === text : !ours.ok;
      if (!same)
        disagree.push(`${JSON.stringify(name)} in ${namespace}: rcl ${verdict} ${text}; ours ${JSON.stringify(ours)}`);
    });
    expect(disagree).toEqual([]);
    // Both sides of the table are exercised: neither all accepted nor all refused.
    expect(accepted).toBeGreaterThan(SCOPES.length * 20);
    expect(cases.length - accepted).toBeGreaterThan(SCOPES.length * 40);
  });
});
