import Type, { type Static } from 'typebox';
import { Validator } from 'auraison-edge/util';
import { EVENTS_SCHEMA } from 'auraison-edge/protocol';

/** An events payload as the outbox sends it (central-link/outbox.ts): a header, `lost` gaps, the records. */
const EventRecord = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  ts: Type.String({ pattern: '^[0-9]{1,20}$' }),
  kind: Type.String({ maxLength: 256 }),
  data: Type.Optional(Type.Unknown()),
  omitted: Type.Optional(Type.String()),
});
const Range = Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) });
export const EventsPayload = Type.Object({
  schema: Type.Literal(EVENTS_SCHEMA),
  robot: Type.String(),
  fleet: Type.String(),
  journal_id: Type.String({ minLength: 1, maxLength: 256 }),
  first_seq: Type.Integer({ minimum: 1 }),
  last_seq: Type.Integer({ minimum: 1 }),
  lost: Type.Optional(Type.Array(Range)),
  records: Type.Array(EventRecord),
});
export type EventsPayload = Static<typeof EventsPayload>;
const validator = new Validator(EventsPayload);

const MAX_TS_NS = 2n ** 63n - 1n;

/** MQTT 5 reason codes of a PUBACK. */
export const ACCEPTED = 0;
export const PAYLOAD_FORMAT_INVALID = 0x99;

/** Seqs as sorted, disjoint, inclusive ranges [[from, to], ...]. */
export type Ranges = [number, number][];

/** `ranges` with [from, to] added, merged with its neighbours. */
export function addRange(ranges: Ranges, from: number, to: number): Ranges {
  const out: Ranges = [];
  let [f, t] = [from, to];
  let placed = false;
  for (const [a, b] of ranges) {
    if (b + 1 < f) out.push([a, b]);
    else if (t + 1 < a) {
      if (!placed) out.push([f, t]);
      placed = true;
      out.push([a, b]);
    } else [f, t] = [Math.min(a, f), Math.max(b, t)];
  }
  if (!placed) out.push([f, t]);
  return out;
}

/** The parts of from..to that `ranges` does not cover, ascending. */
export function uncovered(ranges: Ranges, from: number, to: number): Ranges {
  const out: Ranges = [];
  let next = from;
  for (const [a, b] of ranges) {
    if (b < next) continue;
    if (a > to) break;
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
    if (next > to) return out;
  }
  out.push([next, to]);
  return out;
}

/** Ascending seqs as runs of consecutive ones. */
export function seqRuns(records: readonly { seq: number }[]): Ranges {
  const runs: Ranges = [];
  for (const { seq } of records) {
    const last = runs.at(-1);
    if (last && seq === last[1] + 1) last[1] = seq;
    else runs.push([seq, seq]);
  }
  return runs;
}

export function covers(ranges: Ranges, seq: number): boolean {
  for (const [a, b] of ranges) if (seq >= a && seq <= b) return true;
  return false;
}

/** Why an events payload is garbage, or undefined when it is one `robot` of `fleet` may send. */
export function eventsProblem(payload: unknown, fleet: string, robot: string): string | undefined {
  const issue = validator.issues(payload)[0];
  if (issue) return `${issue.path || 'payload'}: ${issue.message}`;
  const p = payload as EventsPayload;
  if (p.robot !== robot || p.fleet !== fleet)
    return `the payload says ${p.fleet}/${p.robot}, the topic ${fleet}/${robot}`;
  if (p.last_seq < p.first_seq) return `last_seq ${p.last_seq} is before first_seq ${p.first_seq}`;
  let previous = 0;
  for (const r of p.records) {
    if (r.seq < p.first_seq || r.seq > p.last_seq)
      return `record seq ${r.seq} is outside ${p.first_seq}..${p.last_seq}`;
    if (r.seq <= previous) return `record seqs are not ascending (${r.seq} after ${previous})`;
    // The lake keeps ts_ns as a signed 64-bit integer: one past it would fail the whole commit, every robot's.
    if (r.ts.length > 18 && BigInt(r.ts) > MAX_TS_NS) return `record seq ${r.seq}: ts ${r.ts} is past 2^63-1 ns`;
    previous = r.seq;
  }
  for (const l of p.lost ?? [])
    if (l.to < l.from || l.from < p.first_seq || l.to > p.last_seq)
      return `lost range ${l.from}..${l.to} is outside ${p.first_seq}..${p.last_seq}`;
  return undefined;
}
