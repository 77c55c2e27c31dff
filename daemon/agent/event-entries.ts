import { AGENT_EVENT, type AgentEvent, type AgentEventRecord, type NotedEvent } from '../contract/index.ts';
import type { SerializedEntry } from '../journal/index.ts';

// The JSON text of the agent's journal records, made from the payloads' own JSON.stringify with the
// envelope put in as text (see eventJson): what the durable journal writes as it is.

/** An event's journal entry; its JSON text is made only if the journal asks for it (see SerializedEntry). */
export class EventEntry implements SerializedEntry {
  readonly kind = AGENT_EVENT;
  readonly data: AgentEvent;

  constructor(event: AgentEvent) {
    this.data = event;
  }

  get json(): string | undefined {
    return eventJson(this.data);
  }
}

/**
 * Past this many UTF-16 units of JSON, a write's events go one record each: the journal's size limit is a
 * record's, and a large event gains nothing from sharing one.
 */
const HELD_MAX_CHARS = 1024 * 1024;

/**
 * One journal record for several events of a run (the last, carrying the others in `noted`), its JSON
 * made here from the payloads' own: undefined when that would be over HELD_MAX_CHARS, or when a payload
 * has no JSON text of its own (the events then go one record each, and the journal refuses such a one in
 * its usual words).
 */
export function heldEntry(events: readonly AgentEvent[]): SerializedEntry | undefined {
  const last = events.at(-1)!;
  const lastPayload = payloadJson(last.payload);
  if (lastPayload === undefined) return undefined;
  let chars = lastPayload.length;
  const noted: NotedEvent[] = [];
  let notedJson = '';
  for (let i = 0; i < events.length - 1; i++) {
    const e = events[i]!;
    const payload = payloadJson(e.payload);
    if (payload === undefined) return undefined;
    chars += payload.length;
    if (chars > HELD_MAX_CHARS) return undefined;
    noted.push({ event_id: e.event_id, kind: e.kind, payload: e.payload });
    notedJson += `${i === 0 ? '' : ','}{"event_id":"${e.event_id}","kind":${kindJson(e.kind)},"payload":${payload}}`;
  }
  const data: AgentEventRecord = {
    event_id: last.event_id,
    run_id: last.run_id,
    kind: last.kind,
    payload: last.payload,
    ts: last.ts,
    noted,
  };
  const json = `{"event_id":"${last.event_id}","run_id":"${last.run_id}","kind":${kindJson(last.kind)},"payload":${lastPayload},"ts":"${last.ts}","noted":[${notedJson}]}`;
  return { kind: AGENT_EVENT, data, json };
}

/** Each event kind's JSON text, made once: a run writes a handful of kinds. */
const kindTexts = new Map<string, string>();

/**
 * An event's JSON text, exactly what JSON.stringify(event) gives, with only its payload serialized: the
 * envelope's ids are UUIDs (the store's own, or checked at rebuild) and its ts digits, with nothing to
 * escape, and the kind's text is made once. Serializing the envelope's four strings costs a third of a
 * tool call's journal serialization. Undefined when the payload has no JSON text of its own (not JSON, or
 * its own toJSON): the journal then serializes the event itself, and refuses it in its usual words.
 */
export function eventJson(event: AgentEvent): string | undefined {
  const payload = payloadJson(event.payload);
  if (payload === undefined) return undefined;
  return `{"event_id":"${event.event_id}","run_id":"${event.run_id}","kind":${kindJson(event.kind)},"payload":${payload},"ts":"${event.ts}"}`;
}

/** A payload's JSON text, or undefined when it has none of its own (not JSON, or its own toJSON). */
function payloadJson(payload: Record<string, unknown>): string | undefined {
  if (typeof (payload as { toJSON?: unknown }).toJSON === 'function') return undefined;
  try {
    return JSON.stringify(payload);
  } catch {
    return undefined;
  }
}

function kindJson(kind: string): string {
  let text = kindTexts.get(kind);
  if (text === undefined) {
    text = JSON.stringify(kind);
    if (kindTexts.size < 256) kindTexts.set(kind, text);
  }
  return text;
}
