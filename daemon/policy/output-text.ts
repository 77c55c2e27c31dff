import type { ToolResult } from '../contract/index.ts';

const texts = new WeakMap<ToolResult, string>();
const KEEP_FROM = 512;
/** The last result asked about: the screen and the model's text ask for the same one, one after the other. */
let lastResult: ToolResult | undefined;
let lastText = '';

/**
 * A successful tool result's output as text: a string as it is, anything else as JSON. The injection screen
 * reads it and the model is given it: a large output (a decoded topic) is serialized once, kept for the
 * result object (which the invoker makes fresh for every call). A small one is cheaper to serialize again
 * than to remember.
 */
export function outputText(result: Extract<ToolResult, { ok: true }>): string {
  const { output } = result;
  if (typeof output === 'string') return output;
  if (result === lastResult) return lastText;
  let text = texts.get(result);
  if (text === undefined) {
    text = JSON.stringify(output) ?? '';
    if (text.length >= KEEP_FROM) texts.set(result, text);
  }
  lastResult = result;
  lastText = text;
  return text;
}
