/**
 * JSON as Python's json module writes and reads it, which is how LeRobot keeps meta/stats.json and
 * episodes_stats.jsonl: the non-finite floats are the bare tokens NaN, Infinity and -Infinity, which standard
 * JSON lacks (JSON.stringify writes null, JSON.parse refuses them). A LaserScan feature's max is Infinity
 * wherever a beam hit nothing (REP 117).
 */

/** Marks a non-finite number while JSON.stringify runs; a string no stats key or value holds. */
const MARK = '\u0000non-finite:';

const token = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');

export function stringifyPythonJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${MARK}${token(v)}` : v),
    indent,
  );
  return text.replace(/"\\u0000non-finite:(NaN|Infinity|-Infinity)"/g, '$1');
}

/** Parses Python's JSON: the bare NaN, Infinity and -Infinity outside strings become those numbers. */
export function parsePythonJson(text: string): unknown {
  let out = '';
  let from = 0;
  let marked = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // Skip the string, escapes included.
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    const bare = /^(?:NaN|-?Infinity)/.exec(text.slice(i, i + 9));
    if (!bare) continue;
    out += text.slice(from, i) + JSON.stringify(MARK + bare[0]);
    i += bare[0].length - 1;
    from = i + 1;
    marked = true;
  }
  if (!marked) return JSON.parse(text) as unknown;
  return JSON.parse(out + text.slice(from), (_key, v: unknown) =>
    typeof v === 'string' && v.startsWith(MARK) ? Number(v.slice(MARK.length)) : v,
  ) as unknown;
}
