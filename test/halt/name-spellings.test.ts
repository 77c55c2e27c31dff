import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * An attacker on the robot's computer spells a governed name another way, hoping the safety frames compare it as
 * a different topic: each spelling is refused with the ROS 2 rule it breaks, or resolved to the topic it names and
 * held there (latched: no Twist that moves goes out; released: clamped to motion.velocity).
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const FAST = { linear: { x: 50 }, angular: { z: 90 } };

/** Each spelling, and what it must come to: refused naming a rule, or the fully qualified topic it names. */
const SPELLINGS: { spelling: string; refused?: RegExp; topic?: string }[] = [
  { spelling: '/cmd_vel/', refused: /ends with a forward slash/ },
  { spelling: '//cmd_vel', refused: /repeated forward slashes/ },
  { spelling: '/a/cmd_vel/', refused: /ends with a forward slash/ },
  { spelling: '/cmd_vel ', refused: /' ' \(U\+0020\)/ },
  { spelling: ' /cmd_vel', refused: /' ' \(U\+0020\)/ },
  { spelling: '/cmd_vel\t', refused: /\(U\+0009\)/ },
  { spelling: '/./cmd_vel', refused: /'\.' \(U\+002E\)/ },
  { spelling: '/a/../cmd_vel', refused: /'\.' \(U\+002E\)/ },
  { spelling: '/\u0441md_vel', refused: /\(U\+0441\)/ }, // Cyrillic es
  { spelling: '/cmd\u2215vel', refused: /\(U\+2215\)/ }, // division slash
  { spelling: '/cmd_vel\u200b', refused: /\(U\+200B\)/ }, // zero-width space
  { spelling: '/cmd_vel*', refused: /'\*' \(U\+002A\)/ },
  { spelling: '/1cmd_vel', refused: /starts with a number/ },
  { spelling: 'cmd_vel', topic: '/cmd_vel' },
  // {ns} is the namespace with its slash, as rcl substitutes it: in the root namespace that doubles the slash.
  { spelling: '{ns}/cmd_vel', refused: /repeated forward slashes at index 0 once expanded to "\/\/cmd_vel"/ },
  { spelling: '~/cmd_vel', topic: '/auraison_edge/cmd_vel' },
  { spelling: '/robot1/cmd_vel', topic: '/robot1/cmd_vel' },
  // Another topic to ROS 2 (names are case-sensitive), which no glob governs: held by its type.
  { spelling: '/CMD_VEL', topic: '/CMD_VEL' },
];

interface RunView {
  run: { status: string; reason?: string };
  events: { kind: string; payload: Record<string, unknown> }[];
}

