const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether a message on the intents topic is a stop intent, read as cheaply as a stop allows: its intent id (null when
 * it has none to echo), or undefined for anything else. Retained messages, messages over `maxBytes` and payloads that
 * are not a JSON object of type `stop` are not stops: the link refuses them whole, saying why. The link's reader and
 * the stop connection's thread ask the same question here, so both take the same messages for stops.
 */
export function haltIntentId(
  payload: Buffer,
  retain: boolean | undefined,
  maxBytes: number,
): string | null | undefined {
  if (retain || payload.length > maxBytes || !payload.includes('"stop"')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(UTF8.decode(payload));
  } catch {
    return undefined; // not an intent: the link refuses it, saying why
  }
  if (typeof raw !== 'object' || raw === null || (raw as { type?: unknown }).type !== 'stop') return undefined;
  const id = (raw as { intent_id?: unknown }).intent_id;
  return typeof id === 'string' && id.length <= 128 ? id : null;
}
