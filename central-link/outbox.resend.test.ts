import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Journal, JournalRecord } from '../daemon/contract/index.ts';
import { EVENTS_SCHEMA, Outbox } from './outbox.ts';
import type { CursorWriter } from './outbox-cursor.ts';
import { parseResend, RESEND_SCHEMA } from './resend.ts';

/** A journal of records at the given seqs (others gone, as retention or damage leaves them). */
function journalOf(seqs: number[]): Journal {
  const records: JournalRecord[] = seqs.map((seq) => ({ seq, ts: String(seq * 1000), kind: 'test', data: { seq } }));
  return {
    get firstSeq() {
      return records[0]?.seq;
    },
    get lastSeq() {
      return records.at(-1)?.seq ?? 0;
    },
    read: (from: number, limit: number) => records.filter((r) => r.seq >= from).slice(0, limit),
    subscribe: () => () => undefined,
  } as unknown as Journal;
}

interface Sent {
  first_seq: number;
  last_seq: number;
  lost?: { from: number; to: number }[];
  records: { seq: number }[];
}

async function outboxOver(seqs: number[], batchRecords = 4) {
  const sent: Sent[] = [];
  const writer = { save: async () => undefined, lastError: undefined } as unknown as CursorWriter;
  const outbox = new Outbox({
    journal: journalOf(seqs),
    publish: async (payload) => {
      const p = JSON.parse(payload.toString('utf8')) as Sent & { schema: string };
      expect(p.schema).toBe(EVENTS_SCHEMA);
      sent.push(p);
    },
    robot: 'r1',
    fleet: 'lab',
    cursor: { journal_id: 'j1', acked_seq: 0 },
    writer,
    batchRecords,
    batchBytes: 1 << 20,
    maxInflight: 4,
    maxPacketBytes: () => undefined,
    log: pino({ level: 'silent' }),
  });
  outbox.start();
  outbox.online();
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  return { outbox, sent, settle };
}

describe('the outbox sends again what central asks for', () => {
  it('records the broker acknowledged go up again in order, in batches, beside the outbox', async () => {
    const { outbox, sent, settle } = await outboxOver([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(outbox.ackedSeq).toBe(10);
    const before = sent.length;
    expect(outbox.resend('j1', 3, 8)).toBeUndefined();
    await settle();
    const again = sent.slice(before);
    expect(again.flatMap((p) => p.records.map((r) => r.seq))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(again.map((p) => [p.first_seq, p.last_seq])).toEqual([
      [3, 6],
      [7, 8],
    ]);
    expect(outbox.counts.resent_records).toBe(6);
  });

  it('seqs the journal no longer holds go as lost, and an empty range as one lost batch', async () => {
    const { outbox, sent, settle } = await outboxOver([5, 6, 9, 10]);
    const before = sent.length;
    outbox.resend('j1', 1, 10);
    await settle();
    const again = sent.slice(before);
    expect(again.flatMap((p) => p.records.map((r) => r.seq))).toEqual([5, 6, 9, 10]);
    expect(again.flatMap((p) => p.lost ?? [])).toEqual([
      { from: 1, to: 4 },
      { from: 7, to: 8 },
    ]);
  });

  it('refuses another journal, and sends nothing past the cursor', async () => {
    const { outbox, sent, settle } = await outboxOver([1, 2, 3]);
    const before = sent.length;
    expect(outbox.resend('j0', 1, 3)).toMatch(/not this robot's current journal \(j1\)/);
    expect(outbox.resend('j1', 4, 9)).toMatch(/nothing to send again/);
    await settle();
    expect(sent.length).toBe(before);
  });

  it('a resend request is checked before anything is sent', () => {
    const ok = parseResend(
      Buffer.from(JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 2, to_seq: 5 })),
    );
    expect(ok).toMatchObject({ from_seq: 2, to_seq: 5 });
    expect(parseResend(Buffer.from('{'))).toMatch(/not JSON/);
    expect(
      parseResend(Buffer.from(JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 0, to_seq: 5 }))),
    ).toMatch(/from_seq/);
    expect(
      parseResend(Buffer.from(JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 5, to_seq: 2 }))),
    ).toMatch(/before/);
  });
});