async function daemonWithApi() {
  const started = await startDaemon(
    {
      sim: { enabled: true, speed: 10 },
      api: { port: 0 },
      foxglove: { port: 0, client_publish: { enabled: true, topics: ['/cmd_vel', '/**/cmd_vel', '/CMD_VEL'] } },
      lakehouse: { enabled: false },
      retention: { enabled: false },
    },
    'name-spellings-',
  );
  cleanups.push(started.stop);
  const url = readApiFile(join(started.dir, 'data'))!.url;
  const config = join(started.dir, 'edge.yaml');
  writeFileSync(config, 'data_dir: ./data\napi: {port: 0}\nfoxglove: {port: 0}\n');
  const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: started.dir, env: { USER: 'eve' } });
  // Every Twist that moves, on any topic of the bus: what a base listening anywhere would get.
  const moving: BusMessage[] = [];
  started.daemon.bus.subscribe({
    name: 'any-base',
    topic: '/**',
    queue: { policy: 'drop-oldest', depth: 1000 },
    handler: (m) => {
      if (!/Twist/.test(m.type)) return;
      const t = started.codec.decode<{ linear: { x: number }; angular: { z: number } }>(m.type, m.data);
      if (t.linear.x !== 0 || t.angular.z !== 0) moving.push(m);
    },
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  const settled = async (runId: string): Promise<RunView> => {
    let view: RunView | undefined;
    await waitFor(async () => {
      view = (await (await fetch(`${url}/runs/${runId}`)).json()) as RunView;
      return !['pending', 'running', 'awaiting_approval'].includes(view.run.status);
    }, `run ${runId} to end`);
    return view!;
  };
  const publish = (topic: string) =>
    post('/intents', { type: 'publish', params: { topic, type: 'geometry_msgs/msg/Twist', fields: FAST } });
  return { ...started, url, cli, moving, post, settled, publish };
}

describe('a governed name spelled another way', () => {
  it(
    'is refused with its rule, or resolved and held, through POST /intents and a Foxglove client, while latched',
    { timeout: 120_000 },
    async () => {
      const d = await daemonWithApi();
      const stop = await d.post('/stop', { by: 'operator', reason: 'names test' });
      expect(stop.status).toBe(200);
      await waitFor(() => d.daemon.bus.topicType('/cmd_vel') !== undefined, 'the zero Twist');
      d.moving.length = 0;

      for (const { spelling, refused, topic } of SPELLINGS) {
        const r = await d.publish(spelling);
        if (refused) {
          expect(r.status, spelling).toBe(400);
          expect(r.json.message, spelling).toMatch(refused);
          expect(r.json.message, spelling).toContain('params.topic');
        } else {
          expect(r.status, `${spelling}: ${JSON.stringify(r.json)}`).toBe(201);
          const view = await d.settled((r.json.run as { run_id: string }).run_id);
          expect(view.run.status, spelling).toBe('failed');
          expect(view.run.reason, spelling).toContain(`the robot is stopped`);
          expect(view.run.reason, spelling).toContain(`Twist that moves, on ${topic}`);
        }
        // The same spelling from a Foxglove client (`topic pub` is one): refused, naming the rule or the latch.
        const pub = await d.cli('topic', 'pub', spelling, 'geometry_msgs/msg/Twist', '{linear: {x: 50}}', '--once');
        expect(pub.code, `${spelling}: ${pub.stdout}`).not.toBe(0);
        expect(pub.stderr, spelling).toMatch(refused ?? /the robot is stopped/);
      }
      // Nothing that moves reached any topic, and no second spelling of a topic exists on the bus.
      expect(d.moving).toEqual([]);
      const topics = d.daemon.bus.stats().map((t) => t.topic);
      expect(topics).toContain('/cmd_vel');
      for (const topic of topics) expect(topic).toMatch(/^(\/[A-Za-z_][A-Za-z0-9_]*)+$/);
    },
  );

  it(
    'released, a relative or namespaced spelling is clamped as the topic it names is',
    { timeout: 60_000 },
    async () => {
      const d = await daemonWithApi();
      for (const spelling of ['cmd_vel', '/robot1/cmd_vel', '~/cmd_vel']) {
        const r = await d.publish(spelling);
        expect(r.status, spelling).toBe(201);
        const view = await d.settled((r.json.run as { run_id: string }).run_id);
        expect(view.run.status, spelling).toBe('succeeded');
        const result = view.events.find((e) => e.kind === 'tool.result')!.payload.result as {
          output: { published: string; sent: { linear: { x: number }; angular: { z: number } } };
        };
        expect(result.output.published).toMatch(/^\/(robot1\/|auraison_edge\/)?cmd_vel$/);
        // motion.velocity's defaults (the burger's): 0.22 m/s, 2.84 rad/s
        expect(result.output.sent.linear.x, spelling).toBeCloseTo(0.22);
        expect(result.output.sent.angular.z, spelling).toBeCloseTo(2.84);
      }
    },
  );
});

describe('relays and other config names', () => {
  const check = async (yaml: string) => {
    const dir = tempDir('name-config-');
    cleanups.push(dir.cleanup);
    writeFileSync(join(dir.path, 'edge.yaml'), yaml);
    return runMain(['config', 'check', '--config', join(dir.path, 'edge.yaml')], { cwd: dir.path });
  };
  const relays = (body: string) =>
    `ros: {enabled: true}\nzenoh: {enabled: true, second_link: {enabled: true}}\nrelays:\n${body}`;

  it('refuses a second spelling of a relayed name, and finds the loop a relative one makes', async () => {
    for (const [yaml, message] of [
      [
        relays(
          '  topics:\n    - {topic: /chatter, from: ros, to: rmw_zenoh}\n    - {topic: //chatter, from: rmw_zenoh, to: ros}\n',
        ),
        /relays\.topics\[1\]\.topic: "\/\/chatter" contains repeated forward slashes/,
      ],
      [
        relays(
          '  topics:\n    - {topic: /chatter, from: ros, to: rmw_zenoh}\n    - {topic: chatter, from: rmw_zenoh, to: ros}\n',
        ),
        /relays\.topics/,
      ],
      [
        relays(
          '  services:\n    - {service: /add, type: example_interfaces/srv/AddTwoInts, from: ros, to: rmw_zenoh}\n    - {service: //add, type: example_interfaces/srv/AddTwoInts, from: rmw_zenoh, to: ros}\n',
        ),
        /relays\.services\[1\]\.service: "\/\/add" contains repeated forward slashes/,
      ],
      [relays('  topics:\n    - {topic: /a//b, from: ros, to: rmw_zenoh}\n'), /repeated forward slashes/],
      [relays('  topics:\n    - {topic: /1abc, from: ros, to: rmw_zenoh}\n'), /starts with a number/],
      [
        'motion: { velocity: {topic: /cmd_vel/} }\n',
        /motion\.velocity\.topic: "\/cmd_vel\/" ends with a forward slash/,
      ],
      [
        'motion: { velocity: {topics: ["/**/cmd_vel/"]} }\n',
        /motion\.velocity\.topics\[0\]: .* ends with a forward slash/,
      ],
      ['recorder: {include: ["/camera/ **"]}\n', /recorder\.include\[0\]: .*U\+0020/],
      ['ros: {topic_qos: {/scan: {depth: 5}, scan: {depth: 1}}}\n', /ros\.topic_qos\.scan: "scan" names \/scan/],
    ] as const) {
      const r = await check(yaml);
      expect(r.code, `${yaml}\n${r.stdout}${r.stderr}`).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`, yaml).toMatch(message);
    }
  });

  it('takes relative and private names and shows them fully qualified', async () => {
    const dir = tempDir('name-config-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'edge.yaml');
    writeFileSync(
      file,
      'ros: {namespace: /robot1, node_name: edge}\nmotion: {velocity: {topic: cmd_vel, topics: ["~/cmd_vel", "**/cmd_vel"]}}\n',
    );
    const valid = await runMain(['config', 'check', '--config', file], { cwd: dir.path });
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);
    const shown = await runMain(['config', 'show', '--config', file, '--json'], { cwd: dir.path });
    const config = JSON.parse(shown.stdout) as { motion: { velocity: { topic: string; topics: string[] } } };
    expect(config.motion.velocity.topic).toBe('/robot1/cmd_vel');
    expect(config.motion.velocity.topics).toEqual(['/robot1/edge/cmd_vel', '/**/cmd_vel']);
  });
});
