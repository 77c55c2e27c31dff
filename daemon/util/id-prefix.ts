/**
 * The short form of an id, as people read it: its shortest prefix of at least 13 characters that no other
 * id among `ids` starts with, as git abbreviates a hash. A UUIDv7's first 13 characters (`tttttttt-tttt`)
 * are its creation ms, so nearly every run's short form is exactly those (runs made in the same ms get more),
 * and it reads the same wherever it is computed: the status page, the CLI, the API's messages. A fixed
 * 8-character prefix would be shared by every id of the same minute. daemon/api/page/run-ids.js is this
 * function's copy for the status page (plain JS); a test holds the two to the same answers.
 */
export const SHORT_ID_MIN = 13;

/** Each id's short form among `ids` (duplicates count once). */
export function shortIds(ids: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(ids)].sort();
  const out = new Map<string, string>();
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i]!;
    // Sorted, an id shares its longest prefix with a neighbour: one character past that is unique.
    const shared = Math.max(common(id, sorted[i - 1]), common(id, sorted[i + 1]));
    out.set(id, id.slice(0, Math.max(SHORT_ID_MIN, shared + 1)));
  }
  return out;
}

/** One id's short form among `others` (it may be one of them). */
export function shortId(id: string, others: Iterable<string> = []): string {
  return shortIds([id, ...others]).get(id)!;
}

/**
 * The id among `ids` that `prefix` names: one equal to it, else the only one it starts (case does not
 * matter: ids are lowercase hex). `matches` is every id it starts when that is not exactly one.
 */
export function findByPrefix(
  ids: Iterable<string>,
  prefix: string,
): { id: string } | { id?: undefined; matches: string[] } {
  const wanted = prefix.toLowerCase();
  const matches: string[] = [];
  for (const id of ids) {
    if (id === prefix || id === wanted) return { id };
    if (id.startsWith(wanted)) matches.push(id);
  }
  return matches.length === 1 ? { id: matches[0]! } : { matches };
}

/** Why `prefix` named no single id: `prefix X matches 2 runs: A, B; give more of the id`, or `no run X`. */
export function prefixProblem(prefix: string, matches: readonly string[], noun = 'run'): string {
  if (matches.length === 0) return `no ${noun} ${prefix}`;
  const shown = matches.slice(0, 5).join(', ') + (matches.length > 5 ? `, and ${matches.length - 5} more` : '');
  return `prefix ${prefix} matches ${matches.length} ${noun}s: ${shown}; give more of the id`;
}

/** The length of the prefix `a` and `b` share (0 when `b` is undefined). */
function common(a: string, b: string | undefined): number {
  if (b === undefined) return 0;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}
