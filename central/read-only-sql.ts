/** The statements a fleet query may start with: they read and never write. */
const READING = new Set(['SELECT', 'WITH', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'FROM', 'VALUES']);
/** Words that make a WITH write: `WITH t AS (...) INSERT INTO ...`. */
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

/** Functions (and the system views beside them) that show what is not the fleet's: secrets, the environment, the
 * databases attached and their connection strings (the catalog's password is kept apart, in a secret: lake.ts),
 * DuckDB's log of statements. */
const SHOWING = new Set([
  'GETENV',
  'DUCKDB_SECRETS',
  'WHICH_SECRET',
  'DUCKDB_DATABASES',
  'DUCKDB_LOGS',
  'ENABLE_LOGGING',
  'DISABLE_LOGGING',
]);
/** Functions that run the SQL in a string, where a refused word would hide from this check. */
const RUNNING_TEXT = new Set(['QUERY', 'QUERY_TABLE']);
/** DuckLake's functions that only read; its others write (expire, clean up, merge, add files, set an option). */
const DUCKLAKE_READING = new Set([
  'DUCKLAKE_SNAPSHOTS',
  'DUCKLAKE_CURRENT_SNAPSHOT',
  'DUCKLAKE_LAST_COMMITTED_SNAPSHOT',
  'DUCKLAKE_TABLE_INFO',
  'DUCKLAKE_LIST_FILES',
  'DUCKLAKE_TABLE_CHANGES',
  'DUCKLAKE_TABLE_INSERTIONS',
  'DUCKLAKE_TABLE_DELETIONS',
  'DUCKLAKE_SETTINGS',
  'DUCKLAKE_OPTIONS',
]);

/**
 * Why `sql` is not one read-only statement, or undefined when it is: its first word must be SELECT, WITH,
 * DESCRIBE, SHOW, SUMMARIZE (or FROM, VALUES), it must be one statement, no word outside strings,
 * quoted names and comments may be a writing one (INSERT, COPY, ATTACH, ...), and it may not name a function
 * that shows secrets or connections (duckdb_secrets, getenv, ...), reaches the catalog's PostgreSQL
 * (postgres_query, ...), runs SQL from a string (query, query_table) or is DuckLake's maintenance (its
 * functions but the reading ones). A check of words, so a column must be quoted to be named `set`. It gives
 * the clear answer first; what holds is behind it: DuckDB's parser, a READ ONLY transaction on a locked-down
 * DuckDB (fleet-query.ts, lake.ts).
 */
export function readOnlyProblem(sql: string): string | undefined {
  const tokens = sqlTokens(sql);
  if (tokens === undefined) return 'one statement at a time: nothing may follow its `;`';
  const words = tokens.filter((t) => t.bare).map((t) => t.name);
  const first = words[0];
  if (first === undefined) return 'no SQL statement given';
  if (!READING.has(first))
    return `the fleet lakehouse is read-only here: ${first} is refused (a query starts with SELECT, WITH, DESCRIBE, SHOW or SUMMARIZE)`;
  const writing = words.find((w) => WRITING.has(w));
  if (writing !== undefined)
    return `the fleet lakehouse is read-only here: ${writing} is refused (quote a column of that name: "${writing.toLowerCase()}")`;
  for (const [i, token] of tokens.entries()) {
    const name = token.name;
    const called = tokens[i + 1]?.name === '(';
    const shown = name.toLowerCase();
    if (SHOWING.has(name))
      return `${shown} is refused: the fleet query shows no secrets, environment, attached databases or logs`;
    if (name.startsWith('POSTGRES_'))
      return `${shown} is refused: the fleet query reads the lake's tables, not the catalog's PostgreSQL`;
    if (called && RUNNING_TEXT.has(name))
      return `${shown}() is refused: write the query itself, not a string for ${shown}() to run`;
    if (called && name.startsWith('DUCKLAKE_') && !DUCKLAKE_READING.has(name))
      return `the fleet lakehouse is read-only here: ${shown}() is DuckLake's maintenance, which writes (run it on central's host)`;
  }
  return undefined;
}

/** A word (bare or a quoted name, upper-cased) or a punctuation mark; strings and comments are left out. */
interface Token {
  name: string;
  /** Not quoted: a keyword can only be a bare word. */
  bare: boolean;
}

/**
 * The statement's words, upper-cased, and its punctuation, outside strings ('...', E'...', $$...$$, $tag$...$tag$)
 * and comments, each ended where DuckDB's scanner ends it; undefined when a second statement follows a `;`.
 */
function sqlTokens(sql: string): Token[] | undefined {
  const tokens: Token[] = [];
  let ended = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const rest = sql.slice(i, i + 2);
    const dollar = c === '$' ? /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0] : undefined;
    let next: number;
    // DuckDB ends a line comment at \r as at \n: `--x\r; DROP ...` is two statements.
    if (rest === '--') next = lineEnd(sql, i + 2);
    else if (rest === '/*') next = blockCommentEnd(sql, i + 2);
    else if (c === "'") next = endOf(sql, c, i + 1, true);
    // E'...' takes backslash escapes: E'\'' is one quote, not the string's end.
    else if ((rest === "E'" || rest === "e'") && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) next = escapedEnd(sql, i + 2);
    else if (dollar !== undefined) next = endOf(sql, dollar, i + dollar.length);
    else if (/\s/.test(c)) next = i + 1;
    else if (c === ';') {
      ended = true;
      next = i + 1;
    } else {
      if (ended) return undefined;
      if (c === '"') {
        next = endOf(sql, c, i + 1, true);
        tokens.push({
          name: sql
            .slice(i + 1, next - 1)
            .replaceAll('""', '"')
            .toUpperCase(),
          bare: false,
        });
      } else {
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))?.[0];
        tokens.push({ name: (word ?? c).toUpperCase(), bare: word !== undefined });
        next = i + (word?.length ?? 1);
      }
    }
    // A comment or string after the `;` is not a statement; anything else was caught above.
    i = next;
  }
  return tokens;
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

/** Past the end of the line comment that starts before `from`: its \n or \r, or the end. */
function lineEnd(sql: string, from: number): number {
  const at = sql.slice(from).search(/[\r\n]/);
  return at === -1 ? sql.length : from + at + 1;
}

/** Past the `*\/` that closes the block comment opened before `from`: DuckDB nests them. */
function blockCommentEnd(sql: string, from: number): number {
  let depth = 1;
  let at = from;
  while (at < sql.length) {
    const two = sql.slice(at, at + 2);
    if (two === '/*') depth++;
    else if (two === '*/') depth--;
    else {
      at++;
      continue;
    }
    at += 2;
    if (depth === 0) return at;
  }
  return sql.length;
}

/** Past the quote that closes the E'...' string opened before `from`: a backslash escapes the next character. */
function escapedEnd(sql: string, from: number): number {
  let at = from;
  while (at < sql.length) {
    const c = sql[at]!;
    if (c === '\\') at += 2;
    else if (c === "'" && sql[at + 1] === "'") at += 2;
    else if (c === "'") return at + 1;
    else at++;
  }
  return sql.length;
}
