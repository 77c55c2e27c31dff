// `auraison-edge topic` when things are not as they should be: no daemon, no Foxglove server, a server that
// never answers, one that goes away mid-stream, a type only the daemon knows, a topic it does not
// advertise, bad usage. In-process (runMain) against the Foxglove bridge on the API harness, no sim.
import { writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runMain, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { waitFor } from '../helpers/wait.ts';
import { foxgloveTestBed, topicStats } from './foxglove-harness.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startHarness } from './harness.ts';

const { start, cleanups } = foxgloveTestBed();

/** A config in a fresh dir (its data dir there, where no daemon runs), and `topic ...` run with it. */
function noDaemon(yaml: string) {
  const dir = tempDir('topic-faults-');
  cleanups.push(() => dir.cleanup());
  const config = join(dir.path, 'edge.yaml');
  writeFileSync(config, `data_dir: ./data\n${yaml}`);
  return (...args: string[]) => runMain(['topic', ...args, '--config', config], { cwd: dir.path });
}

const WIDGET = 'acme_msgs/msg/Widget';

describe('auraison-edge topic finding the daemon', () => {
  it('says no daemon runs, and what to do, when nothing listens (exit 1)', async () => {
    const topic = noDaemon(`api: {enabled: false}\nfoxglove: {port: ${await deadPort()}}\n`);
    const r = await topic('list');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('(URL from config foxglove.host/foxglove.port)');
    expect(r.stderr).toMatch(/no daemon is running with data dir .*: start one/);
  });

  it('says to enable the Foxglove server when the config turns it off (exit 1)', async () => {
    const topic = noDaemon(`api: {port: ${await deadPort()}}\nfoxglove: {enabled: false}\n`);
    const r = await topic('echo', '/odom');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'foxglove.enabled: false): set foxglove.enabled: true and start the daemon, or give --url ws://HOST:PORT',
    );
  });

  it('says so when the running daemon has no Foxglove server, as its API reports (exit 1)', async () => {
    const h = await startHarness();
    cleanups.push(() => h.close());
    const r = await runMain(['topic', 'list', '--url', h.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the daemon of ${h.dataDir} runs no Foxglove server (foxglove.enabled is false in its config): set foxglove.enabled: true and reload it`,
    );
  });

  it('gives up on a server that accepts connections and never answers, within --connect-timeout (exit 1)', async () => {
    const sockets: Socket[] = [];
    const tcp = createServer((s) => sockets.push(s)); // accepts, reads, never says a word
    // And one that completes the WebSocket handshake but never sends the protocol's server info.
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => [...p][0] ?? false });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => (silent.address() ? resolve() : silent.once('listening', () => resolve())));
    cleanups.push(
      () => new Promise<void>((resolve) => tcp.close(() => resolve())),
      () => sockets.forEach((s) => s.destroy()),
      () => new Promise<void>((resolve) => silent.close(() => resolve())),
      () => silent.clients.forEach((c) => c.terminate()),
    );
    for (const port of [(tcp.address() as { port: number }).port, (silent.address() as { port: number }).port]) {
      const r = await runMain([
        'topic',
        'echo',
        '/odom',
        '--url',
        `ws://127.0.0.1:${port}`,
        '--connect-timeout',
        '0.3',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no Foxglove connection to ws://127.0.0.1:${port}: no answer within 0.3 s`);
    }
    expect(sockets).toHaveLength(1); // the first did connect: it is the answer that never came
  });
});

describe('auraison-edge topic against the Foxglove bridge', () => {
  it('decodes a type only the daemon knows with the schema its server sends; int64 stays exact in JSON', async () => {
    const { h, codec } = await start({ startApi: true });
    h.definitions.addMessageText(WIDGET, 'string name\nint64 big\nfloat32[] values\n', 'test');
    const widget = h.bus.advertise('/widget', WIDGET, {
      source: 'test',
      qos: { durability: 'transient_local', depth: 1 },
    });
    widget.publish(codec.encode(WIDGET, { name: 'gear', big: 2n ** 60n + 1n, values: Float32Array.from([0.5, 2]) }));
    // The CLI's own registry has no acme_msgs: without the schema this could not decode at all.
    const json = await runMain(['topic', 'echo', '/widget', '--once', '--json', '--url', h.url]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ name: 'gear', big: '1152921504606846977', values: [0.5, 2] });
    const yaml = await runMain(['topic', 'echo', '/widget', '--once', '--url', h.url]);
    expect(yaml.stdout).toBe('name: gear\nbig: 1152921504606846977\nvalues:\n- 0.5\n- 2.0\n---\n');
    expect(parseAllDocuments(yaml.stdout)[0]!.toJS()).toMatchObject({ name: 'gear', values: [0.5, 2] });
  });

  it("echoes the journal's JSON channel /auraison/events as YAML", async () => {
    const journal = new MemoryJournal();
    const { bridge } = await start({ journal });
    let done = false;
    const echo = runMain(['topic', 'echo', '/auraison/events', '--once', '--url', bridge.url!]).finally(
      () => (done = true),
    );
    // Nothing on the bus says when the client watches the journal: records go in until one is printed.
    await waitFor(() => {
      void journal.append('agent_event', { kind: 'run.status', payload: { status: 'running' } });
      return done;
    }, 'a journal record printed');
    const r = await echo;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^seq: \d+\nts: '?\d+'?\nkind: agent_event\ndata:\n {2}kind: run\.status\n {2}payload:\n {4}status: running\n---\n$/,
    );
  });

  it("says a bus topic is not advertised, and why, where the daemon's status tells (exit 1)", async () => {
    const { h } = await start({ startApi: true });
    h.bus.advertise('/mystery', 'acme_msgs/msg/Nope', { source: 'test' });
    h.bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'test' });
    const r = await runMain(['topic', 'echo', '/mystery', '--url', h.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "topic /mystery is on the daemon's bus, but its Foxglove server does not advertise it: its type acme_msgs/msg/Nope has no message definition",
    );
    const list = await runMain(['topic', 'list', '--url', h.url]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('/odom\n');
    expect(list.stderr).toContain(
      'not advertised by the Foxglove server (foxglove.topics leaves them out, or their type has no definition): /mystery',
    );
  });

  it('skips a message that does not decode, saying so once, and prints the next', async () => {
    const { h, bridge, codec } = await start();
    const pub = h.bus.advertise('/point', 'geometry_msgs/msg/Point', { source: 'test' });
    const echo = runMain(['topic', 'echo', '/point', '--once', '--url', bridge.url!]);
    await waitFor(() => topicStats(h, '/point')?.subscribers === 1, 'echo subscribed');
    pub.publish(Uint8Array.from([0, 1, 0, 0, 7])); // a CDR header and one byte: no Point
    pub.publish(Uint8Array.from([0, 1, 0, 0, 7]));
    pub.publish(codec.encode('geometry_msgs/msg/Point', { x: 1.5, y: -2, z: 0 }));
    const r = await echo;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('x: 1.5\ny: -2.0\nz: 0.0\n---\n');
    expect(
      r.stderr.match(/a message on \/point \(5 bytes\) does not decode as geometry_msgs\/msg\/Point, skipped/g),
    ).toHaveLength(1);
  });

  it('with --no-reconnect, exits 1 saying the connection closed when the daemon goes away mid-echo', async () => {
    const { h, bridge } = await start();
    h.bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'test' });
    const echo = runMain(['topic', 'echo', '/odom', '--no-reconnect', '--url', bridge.url!]);
    await waitFor(() => topicStats(h, '/odom')?.subscribers === 1, 'echo subscribed');
    await bridge.close();
    const r = await echo;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the server closed the connection \(code \d+\); 0 message\(s\) printed\. Is the daemon still running\?/,
    );
  });
});

