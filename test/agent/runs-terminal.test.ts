import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runMain, tempDir } from '../helpers/cli.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// `runs list`, `runs show` and `runs diff` print what a model and the tools said. A reply holding terminal
// escapes (ESC [2J clears the screen, OSC 52 writes the clipboard, a carriage return hides what came before)
// is printed with them shown as \x1b, \r, ..., not sent to the operator's terminal. --json is JSON as ever.

const cleanups = cleanupStack();

describe('runs show and list, and text a model sent', () => {
  it('shows control characters as escapes', { timeout: 30_000 }, async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    const dir = tempDir('runs-terminal-');
    cleanups.push(dir.cleanup);
    const { daemon, submit, until } = await apiDaemon(
      { llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model' }] } },
      'runs-terminal-',
      cleanups,
    );
    server.enqueue({ text: 'done\u001b[2J\u001b]52;c;cm0gLXJmIH4=\u0007\rall fine' });
    const run = (await submit({ type: 'natural_language', params: { text: 'report\u001b[31m' } })).run;
    await until(run.run_id);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, stringify({ data_dir: daemon.dataDir }));

    const shown = await runMain(['runs', 'show', run.run_id, '--config', config], { cwd: dir.path });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('done\\x1b[2J\\x1b]52;c;cm0gLXJmIH4=\\x07\\rall fine');
    expect(shown.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const listed = await runMain(['runs', 'list', '--config', config], { cwd: dir.path });
    expect(listed.stdout).toContain(run.run_id.slice(0, 13));
    expect(listed.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    // --json stays JSON: the text as it was, in JSON's own escapes.
    const json = await runMain(['runs', 'show', run.run_id, '--json', '--config', config], { cwd: dir.path });
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain('done\\u001b[2J');
  });
});
