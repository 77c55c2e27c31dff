/**
 * A small XML reader for robot descriptions: elements, their attributes and their nesting, checked well formed
 * (one root, balanced tags, quoted unique attributes, known entities). Comments, CDATA, processing instructions
 * and a DOCTYPE are skipped whole, so a `<joint>` inside any of them is not read; text is not reported. No
 * entity is ever defined from the document (a DOCTYPE's are ignored), so nothing can expand. One pass with
 * indexOf over the text: a 1 MB URDF reads in milliseconds.
 */

export interface XmlVisitor {
  /** An element opened; `path` holds the names of the elements it is inside, outermost first. */
  open(name: string, attributes: ReadonlyMap<string, string>, path: readonly string[]): void;
  /** The element `name` closed (after its children; at once for `<x/>`). */
  close?(name: string, path: readonly string[]): void;
}

/** Text that is no well-formed XML: the message says what and at which line. */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
  readonly line: number;
  constructor(what: string, line: number) {
    super(`${what} at line ${line}`);
    this.line = line;
  }
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const SPACE = /\s*/y;
const ENTITY = /&(?:#(\d{1,7})|#x([0-9A-Fa-f]{1,6})|([A-Za-z]+));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Reads `text`, calling `visitor` for each element in document order. Throws XmlSyntaxError. */
export function scanXml(text: string, visitor: XmlVisitor): void {
  const path: string[] = [];
  let roots = 0;
  let i = 0;
  const fail = (what: string, at: number): never => {
    throw new XmlSyntaxError(what, lineAt(text, at));
  };
  for (;;) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? text.length : lt;
    if (path.length === 0 && hasNonSpace(text, i, textEnd)) fail('text outside the root element', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) i = skipTo(text, '-->', lt + 4, 'a comment', fail);
    else if (text.startsWith('<![CDATA[', lt)) {
      if (path.length === 0) fail('CDATA outside the root element', lt);
      i = skipTo(text, ']]>', lt + 9, 'a CDATA section', fail);
    } else if (text.startsWith('<?', lt)) i = skipTo(text, '?>', lt + 2, 'a processing instruction', fail);
    else if (text.startsWith('<!DOCTYPE', lt)) {
      if (roots > 0 || path.length > 0) fail('a DOCTYPE after the root element opened', lt);
      i = skipDoctype(text, lt, fail);
    } else if (text.charCodeAt(lt + 1) === 47 /* / */) {
      NAME.lastIndex = lt + 2;
      const name = NAME.exec(text)?.[0] ?? fail('an end tag without a name', lt);
      const gt = text.indexOf('>', lt + 2 + name.length);
      if (gt < 0 || hasNonSpace(text, lt + 2 + name.length, gt)) fail(`an unterminated end tag </${name}`, lt);
      const open = path.pop();
      if (open !== name)
        fail(open === undefined ? `</${name}> closes nothing` : `</${name}> where </${open}> was expected`, lt);
      visitor.close?.(name, path);
      i = gt + 1;
    } else {
      if (path.length === 0 && ++roots > 1) fail('a second root element', lt);
      i = startTag(text, lt, path, visitor, fail);
    }
  }
  if (path.length > 0) fail(`<${path[path.length - 1]}> is not closed`, text.length);
  if (roots === 0) fail('no root element', 0);
}

/** Reads the start tag at `lt` and reports it. Returns where reading goes on. */
function startTag(
  text: string,
  lt: number,
  path: string[],
  visitor: XmlVisitor,
  fail: (what: string, at: number) => never,
): number {
  NAME.lastIndex = lt + 1;
  const name = NAME.exec(text)?.[0] ?? fail("a '<' that starts no tag (write &lt; in text)", lt);
  const attributes = new Map<string, string>();
  let at = lt + 1 + name.length;
  for (;;) {
    ATTRIBUTE.lastIndex = at;
    const m = ATTRIBUTE.exec(text);
    if (!m) break;
    if (attributes.has(m[1]!)) fail(`attribute ${m[1]} twice in <${name}>`, lt);
    attributes.set(m[1]!, decodeEntities(m[2] ?? m[3]!, lt, fail));
    at = ATTRIBUTE.lastIndex;
  }
  SPACE.lastIndex = at;
  SPACE.exec(text);
  at = SPACE.lastIndex;
  const selfClosing = text.startsWith('/>', at);
  if (!selfClosing && text[at] !== '>')
    fail(
      at >= text.length ? `an unterminated tag <${name}` : `a malformed attribute in <${name}> (quote every value)`,
      lt,
    );
  visitor.open(name, attributes, path);
  if (selfClosing) {
    visitor.close?.(name, path);
    return at + 2;
  }
  path.push(name);
  return at + 1;
}

function decodeEntities(value: string, lt: number, fail: (what: string, at: number) => never): string {
  if (!value.includes('&')) return value;
  if (value.replace(ENTITY, '').includes('&')) fail("a bare '&' in an attribute (write &amp;)", lt);
  return value.replace(ENTITY, (whole, decimal?: string, hex?: string, named?: string) => {
    if (named !== undefined) return NAMED[named] ?? fail(`an unknown entity ${whole}`, lt);
    const code = decimal !== undefined ? Number(decimal) : parseInt(hex!, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : fail(`a character reference ${whole} out of range`, lt);
  });
}

function skipTo(
  text: string,
  end: string,
  from: number,
  what: string,
  fail: (what: string, at: number) => never,
): number {
  const at = text.indexOf(end, from);
  return at < 0 ? fail(`${what} that is not closed`, from) : at + end.length;
}

/** A DOCTYPE, with its internal subset (`[...]`) when it has one. */
function skipDoctype(text: string, lt: number, fail: (what: string, at: number) => never): number {
  const bracket = text.indexOf('[', lt);
  const gt = text.indexOf('>', lt);
  if (gt < 0) fail('a DOCTYPE that is not closed', lt);
  if (bracket < 0 || bracket > gt) return gt + 1;
  return skipTo(text, ']>', bracket, 'a DOCTYPE', fail);
}

function hasNonSpace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) return true;
  }
  return false;
}

/** The 1-based line of offset `at`: counted only when an error is thrown. */
function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
