/**
 * Protobuf's text format as `ign topic -e` / `gz topic -e` print a message, read into plain objects: a field seen
 * once is a value, a repeated one an array of them; numbers, booleans and enum names as they print, quoted strings
 * unescaped. Enough for the messages the Gazebo tests read (Odometry, LaserScan, Model, Clock, WorldStatistics).
 */
export type TextProto = { [field: string]: TextValue | TextValue[] };
export type TextValue = number | string | boolean | TextProto;

const TOKEN = /\s*(?:([A-Za-z_][\w.]*)\s*(:)?\s*(\{)?|(\})|("(?:[^"\\]|\\.)*")|([^\s{}"]+))/y;

export function parseTextProto(text: string): TextProto {
  const stack: TextProto[] = [{}];
  let field: string | undefined;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) {
      if (/^\s*$/.test(text.slice(at))) break;
      throw new Error(`text proto: cannot read at ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
    }
    const [, name, colon, open, close, quoted, bare] = m;
    const top = stack[stack.length - 1]!;
    if (close !== undefined) {
      if (stack.length === 1) throw new Error(`text proto: unbalanced } at ${at}`);
      stack.pop();
    } else if (name !== undefined && (colon !== undefined || open !== undefined) && field === undefined) {
      if (open !== undefined) {
        const child: TextProto = {};
        add(top, name, child);
        stack.push(child);
      } else field = name;
    } else if (field !== undefined) {
      add(top, field, quoted !== undefined ? (JSON.parse(quoted) as string) : scalar(name ?? bare!));
      field = undefined;
    } else throw new Error(`text proto: unexpected ${JSON.stringify(m[0].trim())} at ${at}`);
  }
  if (stack.length !== 1) throw new Error('text proto: a message is not closed');
  return stack[0]!;
}

function add(into: TextProto, field: string, value: TextValue): void {
  const had = into[field];
  if (had === undefined) into[field] = value;
  else if (Array.isArray(had)) had.push(value);
  else into[field] = [had, value];
}

function scalar(text: string): TextValue {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  if (text !== '' && !Number.isNaN(n)) return n;
  if (/^-?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^-?nan$/i.test(text)) return NaN;
  return text;
}

/** The field at `path` (dots between names), or undefined; a number's missing field is protobuf's 0. */
export function field(message: TextProto, path: string): TextValue | TextValue[] | undefined {
  let at: TextValue | TextValue[] | undefined = message;
  for (const name of path.split('.')) {
    if (at === undefined || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = at[name];
  }
  return at;
}

/** A numeric field, 0 when the message leaves it out (as protobuf does for a default value). */
export function num(message: TextProto, path: string): number {
  const value = field(message, path);
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw new Error(`text proto: ${path} is not a number: ${JSON.stringify(value)}`);
  return value;
}

/** A repeated field as an array, whether it printed 0, 1 or more times. */
export function list(message: TextProto, path: string): TextValue[] {
  const value = field(message, path);
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
