import Type, { type Static } from 'typebox';
import { AgentEvent, Id } from './schemas.ts';

/**
 * An event of a run written inside a later event's journal record: its own id, kind and payload; its run and
 * time are the record's.
 */
export const NotedEvent = Type.Object(
  {
    event_id: Id,
    kind: AgentEvent.properties.kind,
    payload: AgentEvent.properties.payload,
  },
  { additionalProperties: false },
);

/**
 * The data of an `agent_event` journal record: one AgentEvent, which may carry in `noted` the events of the
 * same run noted before it and written with it (a tool call's one write: the previous call's `tool.result`,
 * the model's `llm.message`, then the `tool.call` that holds them). They come before it, in order, with its
 * run_id and ts. Journals written before 2026-11-26 hold one event a record, without `noted`: the same
 * shape with none carried.
 */
export const AgentEventRecord = Type.Object(
  {
    ...AgentEvent.properties,
    noted: Type.Optional(Type.Array(NotedEvent, { minItems: 1 })),
  },
  { additionalProperties: false },
);

export type NotedEvent = Static<typeof NotedEvent>;
export type AgentEventRecord = Static<typeof AgentEventRecord>;
