import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { redactUrl } from '../../daemon/util/redact-url.ts';
import { SYSTEM2_COMPONENTS } from '../../daemon/components/system2.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

const PASSWORD = 'hunter2-pw';
const KEY = 'sk-SECRET-0123456789';

describe('secrets in LLM endpoint settings', () => {
  it('shows no base_url password and no key put in api_key_env, in /status details or the log', async () => {
    const dir = tempDir('secrets-');
    cleanups.push(dir.cleanup);
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const config = parseConfigText(
      stringify({
        data_dir: './data',
        llm: {
          endpoints: [
            { name: 'gw', base_url: `http://probe:${PASSWORD}@127.0.0.1:9/v1`, model: 'm' },
            { name: 'gw2', base_url: 'http://127.0.0.1:9/v1', model: 'm', api_key_env: KEY },
          ],
        },
      }),
      'edge.yaml',
      {},
    );
    const daemon = new Daemon({
      config,
      log,
      cwd: dir.path,
      specs: SYSTEM2_COMPONENTS.filter((s) => s.name === 'llm'),
    });
    await daemon.start();
    cleanups.push(() => daemon.close());
    const status = JSON.stringify(daemon.status());
    const shown = `${status}\n${lines.join('')}`;
    expect(status).toContain('http://probe:***@127.0.0.1:9/v1');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(KEY);
    expect(shown).toContain('llm.endpoints[gw2].api_key_env is not an environment variable name (value not shown)');
  });

  it('`llm check` reports the endpoint without its password', async () => {
    const result = await runCli(
      ['llm', 'check', '--base-url', `http://probe:${PASSWORD}@127.0.0.1:9/v1`, '--model', 'm', '--json'],
      { timeoutMs: 60_000 },
    );
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(result.stdout).toContain('http://probe:***@127.0.0.1:9/v1');
  });

  it('redacts userinfo only', () => {
    expect(redactUrl('https://user:pw@host:8000/v1')).toBe('https://user:***@host:8000/v1');
    expect(redactUrl('http://token@host/v1')).toBe('http://***@host/v1');
    expect(redactUrl('http://host/v1?q=a@b')).toBe('http://host/v1?q=a@b');
  });
});
