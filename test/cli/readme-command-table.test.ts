import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageForms } from '../../daemon/cli/help-text.ts';
import { loadCommands } from '../../daemon/cli/main.ts';
import { ROOT } from '../helpers/cli.ts';

/** The options a usage form cannot go without: those outside any [...] or (...). */
function requiredOptions(form: string): string[] {
  let depth = 0;
  let outside = '';
  for (const ch of form) {
    if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    else if (depth === 0) outside += ch;
  }
  return outside.match(/--[a-z][\w-]*/g) ?? [];
}

describe("the README's command table", () => {
  it('shows each command with the options it cannot run without (install-service --config FILE)', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const cells = [...readme.matchAll(/^\| `([a-z][^`]*)`/gm)].map((m) => m[1]!.replaceAll('\\|', '|'));
    const commands = await loadCommands();
    const checked: string[] = [];
    for (const cell of cells) {
      const command = commands.get(cell.split(' ')[0]!);
      if (!command) continue;
      const forms = usageForms(command.help).map((f) => f.join(' '));
      // One form and no subcommand: the cell shows the whole command.
      if (forms.length !== 1) continue;
      checked.push(command.name);
      for (const option of requiredOptions(forms[0]!))
        expect(cell, `README's row of ${command.name} lacks ${option}`).toContain(option);
    }
    // The rule reached the command that needs an option, or it checks nothing.
    expect(checked).toContain('install-service');
  });

  it('names every subcommand of each command', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // The first column's code spans: `bag info\|import\|repair\|play`, `intent`, `runs list\|show\|diff`, ...
    const spans = readme
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) =>
        [...line.split(/(?<!\\)\|/)[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replaceAll('\\|', '|')),
      );
    const named = new Map<string, Set<string>>();
    for (const span of spans) {
      const [name, ...rest] = span.split(' ');
      const words = named.get(name!) ?? new Set<string>();
      for (const word of rest.join(' ').split(/[\s|[\]]+/)) words.add(word);
      named.set(name!, words);
    }
    const commands = await loadCommands();
    const missing: string[] = [];
    for (const [name, command] of commands) {
      for (const [first] of usageForms(command.help)) {
        const token = first!.slice(`auraison-edge ${name} `.length).split(' ')[0] ?? '';
        if (!first!.startsWith(`auraison-edge ${name} `) || !/^[a-z][\w-]*(\|[a-z][\w-]*)*$/.test(token)) continue;
        for (const sub of token.split('|')) if (!named.get(name)?.has(sub)) missing.push(`${name} ${sub}`);
      }
    }
    expect(missing).toEqual([]);
    // It reached the commands with subcommands, or it checks nothing.
    expect(named.get('central')?.has('keygen')).toBe(true);
    expect(named.get('runs')?.has('diff')).toBe(true);
  });
});
