import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usageForms } from '../../daemon/cli/help-text.ts';
import { loadCommands } from '../../daemon/cli/main.ts';
import { ROOT } from '../helpers/cli.ts';

/** Each option a usage form names: `--verbose`, `-t` (not the `-` of a value). */
const optionsOf = (form: string) => form.match(/(?<=[\s[|(])--?[a-zA-Z][\w-]*/g) ?? [];

/** `-v` as a word of its own: not the `-v` inside `--verbose`. */
const named = (text: string, option: string) => new RegExp(`(?<![\\w-])${option}(?![\\w-])`).test(text);

describe("docs/cli.md's command synopses", () => {
  it("name every option the command's usage names (topic list -v)", async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    // A synopsis is a bold paragraph head: **`topic list [-t] [-v] [--json]`, `topic echo ...`**.
    const synopses = [...doc.matchAll(/^\*\*(`[a-z][^*]*`)[^*]*\*\*/gm)].map((m) => m[1]!.replaceAll('\n', ' '));
    const commands = await loadCommands();
    const checked = new Set<string>();
    const missing: string[] = [];
    for (const synopsis of synopses) {
      for (const [, head] of synopsis.matchAll(/`([a-z][\w-]*(?: [a-z][\w|-]*)?)[^`]*`/g)) {
        const [name, sub] = head!.split(' ');
        const command = commands.get(name!);
        if (!command) continue;
        const forms = usageForms(command.help)
          .map((f) => f.join(' '))
          .filter((f) => sub === undefined || f.startsWith(`auraison-edge ${name} ${sub}`));
        for (const form of forms) {
          checked.add(`${name} ${sub ?? ''}`.trim());
          for (const option of optionsOf(form)) if (!named(synopsis, option)) missing.push(`${head}: ${option}`);
        }
      }
    }
    expect(missing).toEqual([]);
    // The synopsis that lacked -v is among those checked, or the rule checks nothing.
    expect(checked).toContain('topic list');
  });
});
