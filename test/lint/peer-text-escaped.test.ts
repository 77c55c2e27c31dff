import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { createLogger } from '../../daemon/log.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeStringMcap } from '../helpers/mcap-file.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// Text that came from a peer reaches a person's terminal through one escaping function: the CLI prints
// everything through it, and the daemon's log too. The stop latch's `by` and `reason` reached `status` and
// `stop --release` with their ANSI and OSC sequences intact (one that sets the terminal's title or its
// clipboard acts on the operator's machine). Each input here carries such sequences; each output is read.

const cleanups = cleanupStack();

/** Clears the screen, sets the window title and the clipboard, a one-byte CSI, and a forged line. */
const HOSTILE = 'ada\u001b[2J\u001b]0;owned\u0007\u001b]52;c;cm0gLXJmIH4=\u0007\u009b31m\nROBOT MAY MOVE';
/** Control characters a terminal acts on: C0 (but newline), DEL and C1. */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function expectInert(output: string, what: string): void {
  expect(output, what).not.toMatch(CONTROLS);
  expect(output, what).toContain('ada\\x1b[2J\\x1b]0;owned\\x07');
}

async function startLoggedDaemon() {
  const dir = tempDir('peer-text-');
  cleanups.push(dir.cleanup);
  const logFile = join(dir.path, 'daemon.log');
  const fd = openSync(logFile, 'w');
  cleanups.push(() => closeSync(fd));
  const config = parseConfigText(
    stringify({
      data_dir: './data',
      sim: { enabled: false },
      lakehouse: { enabled: false },
      api: { port: 0 },
      foxglove: { enabled: false },
    }),
    'edge.yaml',
    {},
  );
  const daemon = new Daemon({ config, log: createLogger({ level: 'info', destination: fd }), cwd: dir.path });
  await daemon.start();
  cleanups.push(() => daemon.close());
  return {
    daemon,
    dir: dir.path,
    url: daemon.ports.get(PORTS.api)!.url!,
    log: () => readFileSync(logFile, 'utf8'),
  };
}

describe('text from a peer, printed for a person', () => {
  it('a stop sent over HTTP and as a bus query: status, stop --release and the log show its by and reason escaped', async () => {
    const { daemon, url, log } = await startLoggedDaemon();

    const res = await fetch(`${url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: HOSTILE, reason: HOSTILE }),
    });
    expect(res.status).toBe(200);
    const status = await runMain(['status', '--url', url]);
    expect(status.stdout).toContain('ROBOT STOPPED: latched by ada');
    expectInert(status.stdout, 'status');
    // The forged line stays inside the line it came in.
    expect(status.stdout).not.toMatch(/^ROBOT MAY MOVE/m);
    const released = await runMain(['stop', '--release', '--url', url]);
    expect(released.code).toBe(0);
    expectInert(released.stdout, 'stop --release');
    expect(released.stdout).not.toMatch(/^ROBOT MAY MOVE/m);

    // The bus query (a ROS or Zenoh peer's e-stop): the same, and --json stays valid JSON.
    await daemon.bus.query('agent/stop', {
      encoding: 'application/json',
      payload: new TextEncoder().encode(JSON.stringify({ by: HOSTILE })),
    });
    const asJson = await runMain(['status', '--json', '--url', url]);
    expect(asJson.stdout).not.toMatch(CONTROLS);
    expect(JSON.stringify(JSON.parse(asJson.stdout))).toContain('ada');

    const lines = log();
    expect(lines).toContain('robot stopped');
    expect(lines).not.toMatch(CONTROLS);
    expect(lines).not.toContain('\u009b');
  });

  it('a bag whose topic names hold escape sequences: bag info shows them escaped', async () => {
    const dir = tempDir('peer-text-bag-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'hostile.mcap');
    await writeStringMcap(file, [[`/chatter${HOSTILE}`, 1_700_000_000_000_000_000n, HOSTILE]]);
    const info = await runMain(['bag', 'info', file]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain('/chatterada');
    expectInert(info.stdout, 'bag info');
  });
});
