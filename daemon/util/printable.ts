/**
 * Text from a file or a peer (ONNX metadata_props, dataset task names, a model's reply) made safe to print on a terminal: control
 * characters (ESC sequences would recolour it or move the cursor, NUL and newlines break lines) are shown as
 * escapes, e.g. \x1b, \n, \0.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    if (c === '\0') return '\\0';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
