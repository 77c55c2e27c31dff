import { execFileSync } from 'node:child_process';
import { closeSync, open, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus, DefinitionsRegistry, MessageCodec } from '../../daemon/bus/index.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import type { AgentEvent, RobotHaltOutcome } from '../../daemon/contract/index.ts';
import type { Journal } from '../../daemon/contract/services.ts';
import { HaltAuthority } from '../../daemon/halt/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { waitFor } from '../helpers/wait.ts';
import { PORTS } from '../../daemon/contract/index.ts';

/**
 * The operator's stop is durable on its own: its latch file and its journal event are written on the daemon's
 * sync thread, not on libuv's four threads that DuckDB's queries, the recorder and every file read share, and
 * the event does not wait for the latch file.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

/**
 * Holds every thread of libuv's pool: each one opens a FIFO for reading, which blocks until a writer opens it.
 * Returns what lets them go (opening each FIFO for writing).
 */
function holdThreadPool(dir: string): () => void {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `held-${i}`));
  for (const fifo of fifos) {
    execFileSync('mkfifo', [fifo]);
    open(fifo, 'r', (error, fd) => void (error ? undefined : closeSync(fd)));
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // A writer's open returns once the held reader is there; the readers' opens then return too.
    for (const fifo of fifos) closeSync(openSync(fifo, 'w'));
  };
}

/** The stop events in a journal. */
function stopEvents(journal: Journal): AgentEvent[] {
  return journal
    .read(1, 100_000)
    .filter((r) => r.kind === 'agent_event')
    .map((r) => r.data as AgentEvent)
    .filter((e) => e.kind === 'stop.engaged');
}

describe("the operator's stop, durable on its own", () => {
  it("answers with its latch file and its event durable while libuv's threads are all held by other I/O", async () => {
    const { daemon, dir, stop } = await startDaemon(
      { sim: { enabled: false }, retention: { enabled: false }, api: { port: 0 }, foxglove: { enabled: false } },
      'stop-durability-',
    );
    cleanups.push(stop);
    const url = daemon.ports.get(PORTS.api)!.url!;
    const release = holdThreadPool(dir);
    cleanups.push(release);
    // Not answered while the pool is held: what shows it was held for the whole stop.
    let poolAnswered = false;
    void stat(dir).then(() => (poolAnswered = true));

    const res = await fetch(`${url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ada', reason: 'person in the aisle' }),
    });
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as RobotHaltOutcome;
    expect(outcome).toMatchObject({
      journal_error: null,
      latched: { by: 'ada', reason: 'person in the aisle', persisted: true, error: null },
    });
    expect(stopEvents(daemon.journal)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ by: 'ada', latched: expect.objectContaining({ by: 'ada' }) }),
      }),
    ]);
    expect(poolAnswered).toBe(false);

    release();
    await waitFor(() => poolAnswered, "libuv's pool to answer once let go");
    const file = JSON.parse(await readFile(daemon.haltAuthority.latch.path, 'utf8')) as { by: string };
    expect(file.by).toBe('ada');
  });

  it('journals its event while the latch file is still being written', async () => {
    const dir = tempDir('stop-durability-');
    cleanups.push(() => dir.cleanup());
    const journal = new MemoryJournal();
    let letLatchGo = (): void => {};
    const latchWritten = new Promise<void>((resolve) => (letLatchGo = resolve));
    cleanups.push(() => letLatchGo());
    const definitions = new DefinitionsRegistry();
    const authority = new HaltAuthority({
      bus: new Bus(),
      codec: new MessageCodec(definitions),
      config: parseConfigText('data_dir: ./data\n', 'edge.yaml', {}),
      dataDir: dir.path,
      journal: () => journal,
      log: pino({ level: 'silent' }),
      // Longer than any test: the reply waits for the latch file until it is let go.
      replyWaitMs: 10 * 60_000,
      writeDurably: () => latchWritten,
    });

    const stopped = authority.halt('ada', 'person in the aisle');
    await waitFor(() => stopEvents(journal).length === 1, "the stop's event in the journal");
    expect(stopEvents(journal)[0]!.payload).toMatchObject({
      by: 'ada',
      latched: { by: 'ada', reason: 'person in the aisle', since: expect.any(String) },
    });

    letLatchGo();
    expect((await stopped).latched).toMatchObject({ by: 'ada', persisted: true, error: null });
  });
});
