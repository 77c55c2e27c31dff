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
});
