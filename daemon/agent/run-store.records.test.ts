import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentEventRecord } from '../contract/agent-event-record.ts';
import { agentEventsOf } from '../contract/agent-events-of.ts';
import { newId } from '../util/ids.ts';
import { stopIntent } from '../../test/helpers/stop-intent.ts';
import { DurableJournal } from '../journal/durable-journal.ts';
import { decodeFrame } from '../journal/frame.ts';
import { tempDir } from '../../test/helpers/paths.ts';
import { MemoryJournal } from '../../test/helpers/memory-journal.ts';
import { RunStore } from './run-store.ts';

// Several events of a run written as one journal record (a tool call's: RunStore.events with oneRecord).

const intent = stopIntent;

/** The texts of the records in a durable journal's directory, oldest first. */
function recordTexts(dir: string): string[] {
  const segment = readFileSync(
    join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.log'))!,
    ),
  );
  const texts: string[] = [];
  for (let at = 0; at < segment.length;) {
    const frame = decodeFrame(segment, at);
    if (!frame.ok) throw new Error(`frame at ${at}: ${frame.reason}`);
    texts.push(frame.payload.toString('utf8'));
    at = frame.next;
  }
  return texts;
}

describe('RunStore, several events in one record', () => {
  it('writes the record as JSON.stringify gives it, and reads back the same events', async () => {
    const dir = tempDir();
    try {
      const journal = new DurableJournal({ dir: dir.path, fsync: 'never' });
      const store = new RunStore(journal);
      const { run } = await store.create(intent(), 'llm:t');
      const payloads: Record<string, unknown>[] = [
        { text: 'quotes " and \\ and \n, é, 日本, 🤖, \u2028 and a lone \ud800', n: 2.5390649, neg: -0, nan: NaN },
        { message: { role: 'assistant', content: [{ type: 'toolCall', id: 'c1', name: 'stop', arguments: {} }] } },
        { call_id: 'c1', tool: 'stop', input: { gone: undefined, list: [undefined, () => 1, null] } },
      ];
      const kinds = ['tool.result', 'llm.message', 'tool.call'];
      const events = await store.events(
        run.run_id,
        payloads.map((payload, i) => ({ kind: kinds[i]!, payload })),
        true,
      );
      await journal.close();
      const texts = recordTexts(dir.path).slice(2);
      expect(texts).toHaveLength(1);
      const written = JSON.parse(texts[0]!) as { seq: number; ts: string; kind: string; data: AgentEventRecord };
      const last = events.at(-1)!;
      const data = {
        ...last,
        noted: events.slice(0, -1).map(({ event_id, kind, payload }) => ({ event_id, kind, payload })),
      };
      expect(texts[0]).toBe(JSON.stringify({ seq: written.seq, ts: written.ts, kind: 'agent_event', data }));
      expect(agentEventsOf(written.data)).toEqual(JSON.parse(JSON.stringify(events)));

      const rebuilt = new RunStore(new DurableJournal({ dir: dir.path, fsync: 'never' }));
      rebuilt.rebuild();
      expect(rebuilt.warnings).toEqual([]);
      expect(rebuilt.get(run.run_id)!.events.slice(1)).toEqual(JSON.parse(JSON.stringify(events)));
      expect(rebuilt.counters.toolCalls).toBe(1);
    } finally {
      dir.cleanup();
    }
  });

  it('writes a record each for events with JSON of their own, or large together; refuses ones with none', async () => {
    const dir = tempDir();
    try {
      const journal = new DurableJournal({ dir: dir.path, fsync: 'never' });
      const store = new RunStore(journal);
      const { run } = await store.create(intent(), 'llm:t');
      const own = { toJSON: () => ({ own: true }) };
      await store.events(
        run.run_id,
        [
          { kind: 'tool.result', payload: own },
          { kind: 'tool.call', payload: { n: 1 } },
        ],
        true,
      );
      const half = 'x'.repeat(600 * 1024); // two of them are over the 1 MiB a shared record takes
      await store.events(
        run.run_id,
        [
          { kind: 'tool.result', payload: { half } },
          { kind: 'llm.message', payload: { half } },
        ],
        true,
      );
      // No JSON at all: nothing of the write is appended, and the journal says why, as for one event.
      await expect(
        store.events(
          run.run_id,
          [
            { kind: 'tool.result', payload: { n: 1 } },
            { kind: 'tool.call', payload: { n: 1n } },
          ],
          true,
        ),
      ).rejects.toThrow(/agent_event record: its data is not JSON/);
      await journal.close();
      const kinds = recordTexts(dir.path)
        .slice(2)
        .map((t) => (JSON.parse(t) as { data: AgentEventRecord }).data)
        .map((d) => [d.kind, d.noted?.length ?? 0]);
      expect(kinds).toEqual([
        ['tool.result', 0],
        ['tool.call', 0],
        ['tool.result', 0],
        ['llm.message', 0],
      ]);
      const rebuilt = new RunStore(new DurableJournal({ dir: dir.path, fsync: 'never' }));
      rebuilt.rebuild();
      expect(rebuilt.get(run.run_id)!.events.map((e) => e.kind)).toEqual([
        'intent.accepted',
        'tool.result',
        'tool.call',
        'tool.result',
        'llm.message',
      ]);
      expect(rebuilt.get(run.run_id)!.events[1]!.payload).toEqual({ own: true });
    } finally {
      dir.cleanup();
    }
  });

  it('skips a record whose carried events are not events, naming it, and keeps the rest of the run', async () => {
    const journal = new MemoryJournal();
    const writer = new RunStore(journal);
    const { run } = await writer.create(intent(), 'llm:t');
    await writer.events(
      run.run_id,
      [
        { kind: 'llm.message', payload: { n: 1 } },
        { kind: 'tool.call', payload: { n: 2 } },
      ],
      true,
    );
    const good = journal.records.at(-1)!.data as AgentEventRecord;
    const bad: unknown[] = [
      { ...good, event_id: newId(), noted: 'llm.message' }, // not a list
      { ...good, event_id: newId(), noted: [] }, // carries nothing: not written so
      { ...good, event_id: newId(), noted: [{ kind: 'llm.message', payload: {} }] }, // no id
      { ...good, event_id: newId(), noted: [{ ...good.noted![0]!, run_id: newId() }] }, // another run's
      { ...good, event_id: newId(), noted: [{ ...good.noted![0]!, kind: 'Tool Result!' }] },
      { ...good, event_id: newId(), noted: [null] },
    ];
    for (const data of bad) await journal.append('agent_event', data);
    await writer.transition(run.run_id, 'succeeded');

    const store = new RunStore(journal);
    store.rebuild();
    const firstBad = journal.records.length - bad.length;
    expect(store.warnings).toEqual(bad.map((_, i) => `journal record ${firstBad + i}: not an AgentEvent, skipped`));
    expect(store.get(run.run_id)!.events.map((e) => e.kind)).toEqual(['intent.accepted', 'llm.message', 'tool.call']);
    expect(store.get(run.run_id)!.run.status).toBe('succeeded');
    // Read without the contract, as the lakehouse and the CLI read records: nothing throws, junk is left out.
    for (const data of bad) expect(agentEventsOf(data as AgentEventRecord).at(-1)!.kind).toBe('tool.call');
    expect(agentEventsOf({ ...good, noted: [null, 7, good.noted![0]!] } as unknown as AgentEventRecord)).toHaveLength(
      2,
    );
  });
});