describe('auraison-edge topic bad usage', () => {
  it.each([
    [['topic'], 'missing subcommand: list, echo, hz, info or pub'],
    [['topic', 'lsit'], 'unknown subcommand "lsit" (did you mean "list"?)'],
    [['topic', 'echo'], 'missing argument: TOPIC'],
    [['topic', 'echo', '/odom', '--count', '0'], '--count: expected an integer >= 1, got "0"'],
    [['topic', 'echo', '/odom', '--once', '--count', '3'], '--once prints one message; --count 3 asks for 3'],
    [['topic', 'echo', '/odom', '--field', 'pose..x'], '--field: expected a path of field names'],
    [['topic', 'echo', '/odom', '--full-length', '-l', '10'], '--full-length prints arrays and strings whole'],
    [['topic', 'echo', '/odom', '--timeout', '0'], '--timeout: expected a number > 0'],
    [['topic', 'hz', '/odom', '--window', 'x'], '--window: expected an integer >= 1'],
    [['topic', 'hz', '/odom', '--duration', '-1'], '--duration: expected a number > 0'],
    [['topic', 'list', '--url', 'localhost:8765'], '--url: expected ws://HOST:PORT'],
    [['topic', 'list', '--bogus'], "Unknown option '--bogus'"],
  ])('%j exits 2: %s', async (argv, message) => {
    const r = await runMain(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('Usage: auraison-edge topic');
  });
});
