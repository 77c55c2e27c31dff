/**
 * ROS 2's naming rules for topics, services and actions, as rcl applies them (rcl_validate_topic_name on the
 * name as written, rcl_expand_topic_name, then rmw_validate_full_topic_name on the result), and the one canonical
 * form every check of the daemon compares: the fully qualified name. Two spellings of one topic resolve to the
 * same string; a spelling ROS 2 refuses is refused here, with the rule it breaks.
 */

/** The node a relative (`cmd_vel`) or private (`~/cmd_vel`) name is resolved against. */
export interface NameScope {
  /** `/` or `/robot1`: absolute, no trailing slash. */
  readonly namespace: string;
  readonly node: string;
}

/** The daemon's node with the config's defaults (ros.namespace, ros.node_name). */
export const DEFAULT_SCOPE: NameScope = { namespace: '/', node: 'auraison_edge' };

export type Resolved = { ok: true; name: string } | { ok: false; rule: string };

/**
 * rmw's limit on a fully qualified topic name: 255 less 8 characters it keeps for the prefixes the middleware
 * adds (`rt`, `rq`, `rr`).
 */
export const MAX_NAME_LENGTH = 247;

const SUBSTITUTIONS = ['node', 'ns', 'namespace'];

/** The fully qualified name `name` stands for in `scope`, or the ROS 2 rule it breaks. */
export function resolveName(name: string, scope: NameScope = DEFAULT_SCOPE): Resolved {
  return resolve(name, scope, false);
}

/**
 * A topic glob (`*` within a token, `**` across tokens, `?` one character) resolved as a name is: relative and
 * private globs take the scope's namespace, but one that starts with `**` spans every namespace (`**` is every
 * topic), and apart from its wildcards the glob follows the name rules, so it can match only names ROS 2 allows.
 */
export function resolveGlob(glob: string, scope: NameScope = DEFAULT_SCOPE): Resolved {
  return resolve(glob, scope, true);
}

/** The rule a name given as fully qualified breaks (a bus topic, a name mapped from a Zenoh key), or undefined. */
export function fullNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name[0] !== '/') return 'is not absolute (a fully qualified name starts with /)';
  return tokenProblem(name, false) ?? fullFormProblem(name);
}

/** Whether `name` is already in the canonical form: fully qualified and valid. */
export function isFullName(name: string): boolean {
  return fullNameProblem(name) === undefined;
}

function resolve(name: string, scope: NameScope, glob: boolean): Resolved {
  const asWritten = writtenProblem(name, glob);
  if (asWritten) return { ok: false, rule: asWritten };
  const { namespace, node } = scope;
  const prefix = namespace === '/' ? '' : namespace;
  let full = name;
  if (full[0] === '~') full = `${prefix}/${node}${full.slice(1)}`;
  let unknown: string | undefined;
  full = full.replace(/\{([^}]*)\}/g, (_whole, key: string) => {
    if (key === 'node') return node;
    if (key === 'ns' || key === 'namespace') return namespace;
    unknown ??= key;
    return '';
  });
  if (unknown !== undefined)
    return {
      ok: false,
      rule: `has an unknown substitution {${unknown}} (ROS 2 knows {${SUBSTITUTIONS.join('}, {')}})`,
    };
  // A glob that starts with `**` spans every namespace already (`**`, `**/cmd_vel`): it is not put in the node's.
  if (full[0] !== '/') full = glob && full.startsWith('**') ? `/${full}` : `${prefix}/${full}`;
  const problem = fullFormProblem(full, glob);
  if (!problem) return { ok: true, name: full };
  return { ok: false, rule: full === name ? problem : `${problem} once expanded to ${quote(full)}` };
}

/** rcl_validate_topic_name's rules, on the name as written (before `~` and `{}` are expanded). */
function writtenProblem(name: string, glob: boolean): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.endsWith('/')) return 'ends with a forward slash';
  const tokens = tokenProblem(name, glob, true);
  if (tokens) return tokens;
  const tilde = name.indexOf('~', 1);
  if (tilde > 0) return `has a tilde (~) at index ${tilde}: only a name's first character may be one`;
  if (name[0] === '~' && name.length > 1 && name[1] !== '/') return 'has a tilde (~) not followed by a forward slash';
  let open = -1;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '{') {
      if (open >= 0) return `has an unmatched curly brace at index ${open}`;
      open = i;
    } else if (c === '}') {
      if (open < 0) return `has an unmatched curly brace at index ${i}`;
      const key = name.slice(open + 1, i);
      if (!/^[A-Za-z0-9_]*$/.test(key))
        return `has a substitution {${key}} with a character other than letters, digits and _`;
      if (/^[0-9]/.test(key)) return `has a substitution {${key}} that starts with a number`;
      open = -1;
    }
  }
  if (open >= 0) return `has an unmatched curly brace at index ${open}`;
  return undefined;
}

/**
 * The characters a name may hold, and no token starting with a digit. `written`: before expansion, when `~`
 * and `{}` may appear too (their places are checked by writtenProblem).
 */
function tokenProblem(name: string, glob: boolean, written = false): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x5f || // _
      c === 0x2f || // /
      (written && (c === 0x7e || c === 0x7b || c === 0x7d)) || // ~ { }
      (glob && (c === 0x2a || c === 0x3f)); // * ?
    if (!ok)
      return `contains ${describeChar(name, i)} at index ${i}: a ROS 2 name holds only ASCII letters, digits, _ and /`;
    const tokenStart = i === 0 || name[i - 1] === '/' || (written && name[i - 1] === '{');
    if (tokenStart && c >= 0x30 && c <= 0x39) return `has a token that starts with a number at index ${i}`;
  }
  return undefined;
}

/** rmw_validate_full_topic_name's rules on an expanded name (its characters are checked by tokenProblem). */
function fullFormProblem(name: string, glob = false): string | undefined {
  if (name.length > 1 && name.endsWith('/')) return 'ends with a forward slash';
  if (name === '/') return 'is only the root namespace (/): a topic needs a name after it';
  const doubled = name.indexOf('//');
  if (doubled >= 0) return `contains repeated forward slashes at index ${doubled}`;
  const digit = /\/[0-9]/.exec(name);
  if (digit) return `has a token that starts with a number at index ${digit.index + 1}`;
  if (!glob && name.length > MAX_NAME_LENGTH)
    return `is ${name.length} characters long, over ROS 2's limit of ${MAX_NAME_LENGTH}`;
  return undefined;
}

/** A character as a reader can tell it apart from its look-alikes: `' ' (U+0020)`. */
function describeChar(text: string, index: number): string {
  const code = text.codePointAt(index)!;
  const shown = code < 0x20 || code === 0x7f ? '' : `'${String.fromCodePoint(code)}' `;
  return `${shown}(U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}
