/** The statements a fleet query may start with: they read and never write. */
const READING = new Set(['SELECT', 'WITH', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'FROM', 'VALUES', 'EXPLAIN']);
/** Words that make a WITH (or an EXPLAIN) write: `WITH t AS (...) INSERT INTO ...`, `EXPLAIN ANALYZE DELETE ...`. */
const WRITING = new Set([
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'CREATE',
  'DROP',
  'ALTER',
  'COPY',
  'ATTACH',
  'DETACH',
  'INSTALL',
  'LOAD',
  'PRAGMA',
  'CALL',
  'SET',
  'RESET',
  'EXPORT',
  'IMPORT',
  'CHECKPOINT',
  'VACUUM',
  'TRUNCATE',
  'USE',
]);

/**
 * Why `sql` is not one read-only statement, or undefined when it is: its first word must be SELECT, WITH,
 * DESCRIBE, SHOW, SUMMARIZE (or FROM, VALUES, EXPLAIN), it must be one statement, and no word outside strings,
 * quoted names and comments may be a writing one (INSERT, COPY, ATTACH, ...). A check of words, so a column
 * must be quoted to be named `set`; the lakehouse behind it is the second guard.
 */
export function readOnlyProblem(sql: string): string | undefined {
  const words = bareWords(sql);
  if (words === undefined) return 'one statement at a time: nothing may follow its `;`';
  const first = words[0];
  if (first === undefined) return 'no SQL statement given';
  if (!READING.has(first))
    return `the fleet lakehouse is read-only here: ${first} is refused (a query starts with SELECT, WITH, DESCRIBE, SHOW or SUMMARIZE)`;
  const writing = words.find((w) => WRITING.has(w));
  if (writing !== undefined)
    return `the fleet lakehouse is read-only here: ${writing} is refused (quote a column of that name: "${writing.toLowerCase()}")`;
  return undefined;
}

/**
 * The statement's bare words, upper-cased, outside strings ('...', $$...$$), quoted names ("...") and
 * comments; undefined when a second statement follows a `;`.
 */
function bareWords(sql: string): string[] | undefined {
  const words: string[] = [];
  let ended = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const rest = sql.slice(i, i + 2);
    let next: number;
    if (rest === '--') next = endOf(sql, '\n', i + 2);
    else if (rest === '/*') next = endOf(sql, '*/', i + 2);
    else if (c === "'" || c === '"') next = endOf(sql, c, i + 1, true);
    else if (rest === '$$') next = endOf(sql, '$$', i + 2);
    else if (/\s/.test(c)) next = i + 1;
    else if (c === ';') {
      ended = true;
      next = i + 1;
    } else {
      if (ended) return undefined;
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))?.[0];
      if (word) words.push(word.toUpperCase());
      next = i + (word?.length ?? 1);
    }
    // A comment or string after the `;` is not a statement; anything else was caught above.
    i = next;
  }
  return words;
}

/** Where the construct opened before `from` ends: past `close` (a doubled quote stays inside), or the end. */
function endOf(sql: string, close: string, from: number, doubling = false): number {
  let at = from;
  for (;;) {
    const found = sql.indexOf(close, at);
    if (found === -1) return sql.length;
    if (doubling && sql.startsWith(close + close, found)) {
      at = found + 2;
      continue;
    }
    return found + close.length;
  }
}
