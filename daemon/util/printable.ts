/**
 * Text from a file or a peer (a stop's `by` and `reason`, ONNX metadata_props, dataset task names, a bag's
 * topic names, a model's reply) made safe to print on a terminal: control characters (ESC and OSC
 * sequences would recolour it, retitle it, set the clipboard or move the cursor; NUL and newlines break
 * lines) are shown as escapes, e.g. \x1b, \n, \0. DEL, the C1 controls (0x9b is a one-byte CSI) and the
 * Unicode line separators become \u escapes, which are also valid inside a JSON string. `keepLines`
 * keeps newlines and tabs, for whole multi-line outputs: the CLI passes everything it prints through this.
 */
export function printable(text: string, options: { keepLines?: boolean } = {}): string {
  const controls = options.keepLines ? KEEP_LINES : ALL_CONTROLS;
  return text.replace(controls, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    if (c === '\0') return '\\0';
    const code = c.charCodeAt(0);
    return code >= 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

const ALL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
