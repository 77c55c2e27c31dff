import {
  createAssistantMessageEventStream,
  type AssistantMessage,
  type AssistantMessageEventStream,
} from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { newId } from '../../daemon/util/ids.ts';
import type { RunState } from '../../daemon/contract/schemas.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { MAX_RECORD_BYTES } from '../../daemon/journal/frame.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { componentContext } from '../helpers/component-context.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// A model message too large for the journal (a tool call with huge arguments) fails its run, with the
// journal's reason; the agent and the journal carry on, and a restart finds every record.

const cleanups = cleanupStack();

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

describe('a record over the journal limit', () => {
  it('fails the run that made it, not the daemon, and loses nothing at restart', async () => {
    const dir = tempDir('agent-journal-limit-');
    const journal = new DurableJournal({ dir: dir.path, fsync: 'never' });
    const ctx = componentContext({ agent: { intent_topic: '', skills: ['stop'] } }, { journal });
    const replies = [
      callStop({ note: 'x'.repeat(MAX_RECORD_BYTES) }),
      reply('Stopped.'),
      callStop({}),
      reply('Stopped.'),
    ];
    const agent = new AgentComponent(ctx, {
      model: {
        streamFn: () => answer(replies.shift() ?? reply('nothing more')),
        primaryModel: undefined,
        available: () => ({ ok: true }),
      },
    });
    await agent.start();
    cleanups.push(
      dir.cleanup,
      () => journal.close(),
      () => agent.close(),
    );
    const submit = (): Promise<RunState> =>
      agent.submitIntent(
        {
          intent_id: newId(),
          type: 'natural_language',
          params: { text: 'stop' },
          policy_ctx: { actor: 't', source: 'internal' },
          targets: [],
        },
        'internal',
      );

    const huge = await submit();
    await waitFor(() => TERMINAL.includes(agent.getRun(huge.run_id)!.run.status), 'the run to end');
    const failed = agent.getRun(huge.run_id)!.run;
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(
      /^events of the run were not journaled: journal .*: cannot append a agent_event record of \d+ bytes: over the journal's limit of 16777216 bytes \(16 MiB\) a record/,
    );

    const next = await submit();
    await waitFor(() => TERMINAL.includes(agent.getRun(next.run_id)!.run.status), 'the next run to end');
    expect(agent.getRun(next.run_id)!.run.status).toBe('succeeded');

    await agent.close();
    await journal.close();
    const messages: string[] = [];
    const again = new DurableJournal({ dir: dir.path, onRecovery: (m) => messages.push(m) });
    cleanups.push(() => again.close());
    expect(messages).toEqual([]);
    const seqs = again.read(1, 10_000).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: again.lastSeq }, (_, i) => i + 1));
    const states = again
      .read(1, 10_000)
      .map((r) => r.data as RunState)
      .filter((d) => d.run_id === huge.run_id && 'status' in d);
    expect(states.at(-1)!.status).toBe('failed');
  });
});

// A model that answers at once (a streamed 16 MB argument takes minutes to parse, finding #2 of review s11).
function message(content: AssistantMessage['content'], stopReason: AssistantMessage['stopReason']): AssistantMessage {
  const zero = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 };
  return {
    role: 'assistant',
    content,
    api: 'openai-completions',
    provider: 'test',
    model: 'test',
    usage: { ...zero, totalTokens: 0, cost: zero },
    stopReason,
    timestamp: Date.now(),
  };
}
const callStop = (args: Record<string, unknown>) =>
  message([{ type: 'toolCall', id: newId(), name: 'stop', arguments: args }], 'toolUse');
const reply = (text: string) => message([{ type: 'text', text }], 'stop');
function answer(m: AssistantMessage): AssistantMessageEventStream {
  const stream = createAssistantMessageEventStream();
  queueMicrotask(() => {
    stream.push({ type: 'start', partial: m });
    stream.push({ type: 'done', reason: m.stopReason === 'toolUse' ? 'toolUse' : 'stop', message: m });
    stream.end(m);
  });
  return stream;
}
