/**
 * libpq connection strings (the `postgres:<conninfo>` of lakehouse.catalog) without their password: the password
 * goes to DuckDB in a secret, never in the ATTACH string, which `duckdb_databases()` and DuckDB's errors show.
 * Both of libpq's forms: keyword/value (`host=db user=central password='p w'`) and the URI
 * (`postgresql://central:pw@db:5432/fleet?sslmode=require`).
 */

/** One `key = value` of a keyword/value conninfo, where it lies in the text. */
interface Keyword {
  key: string;
  value: string;
  start: number;
  end: number;
}

/**
 * The keywords of a keyword/value conninfo, as libpq reads them: a value is 'quoted' (with \' and \\) or runs
 * to the next space, with \ escaping the character after it. Undefined when the text is not one.
 */
function keywords(text: string): Keyword[] | undefined {
  const found: Keyword[] = [];
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  for (;;) {
    space();
    if (i >= text.length) return found;
    const start = i;
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (key === undefined) return undefined;
    i += key.length;
    space();
    if (text[i] !== '=') return undefined;
    i++;
    space();
    let value = '';
    if (text[i] === "'") {
      for (i++; ; i++) {
        if (i >= text.length) return undefined;
        if (text[i] === "'") break;
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
      }
      i++;
    } else
      for (; i < text.length && !/\s/.test(text[i]!); i++) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
      }
    found.push({ key, value, start, end: i });
  }
}

const URI = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i;

/** A URI conninfo's keywords (user, password, host, port, dbname and its ?parameters), or undefined. */
function uriKeywords(text: string): [string, string][] | undefined {
  const m = URI.exec(text);
  if (!m) return undefined;
  const [, userinfo, netloc = '', dbname, query] = m;
  const decode = (s: string) => decodeURIComponent(s);
  const out: [string, string][] = [];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    if (user !== '') out.push(['user', decode(user)]);
    if (colon !== -1) out.push(['password', decode(userinfo.slice(colon + 1))]);
  }
  if (netloc !== '') {
    const hosts: string[] = [];
    const ports: string[] = [];
    for (const part of netloc.split(',')) {
      const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(part);
      if (!hp) return undefined;
      hosts.push(decode(hp[1]!.replace(/^\[(.*)\]$/, '$1')));
      ports.push(hp[2] ?? '');
    }
    if (hosts.some((h) => h !== '')) out.push(['host', hosts.join(',')]);
    if (ports.some((p) => p !== '')) out.push(['port', ports.join(',')]);
  }
  if (dbname !== undefined && dbname !== '') out.push(['dbname', decode(dbname)]);
  for (const pair of query === undefined || query === '' ? [] : query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq === -1) return undefined;
    out.push([decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))]);
  }
  return out;
}

/** A keyword/value conninfo value, quoted as libpq reads it. */
export function quoted(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * A conninfo and its password apart: `conninfo` is what libpq reads without the password (the same text when it
 * had none; a URI with one becomes keyword/value text, since DuckDB's postgres extension adds the secret's
 * password to it as ` password=...`), `password` is undefined when the conninfo names none (libpq then takes
 * PGPASSWORD or the password file, as before). Text that is neither form is given back as it was.
 */
export function splitPassword(conninfo: string): { conninfo: string; password: string | undefined } {
  const uri = uriKeywords(conninfo);
  if (uri) {
    const password = uri.find(([k]) => k === 'password')?.[1];
    if (password === undefined) return { conninfo, password };
    const rest = uri.filter(([k]) => k !== 'password').map(([k, v]) => `${k}=${quoted(v)}`);
    return { conninfo: rest.join(' '), password: password === '' ? undefined : password };
  }
  const found = keywords(conninfo);
  const given = found?.filter((k) => k.key === 'password') ?? [];
  if (given.length === 0) return { conninfo, password: undefined };
  let rest = conninfo;
  for (const k of given.toReversed()) rest = `${rest.slice(0, k.start)}${rest.slice(k.end)}`;
  // libpq takes the last of a keyword given twice.
  const password = given.at(-1)!.value;
  return { conninfo: rest.replace(/\s+/g, ' ').trim(), password: password === '' ? undefined : password };
}

/**
 * `text` (a log line's error, an error's message) with any password in it shown as `***`: a conninfo's
 * `password=...` (quoted or not), a URI's `user:password@`, and each of `known` (the catalog's password) wherever
 * it is.
 */
export function redactPasswords(text: string, known: readonly (string | undefined)[] = []): string {
  let out = text
    .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s&'"\\]|\\.)+)/gi, '$1***')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"]*:)[^\s/?#@'"]*@/gi, '$1***@');
  for (const secret of known) if (secret !== undefined && secret !== '') out = out.replaceAll(secret, '***');
  return out;
}
