/**
 * Reading a command's help text: its usage forms, and the part of it that is one subcommand's. A command
 * writes one help for all its subcommands; these pick out what `auraison-edge bag info --help` or a usage
 * error of `lerobot export` should show, so the command files keep a single help each.
 */

/** Each form of the help's Usage block, the lines a long form wraps onto kept with it. */
export function usageForms(help: string): string[][] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Usage:'));
  if (start === -1) return [];
  const forms: string[][] = [[lines[start]!.slice('Usage:'.length).trim()]];
  for (const line of lines.slice(start + 1)) {
    if (/^\s+auraison-edge /.test(line)) forms.push([line.trim()]);
    else if (/^\s+\S/.test(line)) forms.at(-1)!.push(line);
    else break;
  }
  return forms;
}

/** The forms of subcommand `sub` (`bag pause|resume ...` is a form of pause and of resume). */
export function formsOf(forms: string[][], name: string, sub: string): string[][] {
  return forms.filter(([first]) => subcommandToken(first!, name)?.split('|').includes(sub));
}

export function printForms(forms: string[][]): string {
  return forms.map((form, i) => `${i === 0 ? 'Usage: ' : '       '}${form.join('\n')}`).join('\n');
}

/** `info` in `auraison-edge bag info PATH`, `pause|resume` in `... bag pause|resume`; none for `stop [--by]`. */
function subcommandToken(form: string, name: string): string | undefined {
  const word = form.slice(`auraison-edge ${name} `.length).split(' ')[0] ?? '';
  return form.startsWith(`auraison-edge ${name} `) && /^[a-z][\w-]*(\|[a-z][\w-]*)*$/.test(word) ? word : undefined;
}

const indent = (line: string) => line.length - line.trimStart().length;

/**
 * What `auraison-edge <name> <sub> --help` prints: the subcommand's usage, its own section of the help, then
 * the options and exit codes the subcommands share. Undefined when `sub` is not one of the help's
 * subcommands, or the help has no section of its own for it (its whole help is then the answer).
 */
export function subcommandHelp(help: string, name: string, sub: string): string | undefined {
  const forms = usageForms(help);
  const tokens = [...new Set(forms.map(([f]) => subcommandToken(f!, name)).filter((t) => t !== undefined))];
  const mine = tokens.find((t) => t.split('|').includes(sub));
  if (tokens.length < 2 || mine === undefined) return undefined;
  const lines = help.split('\n');
  // A section starts `  bag info ...`, `central check (...)`, or `inspect   Prints ...` (the token, then
  // a column gap): a line of prose that starts with the word (`list asks the API`) is no heading.
  const heading = (line: string, token: string) => {
    if (indent(line) > 2) return false;
    const text = line.trimStart();
    return new RegExp(`^(${name} ${escape(token)}(\\s|:|$)|${escape(token)}( {2,}|:))`).test(text);
  };
  const start = lines.findIndex((l) => heading(l, mine));
  if (start === -1) return undefined;
  const depth = indent(lines[start]!);
  const nested = indent(lines.slice(start + 1).find((l) => l.trim() !== '') ?? '') > depth;
  let end = start + 1;
  for (; end < lines.length; end++) {
    const line = lines[end]!;
    if (tokens.some((t) => heading(line, t)) || /^(Options|Exit codes)\b/.test(line)) break;
    if (nested && line.trim() !== '' && indent(line) <= depth) break;
  }
  const section = lines.slice(start, end).join('\n').trimEnd();
  // The options and exit codes that follow the section are its own (central's operator commands have
  // theirs after them); `Options (export):` is only export's.
  const shared = [block(lines, end, /^Options\b/, sub), block(lines, end, /^Exit codes\b/, sub)].filter(
    (b) => b !== undefined,
  );
  return `${[printForms(formsOf(forms, name, sub)), section, ...shared].join('\n\n')}\n`;
}

/**
 * The first paragraph of `lines` from `from` on that starts with a line matching `first` and naming no
 * other subcommand in parentheses (`Options (export):`), up to a blank line.
 */
function block(lines: string[], from: number, first: RegExp, sub: string): string | undefined {
  const start = lines.findIndex((l, i) => {
    const only = /^\S[^(:]*\(([^)]*)\):/.exec(l)?.[1];
    return i >= from && first.test(l) && (only === undefined || only.split(/[ ,|]+/).includes(sub));
  });
  if (start === -1) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
