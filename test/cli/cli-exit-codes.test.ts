// Every command's exit codes as its --help documents them: 0 for --help, 2 for bad usage, and its main
// failure (no daemon, a missing file, an invalid config) with the code its help gives for it. A command added
// without a row here fails the last test, so none goes untested.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCommands } from '../../daemon/cli/main.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';

const work = tempDir('cli-exit-codes-');
afterAll(() => work.cleanup());
const cwd = work.path;

/** A config whose API port nothing listens on, so a client command finds no daemon and not a developer's. */
let noDaemon: string;
/** A config that fails validation. */
let invalid: string;
/** A config with no API at all. */
let noApi: string;

beforeAll(async () => {
  noDaemon = join(cwd, 'no-daemon.yaml');
  writeFileSync(noDaemon, `data_dir: ./no-daemon-data\napi:\n  port: ${await deadPort()}\n`);
  invalid = join(cwd, 'invalid.yaml');
  writeFileSync(invalid, 'sim:\n  speed: fast\n');
  noApi = join(cwd, 'no-api.yaml');
  writeFileSync(noApi, 'data_dir: ./no-api-data\napi:\n  enabled: false\n');
});

interface Failure {
  /** The arguments after the command's name. */
  args: () => string[];
  code: number;
  /** What stderr (or stdout, for a command that reports its failure there) says. */
  says: RegExp;
}

const missing = () => join(cwd, 'no-such-file');

/** Each command's main failure, the cheapest one to bring about. */
const FAILURES: Record<string, Failure> = {
  action: { args: () => ['list', '--config', noDaemon], code: 1, says: /no answer from the API|no daemon/ },
  approve: { args: () => ['01a1fe11', '--config', noDaemon], code: 1, says: /no answer from the API/ },
  bag: { args: () => ['info', missing()], code: 1, says: /no-such-file/ },
  central: { args: () => ['check', '--url', 'mqtt://127.0.0.1:1', '--timeout-s', '2'], code: 1, says: /./ },
  config: { args: () => ['check', '--config', invalid], code: 2, says: /sim\.speed: expected number/ },
  control: { args: () => ['start', 'arm', '--config', noDaemon], code: 1, says: /no answer from the API/ },
  'install-service': { args: () => ['--config', invalid, '--dry-run'], code: 2, says: /sim\.speed/ },
  intent: { args: () => ['stop', '--config', noDaemon], code: 1, says: /no answer from the API/ },
  lakehouse: { args: () => ['compact', '--config', invalid], code: 2, says: /sim\.speed/ },
  lerobot: { args: () => ['inspect', missing()], code: 1, says: /no-such-file/ },
  llm: { args: () => ['check', '--config', noDaemon], code: 1, says: /endpoint/ },
  mcp: { args: () => ['--config', noApi], code: 1, says: /no API to relay to/ },
  policy: { args: () => ['inspect', `${missing()}.onnx`], code: 1, says: /no-such-file/ },
  query: { args: () => ['DELETE FROM messages', '--config', noDaemon], code: 1, says: /SELECT|read-only/ },
  reload: { args: () => ['--config', noDaemon], code: 1, says: /daemon/ },
  run: { args: () => ['--config', invalid], code: 2, says: /sim\.speed: expected number/ },
  runs: { args: () => ['list', '--config', noDaemon], code: 1, says: /./ },
  sim: {
    args: () => ['turtlebot-maze', '--goal', 'closet', '--speed', '1000', '--no-record', '--config', testConfig(cwd)],
    code: 1,
    says: /did not reach the goal/,
  },
  status: { args: () => ['--config', noDaemon], code: 1, says: /not running/ },
  stop: { args: () => ['--config', noDaemon], code: 1, says: /no answer from the API/ },
  sync: { args: () => ['status', '--config', noDaemon], code: 1, says: /no answer from the API|no daemon/ },
  topic: { args: () => ['list', '--config', noDaemon], code: 1, says: /daemon/ },
};

/** The help's "Exit codes:" paragraph, up to the next blank line. */
function exitCodes(help: string): string {
  const at = help.indexOf('Exit codes:');
  expect(at, 'the help has an "Exit codes:" paragraph').toBeGreaterThanOrEqual(0);
  return help.slice(at).split('\n\n')[0]!.replace(/\s+/g, ' ');
}

const commands = await loadCommands();

describe('exit codes of every command, as its --help documents them', () => {
  for (const name of commands.keys()) {
    describe(name, () => {
      it('--help: 0, and documents 0 and 2 (bad usage) and the code of its main failure', async () => {
        const help = await runMain([name, '--help'], { cwd });
        expect(help.code).toBe(0);
        const codes = exitCodes(help.stdout);
        for (const code of new Set([0, 2, FAILURES[name]?.code ?? 1]))
          expect(codes, `${name}: ${codes}`).toMatch(new RegExp(`(^|[ ,;:(])${code} `));
      });

      it('an unknown option: 2 with the usage', async () => {
        const words = (FAILURES[name]?.args() ?? []).slice(0, 1).filter((a) => !a.startsWith('-'));
        const bad = await runMain([name, ...words, '--no-such-option'], { cwd });
        expect(bad.code, bad.stderr).toBe(2);
        expect(bad.stderr).toContain('--no-such-option');
        expect(bad.stderr).toContain(`Usage: auraison-edge ${name}`);
      });

      const failure = FAILURES[name];
      if (failure) {
        it(`its main failure: ${failure.code}, as documented`, async () => {
          const r = await runMain([name, ...failure.args()], { cwd });
          expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(failure.code);
          expect(`${r.stderr}${r.stdout}`).toMatch(failure.says);
        }, 60_000);
      }
    });
  }

  it('has a failure case for every command', () => {
    expect([...commands.keys()].filter((name) => !FAILURES[name])).toEqual([]);
  });
});
