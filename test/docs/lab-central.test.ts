import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../helpers/cli.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { duckdbExtension, minioBinary, minioClientBinary } from '../peers/index.ts';
import { peerMissing } from '../peers/missing.ts';

const DOC = join(ROOT, 'docs', 'lab-central.md');
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
/** The ports the page names: each is given a free one here, so the run collides with nothing on this machine. */
const PORTS = ['1883', '1884', '9000', '9001', '8790', '8080'];
/** What a block the test does not run says above it (installing what this machine has). */
const NOT_RUN = '<!-- install:';

/** The page's sh blocks, in order, less those marked as installs. */
function walkthroughBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    const above = lines.slice(Math.max(0, i - 2), i).join('\n');
    if (!above.includes(NOT_RUN)) blocks.push(lines.slice(i + 1, end).join('\n'));
    i = end;
  }
  return blocks;
}

const work = tempDir('lab-central-');
afterAll(() => work.cleanup());

describe('docs/lab-central.md, run as written', () => {
  it('finds the steps to run, and leaves the installs out', () => {
    const blocks = walkthroughBlocks(readFileSync(DOC, 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(blocks.join('\n')).not.toMatch(/apt-get|pip download/);
    expect(blocks[0]).toContain('central keygen');
  });

  it('installs MinIO as the test peers do: go install of the versions they pin, nothing fetched outside a registry', () => {
    const page = readFileSync(DOC, 'utf8');
    const peers = readFileSync(join(ROOT, 'test', 'peers', 'install'), 'utf8');
    const pin = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(peers)?.[1];
    expect(page).toContain(`go install github.com/minio/minio@${pin('MINIO_VERSION')}\n`);
    expect(page).toContain(`go install github.com/minio/mc@${pin('MC_VERSION')}\n`);
    expect(page).not.toMatch(/\b(curl|wget)\b/);
  });

  it(
    'sets up mosquitto, MinIO and central serve, and a sim robot connects, drives to the dock on central intent and syncs its bag',
    { timeout: 600_000 },
    async () => {
      if (!MOSQUITTO) peerMissing('mosquitto is not installed: run `sudo apt-get install mosquitto` (.ci/run does)');
      const [minio, mc, ducklake] = [minioBinary(), minioClientBinary(), duckdbExtension('ducklake')];
      duckdbExtension('httpfs');
      const dir = work.path;
      // What the installs give a reader: auraison-edge, mosquitto, minio and mc on PATH, the extensions in lab/.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const shim = (name: string, body: string) => {
        writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(bin, name), 0o755);
      };
      shim('auraison-edge', `exec "${process.execPath}" "${BIN}" "$@"`);
      shim('minio', `exec "${minio}" "$@"`);
      shim('mc', `exec "${mc}" "$@"`);
      // Started as root, mosquitto drops to user mosquitto, which cannot read the password files in this test's
      // private dir; a reader runs it as themselves. As root, the conf gets `user root`.
      shim(
        'mosquitto',
        process.getuid?.() === 0
          ? `conf="$2.root"; { echo 'user root'; cat "$2"; } > "$conf"; exec "${MOSQUITTO}" -c "$conf"`
          : `exec "${MOSQUITTO}" "$@"`,
      );
      mkdirSync(join(dir, 'lab'));
      symlinkSync(dirname(ducklake), join(dir, 'lab', 'duckdb-extensions'));

      let script = walkthroughBlocks(readFileSync(DOC, 'utf8')).join('\n');
      for (const port of PORTS)
        script = script.replaceAll(new RegExp(`\\b${port}\\b`, 'g'), String(await closedPort()));
      writeFileSync(
        join(dir, 'walkthrough.sh'),
        `set -e\ntrap 'echo "walkthrough: exit $? from: $BASH_COMMAND" >&2' ERR\n${script}\n`,
      );

      const child = spawn('bash', ['walkthrough.sh'], {
        cwd: dir,
        detached: true,
        env: { PATH: `${bin}:/usr/sbin:/usr/bin:/bin`, HOME: dir, LANG: 'C.UTF-8' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Whatever the page left running (it ends with kill $(jobs -p)): its process group goes.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone: the page stopped everything
      }
      const logs = ['mosquitto', 'minio', 'central', 'tb1']
        .map((name) => join(dir, 'lab', `${name}.log`))
        .filter((f) => existsSync(f))
        .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-2000)}`)
        .join('\n');
      // The page's own output last: a report that keeps only the tail keeps the step that failed.
      expect(code, `${logs}\n--- the page's output\n${output}`).toBe(0);
      // central acl ran without the storage secret, and wrote the conf to its own file.
      expect(output).toContain(
        'wrote lab/mosquitto.conf: the mosquitto.conf that uses it'.replace('lab/', `${dir}/lab/`),
      );
      expect(output).toMatch(/run \S+: succeeded/);
      // The robot's stop connection logged in as its stop login: central's stop takes the fast path there.
      expect(readFileSync(join(dir, 'lab', 'mosquitto.log'), 'utf8')).toMatch(
        /New client connected .* u'tb1\/intents'/,
      );
      expect(output).toMatch(/\.mcap/);
      // Client commands with ${TB1_MQTT_PASSWORD} unset: no word about the config.
      expect(output).not.toMatch(/not a valid config/);
    },
  );
});
