import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { compileTopicGlob } from '../bus/index.ts';
import { NAME_KEYS_KEYWORD, resolveNames, RosGlob, RosName } from './name-fields.ts';
import { resolveGlob } from './ros-name.ts';

const SCOPE = { namespace: '/robot1', node: 'edge' };

describe('resolveNames over a schema', () => {
  const Schema = Type.Object({
    topic: RosName(),
    optional: Type.Optional(RosName()),
    globs: Type.Array(RosGlob()),
    either: Type.Union([Type.Literal(''), RosName()]),
    keyed: Type.Record(Type.String(), Type.Object({ depth: Type.Number() }), { [NAME_KEYS_KEYWORD]: true }),
    plain: Type.String(),
    nested: Type.Array(Type.Object({ name: RosName() })),
  });

  it('puts every marked name in its fully qualified form and leaves the rest as it was', () => {
    const value = {
      topic: 'cmd_vel',
      globs: ['camera/**', '/tf*'],
      either: '',
      keyed: { scan: { depth: 5 } },
      plain: 'cmd_vel/',
      nested: [{ name: '~/status' }],
    };
    const { value: out, issues } = resolveNames(Schema, value, SCOPE);
    expect(issues).toEqual([]);
    expect(out).toEqual({
      topic: '/robot1/cmd_vel',
      globs: ['/robot1/camera/**', '/tf*'],
      either: '',
      keyed: { '/robot1/scan': { depth: 5 } },
      plain: 'cmd_vel/',
      nested: [{ name: '/robot1/edge/status' }],
    });
    // the value given is left as it was
    expect(value.topic).toBe('cmd_vel');
  });

  it('returns the same value when every name is already canonical', () => {
    const value = { topic: '/a', globs: [], either: '/b', keyed: {}, plain: '', nested: [] };
    expect(resolveNames(Schema, value, SCOPE).value).toBe(value);
  });

  it('names the path and the rule of every name ROS 2 refuses, and two keys naming one topic', () => {
    const { issues } = resolveNames(
      Schema,
      {
        topic: '/cmd_vel/',
        optional: '//x',
        globs: ['/ok', '/camera/ **'],
        either: 'a b',
        keyed: { '/robot1/scan': { depth: 1 }, scan: { depth: 2 } },
        plain: '',
        nested: [{ name: '/1x' }],
      },
      SCOPE,
    );
    expect(issues).toEqual([
      { path: 'topic', message: '"/cmd_vel/" ends with a forward slash' },
      { path: 'optional', message: '"//x" contains repeated forward slashes at index 0' },
      { path: 'globs[1]', message: expect.stringContaining("' ' (U+0020) at index 8") },
      { path: 'either', message: expect.stringContaining("' ' (U+0020) at index 1") },
      { path: 'keyed.scan', message: '"scan" names /robot1/scan, as "/robot1/scan" does: give each name once' },
      { path: 'nested[0].name', message: '"/1x" has a token that starts with a number at index 1' },
    ]);
  });
});

describe('topic globs', () => {
  it('take `/**/` as zero or more tokens, so /**/cmd_vel governs /cmd_vel and every namespace', () => {
    const governed = compileTopicGlob('/**/cmd_vel');
    for (const topic of ['/cmd_vel', '/robot1/cmd_vel', '/a/b/c/cmd_vel']) expect(governed(topic), topic).toBe(true);
    for (const topic of ['/cmd_vel2', '/robot1/my_cmd_vel', '/cmd_vel/x']) expect(governed(topic), topic).toBe(false);
    expect(compileTopicGlob('/camera/**')('/camera')).toBe(false);
    expect(compileTopicGlob('/camera/**')('/camera/left/image_raw')).toBe(true);
  });

  it('follow the name rules apart from their wildcards', () => {
    expect(resolveGlob('**', SCOPE)).toEqual({ ok: true, name: '/**' });
    expect(resolveGlob('**/cmd_vel', SCOPE)).toEqual({ ok: true, name: '/**/cmd_vel' });
    expect(resolveGlob('camera/**', SCOPE)).toEqual({ ok: true, name: '/robot1/camera/**' });
    expect(resolveGlob('/**/cmd_vel/', SCOPE)).toMatchObject({ ok: false, rule: 'ends with a forward slash' });
    expect(resolveGlob('/a//*', SCOPE)).toMatchObject({ ok: false, rule: expect.stringContaining('repeated') });
  });
});
